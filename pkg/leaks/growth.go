package leaks

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// GrowthOptions are the thresholds of the growth rule. A group — the live
// resources of one resource type owned by components of one name and type —
// grows when its live count, or its live bytes, went up from the first
// snapshot to the last by at least the absolute threshold and by at least
// Percent of the first value; across three or more snapshots it must also
// have gone up at every step (strictly), which a cache filled once, or a
// one-off spike, does not.
type GrowthOptions struct {
	// Count is the least increase in live count that is growth; 0 turns
	// the count criterion off. Default 10.
	Count int
	// Bytes is the least increase in live bytes that is growth; 0 turns
	// the bytes criterion off. Default 16 MiB.
	Bytes int64
	// Percent is the least increase relative to the first snapshot, in
	// percent, for either criterion (from zero, any increase counts).
	// Default 10.
	Percent float64
}

// DefaultGrowth returns the default growth thresholds.
func DefaultGrowth() GrowthOptions { return GrowthOptions{Count: 10, Bytes: 16 << 20, Percent: 10} }

// Growth holds the figures of a growth finding, one entry per snapshot,
// oldest first.
type Growth struct {
	// ComponentName and ComponentType name the owners of the group; both
	// are empty for resources whose owner is missing.
	ComponentName, ComponentType string
	ResourceType                 string
	Counts                       []int
	Bytes                        []int64
	// ByCount and ByBytes say which criterion the group met.
	ByCount, ByBytes bool
}

// growthKey is a growth group.
type growthKey struct{ compName, compType, resType string }

type growthVal struct {
	count int
	bytes int64
}

// groupLive sums the live resources of ix per growth group.
func groupLive(ix *snapshot.Index) map[growthKey]growthVal {
	s := ix.Snap
	out := make(map[growthKey]growthVal)
	for ri := range s.Resources {
		r := &s.Resources[ri]
		if !r.Live() {
			continue
		}
		k := growthKey{resType: r.Type}
		if o := ix.Owner(ri); o >= 0 {
			c := &s.Components[o]
			k.compName, k.compType = c.DisplayName(), c.Type
		}
		v := out[k]
		v.count++
		v.bytes += r.SizeBytes
		out[k] = v
	}
	return out
}

// FindGrowth compares snapshots of one scenario, oldest first (two: a
// baseline and the current one; three or more: the three-snapshot
// technique), and reports the growth groups of opts, one finding each,
// about the newest snapshot. Findings come ordered by component name,
// component type and resource type.
func FindGrowth(series []*snapshot.Index, opts GrowthOptions) []Finding {
	out := []Finding{}
	if len(series) < 2 {
		return out
	}
	sums := make([]map[growthKey]growthVal, len(series))
	for i, ix := range series {
		sums[i] = groupLive(ix)
	}
	last := sums[len(sums)-1]
	keys := make([]growthKey, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b growthKey) int {
		return cmp.Or(cmp.Compare(a.compName, b.compName), cmp.Compare(a.compType, b.compType), cmp.Compare(a.resType, b.resType))
	})
	cur := series[len(series)-1]
	var h sigHasher
	for _, k := range keys {
		g := &Growth{ComponentName: k.compName, ComponentType: k.compType, ResourceType: k.resType,
			Counts: make([]int, len(sums)), Bytes: make([]int64, len(sums))}
		for i, m := range sums {
			g.Counts[i] = m[k].count
			g.Bytes[i] = m[k].bytes
		}
		g.ByCount = opts.Count > 0 && grew(g.Counts, opts.Count, opts.Percent)
		g.ByBytes = opts.Bytes > 0 && grew(g.Bytes, opts.Bytes, opts.Percent)
		if !g.ByCount && !g.ByBytes {
			continue
		}
		out = append(out, growthFinding(cur, g, &h))
	}
	return out
}

// grew applies the growth criterion to one series of values.
func grew[T int | int64](v []T, threshold T, percent float64) bool {
	for i := 1; i < len(v); i++ {
		if len(v) > 2 && v[i] <= v[i-1] {
			return false
		}
	}
	first, last := v[0], v[len(v)-1]
	d := last - first
	if d < threshold || d <= 0 {
		return false
	}
	return first == 0 || float64(d)*100 >= percent*float64(first)
}

// growthFinding builds the finding of a growth group about the newest snapshot.
func growthFinding(ix *snapshot.Index, g *Growth, h *sigHasher) Finding {
	fd := Finding{
		Rule:      RuleGrowth,
		Severity:  SeverityWarning,
		Resource:  -1,
		Component: -1,
		Growth:    g,
		Signature: h.sum(string(RuleGrowth), g.ComponentName, g.ComponentType, g.ResourceType, "", ""),
		Path:      []string{},
	}
	// The finding names the first component of the group in the newest snapshot.
	for ci := range ix.Snap.Components {
		c := &ix.Snap.Components[ci]
		if g.ComponentName != "" && c.DisplayName() == g.ComponentName && c.Type == g.ComponentType {
			fd.Component, fd.ComponentID = ci, c.ID
			for _, p := range ix.PathTo(ci) {
				fd.Path = append(fd.Path, ix.Snap.Components[p].ID)
			}
			if c.Parent != "" && ix.Parent(ci) < 0 {
				fd.Path = append([]string{c.Parent}, fd.Path...)
			}
			break
		}
	}
	owner := "resources with a missing owner"
	if g.ComponentName != "" {
		owner = g.ComponentName
		if g.ComponentType != "" {
			owner += " (" + g.ComponentType + ")"
		}
	}
	since := "since the baseline"
	if len(g.Counts) > 2 {
		since = fmt.Sprintf("at every step of %d snapshots", len(g.Counts))
	}
	n := len(g.Counts) - 1
	fd.Message = fmt.Sprintf("live %s resources of %s grew %s: count %s (%+d), bytes %s (+%s)",
		g.ResourceType, owner, since,
		joinSeries(g.Counts, func(v int) string { return fmt.Sprint(v) }), g.Counts[n]-g.Counts[0],
		joinSeries(g.Bytes, formatBytes), formatBytes(g.Bytes[n]-g.Bytes[0]))
	return fd
}

func joinSeries[T any](v []T, f func(T) string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = f(x)
	}
	return strings.Join(parts, " → ")
}

// SourceMismatch names the first field of the source in which a and b say
// they come from different processes: "host", "process" or "pid"; "" when
// no field they both give tells them apart. A growth series is one
// process's history: snapshots of two processes (two runs, or two hosts)
// measure no growth, only the difference between the runs.
func SourceMismatch(a, b snapshot.Source) string {
	switch {
	case a.Host != "" && b.Host != "" && a.Host != b.Host:
		return "host"
	case a.Process != "" && b.Process != "" && a.Process != b.Process:
		return "process"
	case a.PID != 0 && b.PID != 0 && a.PID != b.PID:
		return "pid"
	}
	return ""
}
