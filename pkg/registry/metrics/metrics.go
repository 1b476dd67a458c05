// Package metrics serves a live registry's metrics to Prometheus: what it
// holds by owner component (type and name) and resource type, its limits,
// its components and its leak findings by rule (docs/attach.md,
// "Prometheus metrics"). It is a package of its own so that a program
// embedding pkg/registry links the Prometheus client only when it serves
// metrics:
//
//	reg.Serve(ctx, registry.WithMetrics(metrics.Handler(reg)))
//
// Labels never carry a component id by default, so the number of series
// is bounded by what the program's code names (component types and names,
// resource types), not by how many components it makes; WithComponentIDs
// restores the ids, unbounded.
package metrics

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Label names. component_type and component_name are those of the owner
// component (docs/snapshot-format.md); "" when it has none or is missing
// from the snapshot.
var (
	compLabels   = []string{"component_type", "component_name"}
	liveLabels   = []string{"component_type", "component_name", "type"}
	compIDLabels = []string{"component_type", "component_name", "component"}
	liveIDLabels = []string{"component_type", "component_name", "component", "type"}
)

const (
	helpLive      = "Live (active or releasing) resources, by owner component type and name and resource type."
	helpLiveBytes = "Size of the live resources, by owner component type and name and resource type."
	helpLimit     = "Byte limits of component subtrees, by component type and name; the largest when several components share them."
	helpLimitUse  = "Live bytes of a component subtree over its limit (1 is at the limit), by component type and name; the highest when several components share them."
)

// Metric descriptions served at /metrics. rule and severity are those of
// leak findings (docs/leaks.md).
var (
	descLiveResources   = prometheus.NewDesc("rescoord_live_resources", helpLive, liveLabels, nil)
	descLiveBytes       = prometheus.NewDesc("rescoord_live_bytes", helpLiveBytes, liveLabels, nil)
	descRegistryBytes   = prometheus.NewDesc("rescoord_registry_live_bytes", "Size of every live resource in the registry.", nil, nil)
	descRegistryLimit   = prometheus.NewDesc("rescoord_registry_limit_bytes", "The registry's global byte limit (absent when it has none).", nil, nil)
	descRegistryUse     = prometheus.NewDesc("rescoord_registry_limit_use_ratio", "Live bytes of the registry over its global limit (1 is at the limit; absent without a limit).", nil, nil)
	descLimit           = prometheus.NewDesc("rescoord_limit_bytes", helpLimit, compLabels, nil)
	descLimitUse        = prometheus.NewDesc("rescoord_limit_use_ratio", helpLimitUse, compLabels, nil)
	descComponents      = prometheus.NewDesc("rescoord_components", "Components kept by the registry, by state (alive, destroyed).", []string{"state"}, nil)
	descCreated         = prometheus.NewDesc("rescoord_resources_created_total", "Resources tracked since the registry was made, by type (a Go registry only).", []string{"type"}, nil)
	descReleased        = prometheus.NewDesc("rescoord_resources_released_total", "Resources released since the registry was made, by type (a Go registry only).", []string{"type"}, nil)
	descLeaks           = prometheus.NewDesc("rescoord_leak_findings", "Leak findings in the registry now, by rule and severity (see rescoord leaks). Every rule one snapshot can show has a series, 0 when clean; growth, the suppression rules and untracked-resource need several snapshots, a suppressions file or /proc and are not exported.", []string{"rule", "severity"}, nil)
	descLiveResourcesID = prometheus.NewDesc("rescoord_live_resources", helpLive+" With component ids: unbounded.", liveIDLabels, nil)
	descLiveBytesID     = prometheus.NewDesc("rescoord_live_bytes", helpLiveBytes+" With component ids: unbounded.", liveIDLabels, nil)
	descLimitID         = prometheus.NewDesc("rescoord_limit_bytes", helpLimit+" With component ids: unbounded.", compIDLabels, nil)
	descLimitUseID      = prometheus.NewDesc("rescoord_limit_use_ratio", helpLimitUse+" With component ids: unbounded.", compIDLabels, nil)
)

// Source is what the metrics are read from: a *registry.Registry, or
// anything that gives snapshots. When it also has Stats (a
// *registry.Registry does), the created and released counters are
// exported too.
type Source interface {
	Snapshot() *snapshot.Snapshot
}

