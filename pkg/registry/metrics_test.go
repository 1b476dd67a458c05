package registry

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// scrape returns the registry's /metrics text.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.metricsHandler(&serveConfig{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// leakSeries is the value of rescoord_leak_findings for rule at its
// default severity, or "" when there is no such series.
func leakSeries(text string, rule leaks.Rule) string {
	info, _ := leaks.RuleByID(rule)
	prefix := `rescoord_leak_findings{rule="` + string(rule) + `",severity="` + info.Severity.String() + `"} `
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return v
		}
	}
	return ""
}

// Every rule FindLeaks applies has a series, at 0 before its first
// finding, so that an alert on it sees one.
func TestMetrics_EveryRuleExported(t *testing.T) {
	text := scrape(t, New())
	for _, ri := range leaks.Rules {
		switch ri.ID {
		case leaks.RuleGrowth, leaks.RuleExpiredSuppression, leaks.RuleUnusedSuppression:
			continue // they compare snapshots or read a suppressions file
		}
		if got := leakSeries(text, ri.ID); got != "0" {
			t.Errorf("%s: series %q, want 0", ri.ID, got)
		}
	}
	if leakSeries(text, leaks.RuleRunningUnderOrphan) == "" {
		t.Error("running-under-orphan is not exported")
	}
}

// A controller kept alive after its tab is gone: the tab's Go value is
// collected while the controller's cleanup hangs, so the controller
// stays (closing, shown alive) and its worker runs on. FindLeaks on the
// live registry's snapshot reports the worker as running-under-orphan,
// and so do the metrics, until the cleanup ends.
func TestMetrics_RunningUnderOrphanOnTheLiveRegistry(t *testing.T) {
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
	text := scrape(t, r)
	if got := leakSeries(text, leaks.RuleRunningUnderOrphan); got != "1" {
		t.Errorf("running-under-orphan series %q, want 1", got)
	}
	if got := leakSeries(text, leaks.RuleRunningOrphan); got != "0" {
		t.Errorf("running-orphan series %q, want 0", got)
	}

	close(unblock)
	if err := <-destroyed; err != nil {
		t.Fatal(err)
	}
	if got := leakSeries(scrape(t, r), leaks.RuleRunningUnderOrphan); got != "0" {
		t.Errorf("after the cleanup: running-under-orphan series %q, want 0", got)
	}
}
