package coordinator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// LeakOptions tune the leak rules. The zero value runs every rule of SPEC
// §4 that needs no option, with no grace.
type LeakOptions struct {
	// Grace: a resource whose owner was destroyed less than Grace before
	// taken_at (and an alive component whose parent was) is reported with
	// severity info, "within grace", not as a leak: a snapshot taken during
	// shutdown is not a leak. A missing owner or parent has no destroyed_at
	// and is never within grace. Zero (the default) turns grace off.
	Grace time.Duration
	// MaxAge enables stale-resource: live resources created longer than
	// MaxAge before taken_at. Zero (the default) leaves the rule off.
	MaxAge time.Duration
}

// Finding is one leak finding. Its JSON form is the SPEC §5 shape (see
// AppendJSON); the other fields serve reports and library users.
type Finding struct {
	Rule     Rule
	Severity Severity
	// Resource is the resource's position in Snapshot.Resources, or -1 for
	// a finding about no single resource.
	Resource int
	// Component is the position in Snapshot.Components of the finding's
	// component — a resource finding's owner, or the component a
	// component finding is about — or -1 when there is none or it is not
	// in the snapshot.
	Component int
	// ResourceID is the resource's id, "" when there is none.
	ResourceID string
	// ComponentID is the component's id (a missing owner's too), "" when
	// there is none.
	ComponentID string
	// Signature is stable across runs; see Signature.
	Signature string
	Message   string
	// Path runs from the root component to the resource (or component),
	// ids only; a missing owner or parent stands first as its id. A cleanup
	// cycle lists its members in order; over-global-limit has an empty path.
	Path []string
	// WithinGrace is set when the owner (or parent) was destroyed within
	// LeakOptions.Grace: the severity was lowered to info.
	WithinGrace bool
	// Dangling holds, for dangling-dependency, the ids depended on that are
	// released or missing.
	Dangling []string
	// Growth holds the figures of a growth finding.
	Growth *Growth
	// SuppressedBy is the entry with action "report" that matched the
	// finding: it is shown but never fails the build.
	SuppressedBy *Suppression
	// Entry is the suppression entry an expired-suppression or
	// unused-suppression finding is about.
	Entry *Suppression
}

// FindLeaks runs the rules of SPEC §4 (all but growth, which compares
// snapshots: see FindGrowth) on ix. Findings come in rule order (the
// order of Rules), then in snapshot order. It runs in time linear in
// resources, components and dependency edges, and formats messages only
// for what it reports.
func FindLeaks(ix *snapshot.Index, opts LeakOptions) []Finding {
	f := &finder{ix: ix, s: ix.Snap, opts: opts}
	f.run()
	total := 0
	for slot := range ruleSlots {
		total += len(f.byRule[slot]) + len(f.pend[slot])
	}
	// Orphans and stale resources, the bulk of a leaky snapshot, were only
	// noted while scanning; their findings are built here, in one array.
	out := make([]Finding, 0, total)
	for slot := range ruleSlots {
		out = append(out, f.byRule[slot]...)
		for _, p := range f.pend[slot] {
			out = append(out, f.materialize(slot, int(p.ri), int(p.o)))
		}
	}
	return out
}

// pendingRes notes a resource finding to build: the resource and its owner.
type pendingRes struct{ ri, o int32 }

// finder holds the state of one FindLeaks run.
type finder struct {
	ix   *snapshot.Index
	s    *snapshot.Snapshot
	opts LeakOptions
	sig  sigHasher
	// compPath caches the id path of components that have findings.
	compPath [][]string
	// byRule collects findings per rule, in Rules order; pend notes the
	// resource findings still to build.
	byRule [len(ruleSlots)][]Finding
	pend   [len(ruleSlots)][]pendingRes
}

// ruleSlots are the rules FindLeaks reports, in output order.
var ruleSlots = [...]Rule{
	RuleRunningOrphan, RuleOrphanedResource, RuleOverComponentLimit, RuleOverGlobalLimit,
	RuleCleanupCycle, RuleOrphanedComponent, RuleDanglingDependency, RuleStaleResource,
}

func (f *finder) add(slot int, fd Finding) {
	fd.Rule = ruleSlots[slot]
	f.byRule[slot] = append(f.byRule[slot], fd)
}

