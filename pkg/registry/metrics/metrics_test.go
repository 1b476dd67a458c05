package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/registry/metrics"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// scrape returns src's /metrics text, checked by Prometheus' own parser.
func scrape(t *testing.T, src metrics.Source, opts ...metrics.Option) string {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(src, opts...).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
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
	return value(text, `rescoord_leak_findings{rule="`+string(rule)+`",severity="`+info.Severity.String()+`"}`)
}

// value is the value of the series written exactly as name{labels}, or "".
func value(text, series string) string {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}

// series lists the sample lines of text.
func series(text string) []string {
	var out []string
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// Every rule FindLeaks applies to one snapshot has a series, at 0 before
// its first finding, so that an alert on it sees one; and each of them
// counts a finding when a snapshot has one (testdata/leaks holds one
// snapshot per rule). Only the rules that compare snapshots or read a
// suppressions file are left out.
func TestMetrics_EveryRuleExported(t *testing.T) {
	text := scrape(t, registry.New())
	exported := map[leaks.Rule]bool{}
	for _, ri := range metrics.ExportedRules() {
		exported[ri.ID] = true
		if got := leakSeries(text, ri.ID); got != "0" {
			t.Errorf("%s: clean series %q, want 0", ri.ID, got)
		}
	}
	for _, ri := range leaks.Rules() {
		switch ri.ID {
		case leaks.RuleGrowth, leaks.RuleExpiredSuppression, leaks.RuleUnusedSuppression, leaks.RuleUntrackedResource:
			if exported[ri.ID] || leakSeries(text, ri.ID) != "" {
				t.Errorf("%s is exported: no single scrape can report it", ri.ID)
			}
			continue
		}
		if !exported[ri.ID] {
			t.Errorf("%s is not exported", ri.ID)
			continue
		}
		s := leakySnapshot(t, ri.ID)
		leaky := scrape(t, fixed{s}, metrics.WithLeakOptions(leaks.LeakOptions{MaxAge: time.Minute}))
		if got := leakSeries(leaky, ri.ID); got == "" || got == "0" {
			t.Errorf("%s: series %q on a snapshot with the leak, want more than 0", ri.ID, got)
		}
	}
}

// leakySnapshot is a snapshot with a finding of rule: testdata/leaks's,
// or for leaked-goroutine one as the pprof importer writes it.
func leakySnapshot(t *testing.T, rule leaks.Rule) *snapshot.Snapshot {
	t.Helper()
	if rule == leaks.RuleLeakedGoroutine {
		return parse(t, `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:00Z",
		  "components":[{"id":"g","name":"main","type":"goroutine-group","state":"alive"}],
		  "resources":[{"id":"g-7","type":"goroutine","owner":"g","state":"active","running":true,"leaked":true}],"cleanups":[]}`)
	}
	path := filepath.Join("..", "..", "..", "testdata", "leaks", string(rule)+".json")
	s, err := snapshot.Load(path)
	if err != nil {
		t.Fatalf("no snapshot with a %s finding: %v", rule, err)
	}
	return s
}

func parse(t *testing.T, doc string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Parse([]byte(doc), "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixed is a Source serving one snapshot.
type fixed struct{ s *snapshot.Snapshot }

func (f fixed) Snapshot() *snapshot.Snapshot { return f.s }

// A controller kept alive after its tab is gone, its worker running: the
// running-under-orphan series counts it, running-orphan does not.
func TestMetrics_RunningUnderOrphan(t *testing.T) {
	s := parse(t, `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:00Z",
	  "components":[{"id":"main","state":"alive"},{"id":"tab","parent":"main","state":"destroyed","destroyed_at":"2026-11-27T11:59:00Z"},
	    {"id":"ctl","name":"Controller","type":"controller","parent":"tab","state":"alive"}],
	  "resources":[{"id":"r-1","type":"worker","owner":"ctl","state":"active","running":true}],"cleanups":[]}`)
	text := scrape(t, fixed{s})
	if got := leakSeries(text, leaks.RuleRunningUnderOrphan); got != "1" {
		t.Errorf("running-under-orphan series %q, want 1", got)
	}
	if got := leakSeries(text, leaks.RuleRunningOrphan); got != "0" {
		t.Errorf("running-orphan series %q, want 0", got)
	}
	if got := value(text, `rescoord_live_resources{component_name="Controller",component_type="controller",type="worker"}`); got != "1" {
		t.Errorf("live worker series %q, want 1:\n%s", got, text)
	}
}

// tabs makes a registry that opened n tabs, each a MediaTab component
// with a controller child, a buffer and a limit, and closed every other
// one but the last two.
func tabs(t *testing.T, n int) *registry.Registry {
	t.Helper()
	reg := registry.New(registry.WithGlobalLimit(1 << 30))
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("tab-%d", i)
		if err := reg.RegisterComponent(id, registry.WithName("MediaTab"), registry.WithType("tab"), registry.WithLimit(1<<20)); err != nil {
			t.Fatal(err)
		}
		ctl := id + "-ctl"
		if err := reg.RegisterComponent(ctl, registry.WithName("Controller"), registry.WithType("controller"), registry.WithParent(id)); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Track(ctl, make([]byte, 0), registry.WithName("frame-buffer"), registry.WithSize(1000)); err != nil {
			t.Fatal(err)
		}
		if i < n-2 && i%2 == 0 {
			if err := reg.Destroy(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	return reg
}

// The series are the same whether the program opened ten tabs or two
// hundred: no label is a component id.
func TestMetrics_BoundedCardinality(t *testing.T) {
	few, many := scrape(t, tabs(t, 10)), scrape(t, tabs(t, 200))
	names := func(text string) map[string]bool {
		out := map[string]bool{}
		for _, l := range series(text) {
			out[l[:strings.LastIndexByte(l, ' ')]] = true
		}
		return out
	}
	a, b := names(few), names(many)
	if len(a) != len(b) {
		t.Errorf("%d series after 10 tabs, %d after 200:\n%s", len(a), len(b), many)
	}
	for s := range b {
		if !a[s] {
			t.Errorf("series %s only after 200 tabs", s)
		}
		if strings.Contains(s, "tab-") || strings.Contains(s, `component="`) {
			t.Errorf("series %s names a component id", s)
		}
	}
	// The controllers of the tabs still open and those leaked share one series.
	if got := value(many, `rescoord_live_resources{component_name="Controller",component_type="controller",type="memory"}`); got == "" || got == "0" {
		t.Errorf("controllers' buffers: %q\n%s", got, many)
	}
}

// Components sharing a type and name: the live series sum them, the limit
// series take the largest limit and the highest use.
func TestMetrics_SharedNameLimits(t *testing.T) {
	s := parse(t, `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:00Z",
	  "limits":{"global_bytes":4000,"components":{"a":1000,"b":3000}},
	  "components":[{"id":"a","name":"Tab","type":"tab","state":"alive"},{"id":"b","name":"Tab","type":"tab","state":"alive"}],
	  "resources":[{"id":"r-1","type":"memory","owner":"a","state":"active","size_bytes":900},
	    {"id":"r-2","type":"memory","owner":"b","state":"active","size_bytes":600}],"cleanups":[]}`)
	text := scrape(t, fixed{s})
	tabletest.Func(t, "value", func(series string) string { return value(text, series) }, map[string]string{
		`rescoord_live_resources{component_name="Tab",component_type="tab",type="memory"}`: "2",
		`rescoord_live_bytes{component_name="Tab",component_type="tab",type="memory"}`:     "1500",
		`rescoord_limit_bytes{component_name="Tab",component_type="tab"}`:                  "3000",
		`rescoord_limit_use_ratio{component_name="Tab",component_type="tab"}`:              "0.9",
		`rescoord_registry_limit_bytes`:                                                    "4000",
		`rescoord_registry_limit_use_ratio`:                                                "0.375",
		`rescoord_registry_live_bytes`:                                                     "1500",
	})
	ids := scrape(t, fixed{s}, metrics.WithComponentIDs())
	tabletest.Func(t, "WithComponentIDs: value", func(series string) string { return value(ids, series) }, map[string]string{
		`rescoord_live_bytes{component="a",component_name="Tab",component_type="tab",type="memory"}`: "900",
		`rescoord_limit_use_ratio{component="b",component_name="Tab",component_type="tab"}`:          "0.2",
	})
}

// A registry's counters are exported with it; a fetched snapshot has none.
func TestMetrics_Counters(t *testing.T) {
	text := scrape(t, tabs(t, 4))
	if got := value(text, `rescoord_resources_created_total{type="memory"}`); got != "4" {
		t.Errorf("created_total %q, want 4", got)
	}
	if got := value(scrape(t, fixed{tabs(t, 4).Snapshot()}), `rescoord_resources_created_total{type="memory"}`); got != "" {
		t.Errorf("a snapshot alone has a created counter: %q", got)
	}
}

// FetchHandler fetches for each scrape; a failed fetch is 503.
func TestFetchHandler(t *testing.T) {
	reg := tabs(t, 3)
	calls := 0
	h := metrics.FetchHandler(func(ctx context.Context) (*snapshot.Snapshot, error) {
		calls++
		if calls == 2 {
			return nil, errors.New("connection refused")
		}
		return reg.Snapshot(), nil
	})
	for i, want := range []int{200, 503, 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != want {
			t.Errorf("scrape %d: %d, want %d: %s", i+1, rec.Code, want, rec.Body)
		}
		if want == 200 && leakSeries(rec.Body.String(), leaks.RuleOrphanedResource) == "" {
			t.Errorf("scrape %d: no leak series:\n%s", i+1, rec.Body)
		}
	}
	if calls != 3 {
		t.Errorf("%d fetches for 3 scrapes", calls)
	}
}
