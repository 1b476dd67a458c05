package metrics_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/registry/metrics"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// scrape returns src's /metrics text, checked by Prometheus' own parser.
func scrape(t *testing.T, src metrics.Source) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(src).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String())); err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, rec.Body)
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
	text := scrape(t, registry.New())
	for _, ri := range leaks.Rules() {
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

// fixed is a Source serving one snapshot.
type fixed struct{ s *snapshot.Snapshot }

func (f fixed) Stats() registry.Stats        { return registry.Stats{} }
func (f fixed) Snapshot() *snapshot.Snapshot { return f.s }

// A controller kept alive after its tab is gone, its worker running: the
// running-under-orphan series counts it, running-orphan does not.
func TestMetrics_RunningUnderOrphan(t *testing.T) {
	s, err := snapshot.Parse([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:00Z",
	  "components":[{"id":"main","state":"alive"},{"id":"tab","parent":"main","state":"destroyed","destroyed_at":"2026-11-27T11:59:00Z"},
	    {"id":"ctl","parent":"tab","state":"alive"}],
	  "resources":[{"id":"r-1","type":"worker","owner":"ctl","state":"active","running":true}],"cleanups":[]}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	text := scrape(t, fixed{s})
	if got := leakSeries(text, leaks.RuleRunningUnderOrphan); got != "1" {
		t.Errorf("running-under-orphan series %q, want 1", got)
	}
	if got := leakSeries(text, leaks.RuleRunningOrphan); got != "0" {
		t.Errorf("running-orphan series %q, want 0", got)
	}
	if !strings.Contains(text, `rescoord_live_resources{component="ctl",type="worker"} 1`) {
		t.Errorf("no live worker series:\n%s", text)
	}
}