const (
	slotRunningOrphan = iota
	slotOrphanedResource
	slotOverComponentLimit
	slotOverGlobalLimit
	slotCleanupCycle
	slotOrphanedComponent
	slotDanglingDependency
	slotStaleResource
)

func (f *finder) run() {
	f.globalLimit()
	f.componentLimits()
	f.components()
	start, list := f.resources()
	if len(list) > 0 {
		f.cycles(start, list)
	}
}

// resources applies the per-resource rules and returns the live → live
// dependency edges (deduplicated) in CSR form, for the cycle search: the
// dependencies are resolved once, for both.
func (f *finder) resources() (start, list []int32) {
	res := f.s.Resources
	comps := f.s.Components
	takenAt := f.s.TakenAt
	start = make([]int32, len(res)+1)
	edges := 0
	for ri := range res {
		edges += len(res[ri].DependsOn)
	}
	list = make([]int32, 0, edges)
	for ri := range res {
		r := &res[ri]
		if !r.Live() {
			start[ri+1] = int32(len(list))
			continue
		}
		o := f.ix.Owner(ri)
		orphan := o < 0 || !comps[o].Alive()
		switch {
		case orphan:
			slot := slotOrphanedResource
			if r.Running && r.CanRun() {
				slot = slotRunningOrphan
			}
			f.pend[slot] = append(f.pend[slot], pendingRes{int32(ri), int32(o)})
		case f.opts.MaxAge > 0 && !r.CreatedAt.IsZero() && takenAt.Sub(r.CreatedAt) > f.opts.MaxAge:
			// Most specific wins: an orphan is not also reported as stale.
			f.pend[slotStaleResource] = append(f.pend[slotStaleResource], pendingRes{int32(ri), int32(o)})
		}
		dangling := false
		for _, dep := range r.DependsOn {
			j, ok := f.ix.ResourceIndex(dep)
			switch {
			case !ok || !res[j].Live():
				dangling = true
			case !slices.Contains(list[start[ri]:], int32(j)):
				list = append(list, int32(j))
			}
		}
		start[ri+1] = int32(len(list))
		if dangling {
			f.pend[slotDanglingDependency] = append(f.pend[slotDanglingDependency], pendingRes{int32(ri), int32(o)})
		}
	}
	return start, list
}

// materialize builds a noted resource finding: an orphan (running or
// not), a dangling dependency or a stale resource.
func (f *finder) materialize(slot, ri, o int) Finding {
	r := &f.s.Resources[ri]
	if slot == slotDanglingDependency {
		var gone []string
		for _, dep := range r.DependsOn {
			if j, ok := f.ix.ResourceIndex(dep); (!ok || !f.s.Resources[j].Live()) && !slices.Contains(gone, dep) {
				gone = append(gone, dep)
			}
		}
		return f.danglingDependency(ri, o, gone)
	}
	if slot == slotStaleResource {
		age := f.s.TakenAt.Sub(r.CreatedAt)
		return f.resourceFinding(slot, SeverityWarning, ri, o,
			fmt.Sprintf("%s has been live for %s, longer than the maximum age of %s",
				describeResource(r), formatAge(age), formatAge(f.opts.MaxAge)))
	}
	sev := SeverityError
	what := "is still " + r.State
	if slot == slotRunningOrphan {
		sev = SeverityCritical
		what = "is still running"
	}
	var msg string
	grace := false
	if o < 0 {
		msg = describeResource(r) + " " + what + ", but its owner " + r.Owner + " is no longer in the registry"
	} else {
		c := &f.s.Components[o]
		msg = describeResource(r) + " " + what + ", but its owner " + describeComponent(c) + " was destroyed" + f.destroyedAgo(c)
		grace = f.withinGrace(c)
	}
	fd := f.resourceFinding(slot, sev, ri, o, msg)
	if grace {
		f.graced(&fd)
	}
	return fd
}

// withinGrace reports whether component c was destroyed less than the
// grace before the snapshot.
func (f *finder) withinGrace(c *snapshot.Component) bool {
	return f.opts.Grace > 0 && !c.DestroyedAt.IsZero() && f.s.TakenAt.Sub(c.DestroyedAt) < f.opts.Grace
}

