package registry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// A controller kept alive after its tab is gone: the tab's Go value is
// collected while the controller's cleanup hangs, so the controller
// stays (closing, shown alive) and its worker runs on. FindLeaks on the
// live registry's snapshot reports the worker as running-under-orphan
// until the cleanup ends. (pkg/registry/metrics tests the series.)
func TestFindLeaks_RunningUnderOrphanOnTheLiveRegistry(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	r := New(WithClock(func() time.Time { return now }), WithStackCapture(false))
	for _, c := range []struct{ id, parent string }{{"main", ""}, {"tab", "main"}, {"ctl", "tab"}} {
		if err := r.RegisterComponent(c.id, WithParent(c.parent)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	w := coordinator.Go(context.Background(), func(ctx context.Context) error {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		return nil
	})
	defer close(stop)
	if _, err := r.Track("ctl", w, WithName("analysis")); err != nil {
		t.Fatal(err)
	}
	entered, unblock := make(chan struct{}), make(chan struct{})
	if err := r.OnCleanup("ctl", "hangs", 0, time.Hour, func(context.Context) error {
		close(entered)
		<-unblock
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	destroyed := make(chan error, 1)
	go func() { destroyed <- r.Destroy(context.Background(), "ctl") }()
	<-entered
	r.mu.Lock()
	tab := r.comps["tab"]
	r.mu.Unlock()
	r.collected(tab) // as when the tab's Go value is garbage-collected

	ix, err := snapshot.NewIndex(r.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range leaks.FindLeaks(ix, leaks.LeakOptions{}) {
		got = append(got, string(f.Rule)+" "+strings.Join(f.Path, ">"))
	}
	want := "running-under-orphan main>tab>ctl>r-1\norphaned-component main>tab>ctl"
	if strings.Join(got, "\n") != want {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	close(unblock)
	if err := <-destroyed; err != nil {
		t.Fatal(err)
	}
	ix, err = snapshot.NewIndex(r.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range leaks.FindLeaks(ix, leaks.LeakOptions{}) {
		if f.Rule == leaks.RuleRunningUnderOrphan {
			t.Errorf("after the cleanup: %s %v", f.Rule, f.Path)
		}
	}
}
