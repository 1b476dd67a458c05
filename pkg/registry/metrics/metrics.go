// Package metrics serves a live registry's metrics to Prometheus: what it
// holds by owner and type, its limits, its components and its leak
// findings by rule (docs/attach.md, "Prometheus metrics"). It is a package
// of its own so that a program embedding pkg/registry links the Prometheus
// client only when it serves metrics:
//
//	reg.Serve(ctx, registry.WithMetrics(metrics.Handler(reg)))
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Metric descriptions served at /metrics. Labels: component is a
// component id, type a resource type, rule and severity those of leak
// findings (docs/leaks.md).
var (
	descLiveResources = prometheus.NewDesc("rescoord_live_resources",
		"Live (active or releasing) resources, by owner component and resource type.", []string{"component", "type"}, nil)
	descLiveBytes = prometheus.NewDesc("rescoord_live_bytes",
		"Size of the live resources, by owner component and resource type.", []string{"component", "type"}, nil)
	descRegistryBytes = prometheus.NewDesc("rescoord_registry_live_bytes",
		"Size of every live resource in the registry.", nil, nil)
	descLimit = prometheus.NewDesc("rescoord_limit_bytes",
		"Byte limits: of a component's subtree, or of the whole registry (component=\"\").", []string{"component"}, nil)
	descLimitUse = prometheus.NewDesc("rescoord_limit_use_ratio",
		"Live bytes over the limit, as a ratio (1 is at the limit): of a component's subtree, or of the registry (component=\"\").", []string{"component"}, nil)
	descComponents = prometheus.NewDesc("rescoord_components",
		"Components kept by the registry, by state (alive, destroyed).", []string{"state"}, nil)
	descCreated = prometheus.NewDesc("rescoord_resources_created_total",
		"Resources tracked since the registry was made, by type.", []string{"type"}, nil)
	descReleased = prometheus.NewDesc("rescoord_resources_released_total",
		"Resources released since the registry was made, by type.", []string{"type"}, nil)
	descLeaks = prometheus.NewDesc("rescoord_leak_findings",
		"Leak findings in the registry now, by rule and severity (see rescoord leaks).", []string{"rule", "severity"}, nil)
)

// Source is what the metrics are read from: a *registry.Registry.
type Source interface {
	Stats() registry.Stats
	Snapshot() *snapshot.Snapshot
}

// Option configures Handler and Collector.
type Option func(*collector)

// WithLeakOptions sets the leak options of the rescoord_leak_findings
// series (the grace, the stale age; docs/leaks.md).
func WithLeakOptions(opts leaks.LeakOptions) Option {
	return func(c *collector) { c.opts = opts }
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

type collector struct {
	r    Source
	opts leaks.LeakOptions
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLiveResources, descLiveBytes, descRegistryBytes, descLimit, descLimitUse, descComponents, descCreated, descReleased, descLeaks} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Stats()
	s := c.r.Snapshot()
	type key struct{ comp, typ string }
	count := map[key]int{}
	bytes := map[key]int64{}
	for i := range s.Resources {
		res := &s.Resources[i]
		if !res.Live() {
			continue
		}
		k := key{res.Owner, res.Type}
		count[k]++
		bytes[k] += res.SizeBytes
	}
	for k, n := range count {
		ch <- prometheus.MustNewConstMetric(descLiveResources, prometheus.GaugeValue, float64(n), k.comp, k.typ)
		ch <- prometheus.MustNewConstMetric(descLiveBytes, prometheus.GaugeValue, float64(bytes[k]), k.comp, k.typ)
	}
	ch <- prometheus.MustNewConstMetric(descRegistryBytes, prometheus.GaugeValue, float64(st.LiveBytes))
	if st.GlobalLimit > 0 {
		ch <- prometheus.MustNewConstMetric(descLimit, prometheus.GaugeValue, float64(st.GlobalLimit), "")
		ch <- prometheus.MustNewConstMetric(descLimitUse, prometheus.GaugeValue, float64(st.LiveBytes)/float64(st.GlobalLimit), "")
	}
	for id, cs := range st.ByComponent {
		if cs.Limit > 0 {
			ch <- prometheus.MustNewConstMetric(descLimit, prometheus.GaugeValue, float64(cs.Limit), id)
			ch <- prometheus.MustNewConstMetric(descLimitUse, prometheus.GaugeValue, float64(cs.SubtreeBytes)/float64(cs.Limit), id)
		}
	}
	ch <- prometheus.MustNewConstMetric(descComponents, prometheus.GaugeValue, float64(st.AliveComponents), snapshot.StateAlive)
	ch <- prometheus.MustNewConstMetric(descComponents, prometheus.GaugeValue, float64(st.DestroyedComponents), snapshot.StateDestroyed)
	for typ, ts := range st.ByType {
		ch <- prometheus.MustNewConstMetric(descCreated, prometheus.CounterValue, float64(ts.Created), typ)
		ch <- prometheus.MustNewConstMetric(descReleased, prometheus.CounterValue, float64(ts.Released), typ)
	}
	found := map[leaks.RuleInfo]int{}
	if ix, err := snapshot.NewIndex(s); err == nil {
		for _, f := range leaks.FindLeaks(ix, c.opts) {
			found[leaks.RuleInfo{ID: f.Rule, Severity: f.Severity}]++
		}
	}
	// Every rule is exposed, at 0 when it found nothing, so alerts on a
	// rule see a series even before its first finding.
	for _, ri := range leaks.Rules() {
		if ri.ID == leaks.RuleGrowth || ri.ID == leaks.RuleExpiredSuppression || ri.ID == leaks.RuleUnusedSuppression {
			continue
		}
		k := leaks.RuleInfo{ID: ri.ID, Severity: ri.Severity}
		ch <- prometheus.MustNewConstMetric(descLeaks, prometheus.GaugeValue, float64(found[k]), string(ri.ID), ri.Severity.String())
		delete(found, k)
	}
	for k, n := range found { // findings lowered to info by the grace
		ch <- prometheus.MustNewConstMetric(descLeaks, prometheus.GaugeValue, float64(n), string(k.ID), k.Severity.String())
	}
}