func (f *finder) graced(fd *Finding) {
	fd.Severity = SeverityInfo
	fd.WithinGrace = true
	fd.Message += fmt.Sprintf("; within the %s grace, so not yet a leak", formatAge(f.opts.Grace))
}

// destroyedAgo says when c was destroyed relative to the snapshot.
func (f *finder) destroyedAgo(c *snapshot.Component) string {
	if c.DestroyedAt.IsZero() {
		return ""
	}
	return " " + formatAge(f.s.TakenAt.Sub(c.DestroyedAt)) + " before the snapshot"
}

func (f *finder) danglingDependency(ri, o int, gone []string) Finding {
	r := &f.s.Resources[ri]
	var b strings.Builder
	b.WriteString(describeResource(r))
	b.WriteString(" depends on what is gone: ")
	for k, dep := range gone {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(dep)
		if j, ok := f.ix.ResourceIndex(dep); ok {
			d := &f.s.Resources[j]
			if d.Name != "" {
				b.WriteString(" " + quote(d.Name))
			}
			b.WriteString(" (" + d.Type + ", released)")
		} else {
			b.WriteString(" (not in the registry)")
		}
	}
	fd := f.resourceFinding(slotDanglingDependency, SeverityWarning, ri, o, b.String())
	fd.Dangling = gone
	return fd
}

// resourceFinding builds the finding of rule slot about resource ri owned
// by o (-1 when the owner is missing).
func (f *finder) resourceFinding(slot int, sev Severity, ri, o int, msg string) Finding {
	fd := Finding{Rule: ruleSlots[slot]}
	r := &f.s.Resources[ri]
	var cname, ctype string
	var path []string
	if o >= 0 {
		c := &f.s.Components[o]
		cname, ctype = c.DisplayName(), c.Type
		cp := f.componentPath(o)
		path = make([]string, len(cp)+1)
		copy(path, cp)
		path[len(cp)] = r.ID
	} else {
		path = []string{r.Owner, r.ID}
	}
	frame := ""
	if len(r.CreatedBy) > 0 {
		frame = r.CreatedBy[0]
	}
	fd.Severity = sev
	fd.Resource, fd.Component = ri, o
	fd.ResourceID, fd.ComponentID = r.ID, r.Owner
	fd.Signature = f.sig.sum(string(ruleSlots[slot]), cname, ctype, r.Type, r.Name, frame)
	fd.Message = msg
	fd.Path = path
	return fd
}

// componentFinding builds the finding of rule slot about component ci.
func (f *finder) componentFinding(slot int, sev Severity, ci int, msg string) Finding {
	c := &f.s.Components[ci]
	return Finding{
		Rule:        ruleSlots[slot],
		Severity:    sev,
		Resource:    -1,
		Component:   ci,
		ComponentID: c.ID,
		Signature:   f.sig.sum(string(ruleSlots[slot]), c.DisplayName(), c.Type, "", "", ""),
		Message:     msg,
		Path:        f.componentPath(ci),
	}
}

// componentPath returns the ids from ci's root down to ci; a parent
// missing from the snapshot stands first. Paths are cached and shared:
// callers must not modify them.
func (f *finder) componentPath(ci int) []string {
	if f.compPath == nil {
		f.compPath = make([][]string, len(f.s.Components))
	}
	if p := f.compPath[ci]; p != nil {
		return p
	}
	// Climb to the first ancestor with a cached path (or a root), then
	// fill the paths on the way back down.
	var chain []int
	c := ci
	for c >= 0 && f.compPath[c] == nil {
		chain = append(chain, c)
		c = f.ix.Parent(c)
	}
	var base []string
	if c >= 0 {
		base = f.compPath[c]
	}
	for k := len(chain) - 1; k >= 0; k-- {
		comp := &f.s.Components[chain[k]]
		var p []string
		switch {
		case base != nil:
			p = append(base[:len(base):len(base)], comp.ID)
		case comp.Parent != "":
			p = []string{comp.Parent, comp.ID} // the parent is missing
		default:
			p = []string{comp.ID}
		}
		f.compPath[chain[k]] = p
		base = p
	}
	return f.compPath[ci]
}

