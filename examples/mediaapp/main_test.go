package main

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func findings(t *testing.T, reg *registry.Registry) map[leaks.Rule]int {
	t.Helper()
	ix, err := snapshot.NewIndex(reg.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	out := map[leaks.Rule]int{}
	for _, f := range leaks.FindLeaks(ix, leaks.LeakOptions{}) {
		out[f.Rule]++
	}
	return out
}

// TestMediaApp_ClosingTabsCleansUp opens and closes tabs without -leak:
// nothing leaks and the closed tabs' temporary files are gone.
func TestMediaApp_ClosingTabsCleansUp(t *testing.T) {
	a, err := newApp(config{tabs: 2}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		if err := a.tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := findings(t, a.reg); len(got) != 0 {
		t.Errorf("findings without -leak: %v", got)
	}
	st := a.reg.Stats()
	if st.ByType["worker"].Active != 2 || st.ByType["worker"].Released != 3 {
		t.Errorf("workers: %+v, want 2 running and 3 released", st.ByType["worker"])
	}
	if err := a.reg.CleanupAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := a.reg.Stats(); st.Live != 0 {
		t.Errorf("%d live resources after CleanupAll", st.Live)
	}
}

// TestMediaApp_LeakShowsAsRunningOrphan drops a tab with -leak: after
// garbage collection the registry marks it destroyed while its worker runs.
func TestMediaApp_LeakShowsAsRunningOrphan(t *testing.T) {
	destroyed := make(chan registry.DestroyedEvent, 64)
	a, err := newApp(config{tabs: 1, leak: true}, io.Discard,
		registry.WithOnDestroyed(func(ev registry.DestroyedEvent) { destroyed <- ev }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Tick 1 opens media_tab_1; tick 2 closes it properly and opens
	// media_tab_2; tick 3 drops media_tab_2 (every second tab leaks).
	for range 3 {
		if err := a.tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := false
	for i := 0; i < 1000 && !got; i++ {
		runtime.GC()
		for more := true; more && !got; {
			select {
			case ev := <-destroyed:
				got = ev.ID == "media_tab_2"
			default:
				more = false
			}
		}
		runtime.Gosched()
	}
	if !got {
		t.Fatal("the dropped tab was not marked destroyed after GC")
	}
	if n := findings(t, a.reg)[leaks.RuleRunningOrphan]; n == 0 {
		t.Errorf("no running-orphan after the leak: %v", findings(t, a.reg))
	}
	// A real cleanup of the leaked tab stops the worker.
	if err := a.reg.Destroy(ctx, "media_tab_2"); err != nil {
		t.Fatal(err)
	}
	if n := findings(t, a.reg)[leaks.RuleRunningOrphan]; n != 0 {
		t.Errorf("running-orphan after destroying the leaked tab: %d", n)
	}
	a.reg.CleanupAll(ctx)
}

func TestMediaApp_ServesLargeRegistries(t *testing.T) {
	a, err := newApp(config{resources: 1000}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if st := a.reg.Stats(); st.Live != 1000 {
		t.Errorf("live = %d, want 1000", st.Live)
	}
}

// TestMediaApp_ServesOverTCP: on loopback TCP the app serves, with the
// cleanup endpoint only when it has a token, which the registry requires.
func TestMediaApp_ServesOverTCP(t *testing.T) {
	for _, c := range []struct {
		token   string
		cleanup bool
	}{{"", false}, {"s3cret", true}} {
		a, err := newApp(config{}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		opts := append(serveOptions(config{addr: "127.0.0.1:0", token: c.token}, &log), registry.WithoutDiscovery())
		srv, err := a.reg.Listen(opts...)
		if err != nil {
			t.Fatalf("token %q: %v", c.token, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx) }()
		req, _ := http.NewRequest(http.MethodPost, srv.Address()+"/cleanup?component=main_window", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set(registry.ClientHeader, "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusOK; got != c.cleanup {
			t.Errorf("token %q: cleanup status %d, want cleanup %v", c.token, resp.StatusCode, c.cleanup)
		}
		if said := strings.Contains(log.String(), "needs -token"); said == c.cleanup {
			t.Errorf("token %q: log %q", c.token, log.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