// statsSource is a Source with the registry's counters.
type statsSource interface {
	Stats() registry.Stats
}

// Option configures Handler and Collector.
type Option func(*collector)

// WithLeakOptions sets the leak options of the rescoord_leak_findings
// series (the grace, the stale age; docs/leaks.md).
func WithLeakOptions(opts leaks.LeakOptions) Option {
	return func(c *collector) { c.opts = opts }
}

// WithComponentIDs adds the component id as a label (component) of the
// live resources, live bytes and limit series. The number of series then
// grows with every component the program ever makes while they are kept:
// unbounded, for debugging, not for a long-lived Prometheus.
func WithComponentIDs() Option {
	return func(c *collector) { c.ids = true }
}

// Collector returns the Prometheus collector of src's metrics, for a
// prometheus.Registerer of the program's own. Each scrape takes one
// snapshot (its cost grows with the resources; see docs/attach.md).
func Collector(src Source, opts ...Option) prometheus.Collector {
	c := &collector{r: src}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Handler serves src's metrics in the Prometheus exposition formats, for
// registry.WithMetrics or a mux of the program's own.
func Handler(src Source, opts ...Option) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector(src, opts...))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Fetch gets one snapshot for one scrape; ctx is the scrape's request's.
type Fetch func(ctx context.Context) (*snapshot.Snapshot, error)

// FetchHandler serves the metrics of a snapshot fetched anew for each
// scrape, such as from a process attached to (rescoord metrics). A failed
// fetch answers 503 with the error, which Prometheus records as up=0.
func FetchHandler(fetch Fetch, opts ...Option) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, err := fetch(req.Context())
		if err != nil {
			http.Error(w, "fetching the snapshot: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		Handler(fixed{s}, opts...).ServeHTTP(w, req)
	})
}

type fixed struct{ s *snapshot.Snapshot }

func (f fixed) Snapshot() *snapshot.Snapshot { return f.s }

// ExportedRules are the rules rescoord_leak_findings always has a series
// of: every rule FindLeaks applies to one snapshot. growth compares
// snapshots, expired-suppression and unused-suppression read a
// suppressions file, and untracked-resource compares with /proc
// (leaks --reconcile): no scrape can report them.
func ExportedRules() []leaks.RuleInfo {
	var out []leaks.RuleInfo
	for _, ri := range leaks.Rules() {
		switch ri.ID {
		case leaks.RuleGrowth, leaks.RuleExpiredSuppression, leaks.RuleUnusedSuppression, leaks.RuleUntrackedResource:
			continue // several snapshots, a suppressions file, or /proc
		}
		out = append(out, ri)
	}
	return out
}

type collector struct {
	r    Source
	opts leaks.LeakOptions
	ids  bool
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ds := []*prometheus.Desc{descRegistryBytes, descRegistryLimit, descRegistryUse, descComponents, descCreated, descReleased, descLeaks}
	if c.ids {
		ds = append(ds, descLiveResourcesID, descLiveBytesID, descLimitID, descLimitUseID)
	} else {
		ds = append(ds, descLiveResources, descLiveBytes, descLimit, descLimitUse)
	}
	for _, d := range ds {
		ch <- d
	}
}

// compKey are the labels of one owner: its type and name, and its id only
// WithComponentIDs.
type compKey struct{ typ, name, id string }