// globalLimit applies over-global-limit.
func (f *finder) globalLimit() {
	lim := f.s.Limits.GlobalBytes
	if lim <= 0 || f.ix.TotalLiveBytes() <= lim {
		return
	}
	used := f.ix.TotalLiveBytes()
	f.add(slotOverGlobalLimit, Finding{
		Severity:  SeverityError,
		Resource:  -1,
		Component: -1,
		Signature: f.sig.sum(string(RuleOverGlobalLimit), "", "", "", "", ""),
		Message: fmt.Sprintf("the registry holds %s of live resources, over the global limit of %s (by %s)",
			formatBytes(used), formatBytes(lim), formatBytes(used-lim)),
		Path: []string{},
	})
}

// componentLimits applies over-component-limit, in component order.
func (f *finder) componentLimits() {
	var over []int
	for id, lim := range f.s.Limits.Components {
		ci, ok := f.ix.ComponentIndex(id)
		if ok && lim > 0 && f.ix.SubtreeLiveBytes(ci) > lim {
			over = append(over, ci)
		}
	}
	slices.Sort(over)
	for _, ci := range over {
		c := &f.s.Components[ci]
		lim := f.s.Limits.Components[c.ID]
		used := f.ix.SubtreeLiveBytes(ci)
		f.add(slotOverComponentLimit, f.componentFinding(slotOverComponentLimit, SeverityError, ci,
			fmt.Sprintf("%s holds %s of live resources in its subtree, over its limit of %s (by %s)",
				describeComponent(c), formatBytes(used), formatBytes(lim), formatBytes(used-lim))))
	}
}

// components applies orphaned-component.
func (f *finder) components() {
	comps := f.s.Components
	for ci := range comps {
		c := &comps[ci]
		if !c.Alive() || c.Parent == "" {
			continue
		}
		p := f.ix.Parent(ci)
		if p >= 0 && comps[p].Alive() {
			continue
		}
		var msg string
		grace := false
		if p < 0 {
			msg = fmt.Sprintf("%s is alive, but its parent %s is no longer in the registry", describeComponent(c), c.Parent)
		} else {
			pc := &comps[p]
			msg = fmt.Sprintf("%s is alive, but its parent %s was destroyed%s", describeComponent(c), describeComponent(pc), f.destroyedAgo(pc))
			grace = f.withinGrace(pc)
		}
		fd := f.componentFinding(slotOrphanedComponent, SeverityWarning, ci, msg)
		if grace {
			f.graced(&fd)
		}
		f.add(slotOrphanedComponent, fd)
	}
}

// cycles applies cleanup-cycle: one finding per strongly connected set of
// live resources, with the cycle the cleanup planner reports for it
// (graphCycles): it starts at the member that comes first in the snapshot
// and takes the shortest way back.
func (f *finder) cycles(start, list []int32) {
	res := f.s.Resources
	for _, cyc := range graphCycles(len(res), start, list) {
		path := make([]string, len(cyc))
		keys := make([]string, len(cyc))
		for k, m := range cyc {
			r := &res[m]
			path[k] = r.ID
			frame := ""
			if len(r.CreatedBy) > 0 {
				frame = r.CreatedBy[0]
			}
			keys[k] = memberKey(r.Type, r.Name, frame)
		}
		msg := fmt.Sprintf("%d live resources depend on each other in a cycle, so no cleanup order exists: %s → %s",
			len(cyc), strings.Join(path, " → "), path[0])
		if len(cyc) == 1 {
			msg = fmt.Sprintf("live resource %s depends on itself, so no cleanup order exists", path[0])
		}
		f.add(slotCleanupCycle, Finding{
			Severity:  SeverityError,
			Resource:  -1,
			Component: -1,
			Signature: f.sig.cycleSignature(keys),
			Message:   msg,
			Path:      path,
		})
	}
}

// describeResource names a resource in messages: type "name" (id).
func describeResource(r *snapshot.Resource) string {
	if r.Name == "" {
		return r.Type + " " + r.ID
	}
	return r.Type + " " + quote(r.Name) + " (" + r.ID + ")"
}

// describeComponent names a component in messages: Name (id).
func describeComponent(c *snapshot.Component) string {
	if c.Name == "" || c.Name == c.ID {
		return c.ID
	}
	return c.Name + " (" + c.ID + ")"
}