func (c *collector) key(comp *snapshot.Component, id string) compKey {
	k := compKey{}
	if comp != nil {
		k.typ, k.name = comp.Type, comp.Name
	}
	if c.ids {
		k.id = id
	}
	return k
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Snapshot()
	if s == nil {
		return
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descRegistryBytes, err)
		return
	}
	type liveKey struct {
		compKey
		res string
	}
	count := map[liveKey]int{}
	bytes := map[liveKey]int64{}
	for i := range s.Resources {
		res := &s.Resources[i]
		if !res.Live() {
			continue
		}
		var comp *snapshot.Component
		if o := ix.Owner(i); o >= 0 {
			comp = &s.Components[o]
		}
		k := liveKey{c.key(comp, res.Owner), res.Type}
		count[k]++
		bytes[k] += res.SizeBytes
	}
	for k, n := range count {
		if c.ids {
			ch <- prometheus.MustNewConstMetric(descLiveResourcesID, prometheus.GaugeValue, float64(n), k.typ, k.name, k.id, k.res)
			ch <- prometheus.MustNewConstMetric(descLiveBytesID, prometheus.GaugeValue, float64(bytes[k]), k.typ, k.name, k.id, k.res)
		} else {
			ch <- prometheus.MustNewConstMetric(descLiveResources, prometheus.GaugeValue, float64(n), k.typ, k.name, k.res)
			ch <- prometheus.MustNewConstMetric(descLiveBytes, prometheus.GaugeValue, float64(bytes[k]), k.typ, k.name, k.res)
		}
	}
	total := ix.TotalLiveBytes()
	ch <- prometheus.MustNewConstMetric(descRegistryBytes, prometheus.GaugeValue, float64(total))
	if g := s.Limits.GlobalBytes; g > 0 {
		ch <- prometheus.MustNewConstMetric(descRegistryLimit, prometheus.GaugeValue, float64(g))
		ch <- prometheus.MustNewConstMetric(descRegistryUse, prometheus.GaugeValue, float64(total)/float64(g))
	}
	// Components sharing a type and name share a series: the largest
	// limit, and the highest use of any of them (docs/attach.md).
	type limit struct {
		bytes int64
		use   float64
	}
	limits := map[compKey]limit{}
	for id, l := range s.Limits.Components {
		ci, ok := ix.ComponentIndex(id)
		if l <= 0 || !ok {
			continue
		}
		k := c.key(&s.Components[ci], id)
		cur := limits[k]
		cur.bytes = max(cur.bytes, l)
		cur.use = max(cur.use, float64(ix.SubtreeLiveBytes(ci))/float64(l))
		limits[k] = cur
	}
	for k, l := range limits {
		if c.ids {
			ch <- prometheus.MustNewConstMetric(descLimitID, prometheus.GaugeValue, float64(l.bytes), k.typ, k.name, k.id)
			ch <- prometheus.MustNewConstMetric(descLimitUseID, prometheus.GaugeValue, l.use, k.typ, k.name, k.id)
		} else {
			ch <- prometheus.MustNewConstMetric(descLimit, prometheus.GaugeValue, float64(l.bytes), k.typ, k.name)
			ch <- prometheus.MustNewConstMetric(descLimitUse, prometheus.GaugeValue, l.use, k.typ, k.name)
		}
	}
	alive, destroyed := 0, 0
	for i := range s.Components {
		if s.Components[i].State == snapshot.StateDestroyed {
			destroyed++
		} else {
			alive++
		}
	}
	ch <- prometheus.MustNewConstMetric(descComponents, prometheus.GaugeValue, float64(alive), snapshot.StateAlive)
	ch <- prometheus.MustNewConstMetric(descComponents, prometheus.GaugeValue, float64(destroyed), snapshot.StateDestroyed)
	if ss, ok := c.r.(statsSource); ok {
		for typ, ts := range ss.Stats().ByType {
			ch <- prometheus.MustNewConstMetric(descCreated, prometheus.CounterValue, float64(ts.Created), typ)
			ch <- prometheus.MustNewConstMetric(descReleased, prometheus.CounterValue, float64(ts.Released), typ)
		}
	}
	found := map[leaks.RuleInfo]int{}
	for _, f := range leaks.FindLeaks(ix, c.opts) {
		found[leaks.RuleInfo{ID: f.Rule, Severity: f.Severity}]++
	}
	// Every rule is exposed, at 0 when it found nothing, so alerts on a
	// rule see a series even before its first finding.
	for _, ri := range ExportedRules() {
		k := leaks.RuleInfo{ID: ri.ID, Severity: ri.Severity}
		ch <- prometheus.MustNewConstMetric(descLeaks, prometheus.GaugeValue, float64(found[k]), string(ri.ID), ri.Severity.String())
		delete(found, k)
	}
	for k, n := range found { // findings lowered to info by the grace
		ch <- prometheus.MustNewConstMetric(descLeaks, prometheus.GaugeValue, float64(n), string(k.ID), k.Severity.String())
	}
}
