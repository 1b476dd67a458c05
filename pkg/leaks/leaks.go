package leaks

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/rescoord/rescoord/internal/graph"
	"github.com/rescoord/rescoord/internal/hugemem"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// LeakOptions tune the leak rules. The zero value runs every rule of
// docs/leaks.md that needs no option, with no grace.
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

// Finding is one leak finding. Its JSON form is the shape docs/leaks.md gives (see
// AppendJSON); the other fields serve reports and library users.
type Finding struct {
	Rule     Rule
	Severity Severity
	// WithinGrace is set when the owner (or parent) was destroyed within
	// LeakOptions.Grace: the severity was lowered to info.
	WithinGrace bool
	// later is, for a finding whose text a report left for later
	// (ReportOptions.DeferText), its rule slot + 1; 0 when its text is
	// there. It and deps sit beside Severity, in what would be its padding
	// (docs/performance.md, "A smaller resource").
	later int8
	// deps is where the positions of a dangling resource's dependencies
	// start in the finder's resolved.
	deps int32
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
	// A path longer than 2×PathEnds+1 keeps its first and last PathEnds
	// ids, and PathElided says how many were left out between them.
	Path []string
	// PathElided is how many levels of a long Path were left out after its
	// first PathEnds ids (0 when Path is whole).
	PathElided int
	// Dangling holds, for dangling-dependency, the ids depended on that are
	// released or missing.
	Dangling []string
	// Growth holds the figures of a growth finding.
	Growth *Growth
	// Untracked is the OS object of an untracked-resource finding (the
	// finding's ResourceID is its id in the OS snapshot).
	Untracked *Untracked
	// SuppressedBy is the entry with action "report" that matched the
	// finding: it is shown but never fails the build.
	SuppressedBy *Suppression
	// Entry is the suppression entry an expired-suppression or
	// unused-suppression finding is about.
	Entry *Suppression
}

// FindLeaks runs the rules of docs/leaks.md (all but growth, which compares
// snapshots: see FindGrowth) on ix. Findings come in rule order (the
// order of Rules), then in snapshot order. It runs in time linear in
// resources, components and dependency edges, and formats messages only
// for what it reports. A large snapshot is scanned, and its findings
// built, on all available cores.
func FindLeaks(ix *snapshot.Index, opts LeakOptions) []Finding {
	fs, _ := findLeaks(ix, opts, defaults(), false)
	return fs
}

// tuning holds how the work is shared between goroutines: fields of a
// value, not package variables, so that tests run the concurrent paths on
// small snapshots, in parallel with each other.
type tuning struct {
	// workers is the most goroutines a pass uses (0: GOMAXPROCS).
	workers int
	// Below these sizes, a range of resources to scan or of findings to
	// build, or a half of the findings to group (findGroups), is not
	// worth a goroutine of its own.
	scanRange, buildRange, groupHalf int
}

// defaults is the tuning of FindLeaks.
func defaults() tuning { return tuning{scanRange: 1 << 16, buildRange: 4096, groupHalf: 1 << 14} }

// leakWorkers is how many goroutines share n items, at least least each.
func (t tuning) leakWorkers(n, least int) int {
	most := t.workers
	if most <= 0 {
		most = runtime.GOMAXPROCS(0)
	}
	return max(1, min(most, n/least))
}

// findLeaks is FindLeaks with a tuning.
//
// With later set, the findings about one resource come without their text
// (message, path, dangling list): the finder returned makes it on demand
// (Report.AppendFindingJSON, Report.Complete).
func findLeaks(ix *snapshot.Index, opts LeakOptions, tune tuning, later bool) ([]Finding, *finder) {
	f := &finder{ix: ix, s: ix.Snap, opts: opts, goneAbove: goneAncestors(ix), tune: tune}
	if opts.Grace > 0 {
		f.graceNote = "; within the " + formatAge(opts.Grace) + " grace, so not yet a leak"
	}
	// The rules about the registry and the components run while the
	// resources are scanned.
	other := f.newBuilder()
	var wg sync.WaitGroup
	wg.Go(func() {
		other.globalLimit()
		other.componentLimits()
		other.components()
	})
	pend, start, list, forward := f.resources()
	wg.Wait()

	// Orphans, resources running under one, dangling dependencies and
	// stale resources, the bulk of a leaky snapshot, were only noted while
	// scanning. Lay out the findings rule by rule, then build the noted
	// ones in place, in slices of all, while one more goroutine looks for
	// cycles (inserted at the end: a snapshot that can be cleaned up has
	// none). When every dependency is on a resource listed earlier, as
	// registries that list resources in creation order have them, there
	// is none to look for.
	var slotEnd, shift [len(ruleSlots)]int // finding all[k] of slot goes to out[k+shift[slot]]
	total, noted := 0, 0
	for slot := range ruleSlots {
		total += len(f.byRule[slot])
		for _, p := range pend[slot] {
			noted += len(p)
		}
	}
	all := hugemem.MakeCap[pendingRes](0, noted)
	out := hugemem.Make[Finding](total + noted)
	n, cyclesAt := 0, 0
	for slot := range ruleSlots {
		if slot == slotCleanupCycle {
			cyclesAt = n
		}
		n += copy(out[n:], f.byRule[slot])
		shift[slot] = n - len(all)
		for _, p := range pend[slot] {
			all = append(all, p...)
			n += len(p)
			hugemem.Release(p)
		}
		slotEnd[slot] = len(all)
	}
	if forward {
		wg.Go(func() { other.cycles(start, list) })
	}
	workers := f.tune.leakWorkers(len(all), f.tune.buildRange)
	for w := range workers {
		from, to := len(all)*w/workers, len(all)*(w+1)/workers
		wg.Go(func() {
			b := f.newBuilder()
			b.sigs.next = (to - from) * 16
			if !later {
				b.slab = hugemem.Make[string](f.pathRoom(all[from:to]))
				b.text.next = (to - from) * messageBytes
			}
			slot := 0
			for k := from; k < to; k++ {
				for k >= slotEnd[slot] {
					slot++
				}
				fd := &out[k+shift[slot]]
				if later {
					b.note(fd, slot, all[k])
					fd.leaveText(slot, all[k])
				} else {
					b.materialize(fd, slot, all[k])
				}
			}
		})
	}
	wg.Wait()
	// The scan's notes and edges are done with: their pages go back now,
	// not at a collection that may never come (docs/performance.md,
	// "Scratch handed back").
	hugemem.Release(all)
	hugemem.Release(start, list)
	out = slices.Insert(out, cyclesAt, f.byRule[slotCleanupCycle]...)
	return append(out, leakedGoroutines(ix)...), f // after stale-resource, as in Rules (rules.go)
}

// leaveText marks fd, noted from p as a finding of rule slot, as waiting
// for its text (ReportOptions.DeferText); textLeft says what to make it
// from.
func (fd *Finding) leaveText(slot int, p pendingRes) {
	fd.later, fd.deps = int8(slot+1), p.deps
}

// textLeft returns, for a finding leaveText marked, its rule slot and the
// note to make its text from; ok is false when its text is there.
func (fd *Finding) textLeft() (slot int, p pendingRes, ok bool) {
	if fd.later == 0 {
		return 0, pendingRes{}, false
	}
	return int(fd.later - 1), pendingRes{ri: int32(fd.Resource), o: int32(fd.Component), deps: fd.deps}, true
}

// messageBytes is about what the message of a resource finding takes.
const messageBytes = 150

// pendingRes notes a resource finding to build: the resource and its
// owner; for a dangling dependency, where in finder.resolved the scan left
// the positions of what it depends on.
type pendingRes struct{ ri, o, deps int32 }

// finder holds what one FindLeaks run shares between its goroutines.
type finder struct {
	ix   *snapshot.Index
	s    *snapshot.Snapshot
	opts LeakOptions
	tune tuning
	// graceNote ends the message of a finding within the grace.
	graceNote string
	// resolved holds the positions of what dangling resources depend on
	// (-1 for a resource not in the snapshot), as the scan found them.
	resolved []int32
	// byRule collects the findings not about one resource, per rule,
	// in Rules order.
	byRule [len(ruleSlots)][]Finding
	// goneAbove is, per component, its nearest gone ancestor
	// (goneAncestors).
	goneAbove []int32
	// anchors are, for deep components, their ancestor at depth
	// PathEnds-1 (makeAnchors, once, when a long path is first made).
	anchorsOnce sync.Once
	anchors     []int32
}

// ruleSlots are the rules FindLeaks reports, in output order.
var ruleSlots = [...]Rule{
	RuleRunningOrphan, RuleRunningUnderOrphan, RuleOrphanedResource, RuleOverComponentLimit, RuleOverGlobalLimit,
	RuleCleanupCycle, RuleOrphanedComponent, RuleDanglingDependency, RuleStaleResource,
}

const (
	slotRunningOrphan = iota
	slotRunningUnderOrphan
	slotOrphanedResource
	slotOverComponentLimit
	slotOverGlobalLimit
	slotCleanupCycle
	slotOrphanedComponent
	slotDanglingDependency
	slotStaleResource
)

// builder builds findings on one goroutine: its buffers and caches are
// its own.
type builder struct {
	*finder
	sig sigHasher
	// text holds the messages, sigs the signatures: apart, so that
	// grouping findings by signature reads them in a row.
	text, sigs textArena
	// slab is where paths and dangling lists are carved from (take);
	// slabStart is the slab take last made, whole (reuse).
	slab, slabStart []string
	// gone is scratch space for the positions of dangling dependencies.
	gone []int
	// destroyed caches what messages say of a destroyed component (many
	// orphans share an owner).
	destroyed map[int]string
}

func (f *finder) newBuilder() *builder { return &builder{finder: f} }

// add records a finding not about one resource. Each rule's findings are
// added by one goroutine.
func (b *builder) add(slot int, fd Finding) {
	fd.Rule = ruleSlots[slot]
	b.byRule[slot] = append(b.byRule[slot], fd)
}

// resources applies the per-resource rules, noting their findings per
// rule (pend: each range's, in order), and returns the live → live
// dependency edges (deduplicated) in CSR form, for the cycle search: the
// dependencies are resolved once, for both. forward is set when an edge
// goes to the resource itself or to one listed after it: without such an
// edge there is no cycle. A large snapshot is scanned in parallel, in
// ranges, whose results are then joined in order.
func (f *finder) resources() (pend [len(ruleSlots)][][]pendingRes, start, list []int32, forward bool) {
	res := f.s.Resources
	n := len(res)
	start = hugemem.Make[int32](n + 1)
	parts := make([]scanned, f.tune.leakWorkers(n, f.tune.scanRange))
	bounds := func(w int) (from, to int) { return n * w / len(parts), n * (w + 1) / len(parts) }
	// Each range gets room in list for all its dependencies, at most.
	room := make([]int, len(parts)+1)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() {
			from, to := bounds(w)
			for ri := from; ri < to; ri++ {
				room[w+1] += len(res[ri].DependsOn)
			}
		})
	}
	wg.Wait()
	for w := range parts {
		room[w+1] += room[w]
	}
	list = make([]int32, room[len(parts)])
	f.resolved = make([]int32, room[len(parts)])
	for w := range parts {
		parts[w].list = list[room[w]:room[w]:room[w+1]]
		parts[w].resolved = room[w]
		wg.Go(func() {
			from, to := bounds(w)
			f.scan(&parts[w], start, from, to)
		})
	}
	wg.Wait()
	for slot := range ruleSlots {
		for w := range parts {
			pend[slot] = append(pend[slot], parts[w].pend[slot])
		}
	}
	for w := range parts {
		forward = forward || parts[w].forward
	}
	// Each range numbered its edges from 0: move them, and their
	// numbers, just after the edges of the ranges before it.
	list = list[:len(parts[0].list)]
	for w := 1; w < len(parts); w++ {
		base := int32(len(list))
		from, to := bounds(w)
		for ri := from; ri < to; ri++ {
			start[ri+1] += base
		}
		list = append(list, parts[w].list...)
	}
	return pend, start, list, forward
}

// scanned is what scanning one range of resources found.
type scanned struct {
	pend [len(ruleSlots)][]pendingRes
	// list holds the range's live → live edges (its capacity is all the
	// room they may need); start[ri+1] the end of resource ri's, counted
	// from the range's first.
	list []int32
	// forward is set when an edge goes to its resource or a later one.
	forward bool
	// resolved is where the range's next dangling resource leaves the
	// positions of its dependencies in finder.resolved, whose room for the
	// range is the same as list's.
	resolved int
}

// scan applies the per-resource rules to resources from to to-1.
func (f *finder) scan(p *scanned, start []int32, from, to int) {
	res := f.s.Resources
	comps := f.s.Components
	takenAt := f.s.TakenAt
	list := p.list
	var deps []int32
	for ri := from; ri < to; ri++ {
		r := &res[ri]
		first := len(list)
		if !r.Live() {
			start[ri+1] = int32(first)
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
			p.note(slot, pendingRes{int32(ri), int32(o), 0}, to-from)
		case r.Running && f.goneAbove[o] != noneGone && r.CanRun():
			// Owner alive, an ancestor gone: more specific than stale.
			p.note(slotRunningUnderOrphan, pendingRes{int32(ri), int32(o), 0}, to-from)
		case f.opts.MaxAge > 0 && !r.CreatedAt.IsZero() && takenAt.Sub(r.CreatedAt) > f.opts.MaxAge:
			// Most specific wins: an orphan is not also reported as stale.
			p.note(slotStaleResource, pendingRes{int32(ri), int32(o), 0}, to-from)
		}
		dangling := false
		deps = deps[:0]
		for _, dep := range r.DependsOn {
			j, ok := f.ix.ResourceIndex(dep)
			if !ok {
				j = -1
			}
			deps = append(deps, int32(j))
			switch {
			case !ok || !res[j].Live():
				dangling = true
			case !slices.Contains(list[first:], int32(j)):
				list = append(list, int32(j))
				p.forward = p.forward || j >= ri
			}
		}
		start[ri+1] = int32(len(list))
		if dangling {
			p.note(slotDanglingDependency, pendingRes{int32(ri), int32(o), int32(p.resolved)}, to-from)
			p.resolved += copy(f.resolved[p.resolved:], deps)
		}
	}
	p.list = list
}

// pendRoom is how many notes a range's list of one rule starts with, at
// most: a megabyte of them, enough to be handed back.
const pendRoom = (1 << 20) / int(unsafe.Sizeof(pendingRes{}))

// note adds e to the notes of rule slot, in a range of n resources. A
// list starts with room for pendRoom notes (fewer for a small range) and
// doubles when full, handing the old one back: grown by append, it would
// leave each smaller copy behind, garbage a command seldom collects, and a
// list below a megabyte could not be handed back once joined
// (docs/performance.md, "No garbage left by growth").
func (p *scanned) note(slot int, e pendingRes, n int) {
	l := p.pend[slot]
	if len(l) == cap(l) {
		grown := hugemem.MakeCap[pendingRes](len(l), max(2*cap(l), min(n, pendRoom)))
		copy(grown, l)
		hugemem.Release(l)
		l = grown
	}
	p.pend[slot] = append(l, e)
}

// materialize builds, in fd, a noted resource finding: an orphan (running
// or not), a resource running under a gone ancestor, a dangling
// dependency or a stale resource.
func (b *builder) materialize(fd *Finding, slot int, p pendingRes) {
	b.note(fd, slot, p)
	b.describe(fd, slot, p)
}

// note fills in fd all but the text of the finding of rule slot that p
// notes: its rule, severity, grace, ids and signature.
func (b *builder) note(fd *Finding, slot int, p pendingRes) {
	ri, o := int(p.ri), int(p.o)
	sev := SeverityWarning // dangling-dependency, stale-resource
	switch slot {
	case slotRunningOrphan, slotRunningUnderOrphan:
		sev = SeverityCritical
	case slotOrphanedResource:
		sev = SeverityError
	}
	if b.grace(slot, o) {
		sev = SeverityInfo
		fd.WithinGrace = true
	}
	r := &b.s.Resources[ri]
	var cname, ctype string
	if o >= 0 {
		c := &b.s.Components[o]
		cname, ctype = c.DisplayName(), c.Type
	}
	frame := r.CreatedBy.Top()
	fd.Rule = ruleSlots[slot]
	fd.Severity = sev
	fd.Resource, fd.Component = ri, o
	fd.ResourceID, fd.ComponentID = r.ID, r.Owner
	fd.Signature = b.signature(string(ruleSlots[slot]), cname, ctype, r.Type, r.Name, frame)
}

// grace reports whether the finding of rule slot about a resource owned
// by o is within the grace: an orphan's owner, or what is gone above a
// resource running under an orphan, destroyed less than the grace before
// the snapshot.
func (b *builder) grace(slot, o int) bool {
	switch slot {
	case slotRunningOrphan, slotOrphanedResource:
		return o >= 0 && b.withinGrace(&b.s.Components[o])
	case slotRunningUnderOrphan:
		g := b.goneAbove[o]
		return g >= 0 && b.withinGrace(&b.s.Components[g])
	}
	return false
}

// describe fills in the text of the finding note filled in: its message,
// path and dangling list, carved from the builder's arenas.
func (b *builder) describe(fd *Finding, slot int, p pendingRes) {
	ri, o := int(p.ri), int(p.o)
	r := &b.s.Resources[ri]
	msg := appendResource(b.text.start(), r)
	switch slot {
	case slotDanglingDependency:
		msg, fd.Dangling = b.dangling(msg, r, b.resolved[p.deps:int(p.deps)+len(r.DependsOn)])
	case slotRunningUnderOrphan:
		msg = b.underGone(msg, o)
	case slotStaleResource:
		msg = append(msg, " has been live for "...)
		msg = append(msg, formatAge(b.s.TakenAt.Sub(r.CreatedAt))...)
		msg = append(msg, ", longer than the maximum age of "...)
		msg = append(msg, formatAge(b.opts.MaxAge)...)
	default: // an orphan
		if slot == slotRunningOrphan {
			msg = append(msg, " is still running"...)
		} else {
			msg = append(msg, " is still "...)
			msg = append(msg, r.State.String()...)
		}
		msg = append(msg, ", but its owner "...)
		if o < 0 {
			msg = append(msg, r.Owner...)
			msg = append(msg, " is no longer in the registry"...)
		} else {
			msg = append(msg, b.destroyedText(o)...)
		}
	}
	if fd.WithinGrace {
		msg = append(msg, b.graceNote...)
	}
	fd.Message = b.text.finish(msg)
	if o >= 0 {
		fd.Path, fd.PathElided = b.pathTo(o, 1)
		fd.Path[len(fd.Path)-1] = r.ID
	} else {
		fd.Path = b.take(2)
		fd.Path[0], fd.Path[1] = r.Owner, r.ID
	}
}

// underGone appends to a running-under-orphan message what is gone above
// the resource's owner o, which is alive.
func (b *builder) underGone(msg []byte, o int) []byte {
	comps := b.s.Components
	msg = append(msg, " is still running; its owner "...)
	msg = appendComponent(msg, &comps[o])
	msg = append(msg, " is alive, but its "...)
	g := int(b.goneAbove[o])
	if g >= 0 && g != b.ix.Parent(o) || g < 0 && -2-g != o {
		msg = append(msg, "ancestor "...)
	} else {
		msg = append(msg, "parent "...)
	}
	if g < 0 {
		msg = append(msg, comps[-2-g].Parent...)
		return append(msg, " is no longer in the registry"...)
	}
	return append(msg, b.destroyedText(g)...)
}

// noneGone marks, in finder.goneAbove, a component without a gone ancestor.
const noneGone = -1

// goneAncestors returns, per component, its nearest ancestor that is gone:
// the position of the nearest destroyed one; -2-c when the nearest is the
// parent of component c (c itself or an ancestor), missing from the
// snapshot; noneGone when every ancestor is alive. One pass: each
// component is resolved once, from its parent's answer.
func goneAncestors(ix *snapshot.Index) []int32 {
	comps := ix.Snap.Components
	const unknown = -1 << 31
	gone := hugemem.Make[int32](len(comps))
	for i := range gone {
		gone[i] = unknown
	}
	var stack []int32 // components waiting for their parent's answer
	for ci := range comps {
		c := ci
		for gone[c] == unknown {
			p := ix.Parent(c)
			switch {
			case comps[c].Parent == "":
				gone[c] = noneGone
			case p < 0:
				gone[c] = int32(-2 - c)
			case !comps[p].Alive():
				gone[c] = int32(p)
			case gone[p] != unknown:
				gone[c] = gone[p]
			default:
				stack = append(stack, int32(c))
				c = p
			}
		}
		for k := len(stack) - 1; k >= 0; k-- {
			gone[stack[k]] = gone[ix.Parent(int(stack[k]))]
		}
		stack = stack[:0]
	}
	return gone
}

// dangling appends to a dangling-dependency message what r depends on that
// is released or missing, and returns their ids (each once). deps are the
// positions of r's dependencies (-1 when not in the snapshot).
func (b *builder) dangling(msg []byte, r *snapshot.Resource, deps []int32) ([]byte, []string) {
	msg = append(msg, " depends on what is gone: "...)
	res := b.s.Resources
	b.gone = b.gone[:0]
	for k, dep := range r.DependsOn {
		j := deps[k]
		if j >= 0 && res[j].Live() || slices.Contains(r.DependsOn[:k], dep) {
			continue
		}
		if len(b.gone) > 0 {
			msg = append(msg, ", "...)
		}
		b.gone = append(b.gone, k)
		msg = append(msg, dep...)
		if j < 0 {
			msg = append(msg, " (not in the registry)"...)
			continue
		}
		d := &res[j]
		if d.Name != "" {
			msg = append(msg, ' ')
			msg = appendQuoted(msg, d.Name)
		}
		msg = append(msg, " ("...)
		msg = append(msg, d.Type...)
		msg = append(msg, ", released)"...)
	}
	gone := b.take(len(b.gone))
	for i, k := range b.gone {
		gone[i] = r.DependsOn[k]
	}
	return msg, gone
}

// textArena hands out strings written at the end of large buffers: a
// finding's message and signature cost no allocation of their own, and a
// large buffer is backed by huge pages (makeLarge). What was handed out is
// never written again, bytes are only appended after it: that is what
// makes the unsafe.String sound. (A Scratch's builder starts again over
// its own text, builder.reuse: the findings it makes never leave it.)
type textArena struct {
	buf []byte
	// next is the size of the next buffer (at least 16 KiB).
	next int
}

// start returns the buffer to append a string to.
func (a *textArena) start() []byte {
	if cap(a.buf)-len(a.buf) < 1<<10 {
		a.buf = hugemem.Make[byte](max(a.next, 16<<10))[:0]
		a.next = 0
	}
	return a.buf
}

// finish returns as a string what was appended to the buffer start
// returned (b, grown).
func (a *textArena) finish(b []byte) string {
	n := len(a.buf)
	a.buf = b
	if len(b) == n {
		return ""
	}
	return unsafe.String(&b[n], len(b)-n)
}

// signature is the signature of a finding (Signature), kept in b.sigs.
func (b *builder) signature(fields ...string) string {
	return b.sigs.finish(b.sig.appendSum(b.sigs.start(), fields...))
}

// reuse makes the builder write the next finding's text over the last
// one's (Report.AppendFindingJSON): its message and its path or dangling
// list start again at the beginning of the same memory.
func (b *builder) reuse() {
	b.text.buf = b.text.buf[:0]
	b.slab = b.slabStart
}

// take carves n strings out of a shared slab: paths and dangling lists
// cost one allocation per few thousand findings rather than one each.
// (A builder of many findings starts with a slab sized by pathRoom.)
func (b *builder) take(n int) []string {
	if n > len(b.slab) {
		b.slab = make([]string, max(n, 4096))
		b.slabStart = b.slab
	}
	s := b.slab[:n:n]
	b.slab = b.slab[n:]
	return s
}

// pathRoom is how many strings the paths and dangling lists of the noted
// findings pend take at most: the ids of the owner's ancestors and of the
// owner, a missing parent or owner, the resource and what it depends on.
func (f *finder) pathRoom(pend []pendingRes) int {
	n := 0
	for _, p := range pend {
		n += 2 + len(f.s.Resources[p.ri].DependsOn)
		if p.o >= 0 {
			n += min(f.ix.Depth(int(p.o))+1, 2*PathEnds)
		}
	}
	return n
}

// withinGrace reports whether component c was destroyed less than the
// grace before the snapshot.
func (f *finder) withinGrace(c *snapshot.Component) bool {
	return f.opts.Grace > 0 && !c.DestroyedAt.IsZero() && f.s.TakenAt.Sub(c.DestroyedAt) < f.opts.Grace
}

// destroyedText is what messages say of destroyed component ci: "Name (id)
// was destroyed 4s before the snapshot".
func (b *builder) destroyedText(ci int) string {
	if t, ok := b.destroyed[ci]; ok {
		return t
	}
	if b.destroyed == nil {
		b.destroyed = make(map[int]string)
	}
	c := &b.s.Components[ci]
	var tmp [128]byte // not b.text: a message may be in progress there
	t := appendComponent(tmp[:0], c)
	t = append(t, " was destroyed"...)
	if !c.DestroyedAt.IsZero() {
		t = append(t, ' ')
		t = append(t, formatAge(b.s.TakenAt.Sub(c.DestroyedAt))...)
		t = append(t, " before the snapshot"...)
	}
	b.destroyed[ci] = string(t)
	return b.destroyed[ci]
}

// componentFinding builds the finding of rule slot about component ci.
func (b *builder) componentFinding(slot int, sev Severity, ci int, msg string) Finding {
	c := &b.s.Components[ci]
	path, elided := b.pathTo(ci, 0)
	return Finding{
		Rule:        ruleSlots[slot],
		Severity:    sev,
		Resource:    -1,
		Component:   ci,
		ComponentID: c.ID,
		Signature:   b.signature(string(ruleSlots[slot]), c.DisplayName(), c.Type, "", "", ""),
		Message:     msg,
		Path:        path,
		PathElided:  elided,
	}
}

// PathEnds is how many ids a long Finding.Path keeps at each end.
const PathEnds = 8

// pathTo returns the ids from ci's root down to ci (a parent missing
// from the snapshot first), then extra (0 or 1) empty places, carved from
// the slab. A path of more than 2×PathEnds+1 ids, the extra places
// counted, keeps the first and last PathEnds and says how many it left
// out between them, so that the findings of a
// deep tree cost the same whatever its depth (docs/leaks.md, "Long
// ownership paths"). It climbs the parents rather than keep the paths of
// a hundred thousand components.
func (b *builder) pathTo(ci, extra int) (path []string, elided int) {
	comps := b.s.Components
	n := b.ix.Depth(ci) + 1
	missing := ""
	if root := b.rootOf(ci); comps[root].Parent != "" {
		missing = comps[root].Parent
		n++
	}
	if n+extra <= 2*PathEnds+1 {
		p := b.take(n + extra)
		k := n - 1
		for c := ci; c >= 0; c = b.ix.Parent(c) {
			p[k] = comps[c].ID
			k--
		}
		if k == 0 {
			p[0] = missing
		}
		return p, 0
	}
	// The tail: the last PathEnds ids, the extra places included.
	p := b.take(2 * PathEnds)
	c := ci
	for k := 2*PathEnds - 1 - extra; k >= PathEnds; k-- {
		p[k] = comps[c].ID
		c = b.ix.Parent(c)
	}
	// The head: the root's first PathEnds levels (after a missing parent).
	head := PathEnds
	if missing != "" {
		p[0] = missing
		head--
	}
	c = b.ancestorAtDepth(ci, head-1)
	for k := PathEnds - 1; k >= PathEnds-head; k-- {
		p[k] = comps[c].ID
		c = b.ix.Parent(c)
	}
	return p, n + extra - 2*PathEnds
}

// rootOf is the root of ci's tree.
func (b *builder) rootOf(ci int) int {
	if b.ix.Depth(ci) < 2*PathEnds {
		for p := b.ix.Parent(ci); p >= 0; p = b.ix.Parent(p) {
			ci = p
		}
		return ci
	}
	a := b.ancestorAtDepth(ci, 0)
	return a
}

// ancestorAtDepth is ci's ancestor at depth d, for d < PathEnds, found
// through the table of each component's ancestor at depth PathEnds-1
// (made once, in one pass) when ci is deep: climbing would make the
// findings of a deep chain cost its depth each.
func (b *builder) ancestorAtDepth(ci, d int) int {
	if depth := b.ix.Depth(ci); depth >= PathEnds {
		b.anchorsOnce.Do(b.finder.makeAnchors)
		ci = int(b.anchors[ci])
	}
	for b.ix.Depth(ci) > d {
		ci = b.ix.Parent(ci)
	}
	return ci
}

// makeAnchors fills anchors: for each component at depth PathEnds-1 or
// more, its ancestor at depth PathEnds-1 (itself at that depth).
func (f *finder) makeAnchors() {
	comps := f.s.Components
	f.anchors = hugemem.Make[int32](len(comps))
	const unknown = -1
	for i := range f.anchors {
		f.anchors[i] = unknown
	}
	var stack []int32
	for ci := range comps {
		c := ci
		for f.anchors[c] == unknown {
			d := f.ix.Depth(c)
			if d < PathEnds-1 {
				break
			}
			if d == PathEnds-1 {
				f.anchors[c] = int32(c)
				break
			}
			p := f.ix.Parent(c)
			if f.anchors[p] != unknown {
				f.anchors[c] = f.anchors[p]
				break
			}
			stack = append(stack, int32(c))
			c = p
		}
		for k := len(stack) - 1; k >= 0; k-- {
			f.anchors[stack[k]] = f.anchors[f.ix.Parent(int(stack[k]))]
		}
		stack = stack[:0]
	}
}

// globalLimit applies over-global-limit.
func (b *builder) globalLimit() {
	lim := b.s.Limits.GlobalBytes
	if lim <= 0 || b.ix.TotalLiveBytes() <= lim {
		return
	}
	used := b.ix.TotalLiveBytes()
	b.add(slotOverGlobalLimit, Finding{
		Severity:  SeverityError,
		Resource:  -1,
		Component: -1,
		Signature: b.sig.sum(string(RuleOverGlobalLimit), "", "", "", "", ""),
		Message: fmt.Sprintf("the registry holds %s of live resources, over the global limit of %s (by %s)",
			formatBytes(used), formatBytes(lim), formatBytes(used-lim)),
		Path: []string{},
	})
}

// componentLimits applies over-component-limit, in component order.
func (b *builder) componentLimits() {
	var over []int
	for id, lim := range b.s.Limits.Components {
		ci, ok := b.ix.ComponentIndex(id)
		if ok && lim > 0 && b.ix.SubtreeLiveBytes(ci) > lim {
			over = append(over, ci)
		}
	}
	slices.Sort(over)
	for _, ci := range over {
		c := &b.s.Components[ci]
		lim := b.s.Limits.Components[c.ID]
		used := b.ix.SubtreeLiveBytes(ci)
		b.add(slotOverComponentLimit, b.componentFinding(slotOverComponentLimit, SeverityError, ci,
			fmt.Sprintf("%s holds %s of live resources in its subtree, over its limit of %s (by %s)",
				describeComponent(c), formatBytes(used), formatBytes(lim), formatBytes(used-lim))))
	}
}

// components applies orphaned-component.
func (b *builder) components() {
	comps := b.s.Components
	orphaned := func(ci int) bool {
		c := &comps[ci]
		p := b.ix.Parent(ci)
		return c.Alive() && c.Parent != "" && (p < 0 || !comps[p].Alive())
	}
	n := 0
	for ci := range comps {
		if orphaned(ci) {
			n++
		}
	}
	b.byRule[slotOrphanedComponent] = make([]Finding, 0, n)
	for ci := range comps {
		if !orphaned(ci) {
			continue
		}
		c := &comps[ci]
		p := b.ix.Parent(ci)
		msg := appendComponent(b.text.start(), c)
		msg = append(msg, " is alive, but its parent "...)
		grace := false
		if p < 0 {
			msg = append(msg, c.Parent...)
			msg = append(msg, " is no longer in the registry"...)
		} else {
			msg = append(msg, b.destroyedText(p)...)
			grace = b.withinGrace(&comps[p])
		}
		sev := SeverityWarning
		if grace {
			sev = SeverityInfo
			msg = append(msg, b.graceNote...)
		}
		fd := b.componentFinding(slotOrphanedComponent, sev, ci, b.text.finish(msg))
		fd.WithinGrace = grace
		b.add(slotOrphanedComponent, fd)
	}
}

// cycles applies cleanup-cycle: one finding per strongly connected set of
// live resources, with the cycle the cleanup planner reports for it
// (graphCycles): it starts at the member that comes first in the snapshot
// and takes the shortest way back.
func (b *builder) cycles(start, list []int32) {
	res := b.s.Resources
	for _, cyc := range graph.Cycles(len(res), start, list) {
		path := make([]string, len(cyc))
		keys := make([]string, len(cyc))
		for k, m := range cyc {
			r := &res[m]
			path[k] = r.ID
			keys[k] = memberKey(r.Type, r.Name, r.CreatedBy.Top())
		}
		msg := fmt.Sprintf("%d live resources depend on each other in a cycle, so no cleanup order exists: %s → %s",
			len(cyc), strings.Join(path, " → "), path[0])
		if len(cyc) == 1 {
			msg = fmt.Sprintf("live resource %s depends on itself, so no cleanup order exists", path[0])
		}
		b.add(slotCleanupCycle, Finding{
			Severity:  SeverityError,
			Resource:  -1,
			Component: -1,
			Signature: b.sig.cycleSignature(keys),
			Message:   msg,
			Path:      path,
		})
	}
}

// appendResource names a resource in messages: type "name" (id), or
// type id when it has no name.
func appendResource(b []byte, r *snapshot.Resource) []byte {
	b = append(b, r.Type...)
	b = append(b, ' ')
	if r.Name == "" {
		return append(b, r.ID...)
	}
	b = appendQuoted(b, r.Name)
	b = append(b, " ("...)
	b = append(b, r.ID...)
	return append(b, ')')
}

// appendComponent names a component in messages: Name (id), or its id
// when it has no other name.
func appendComponent(b []byte, c *snapshot.Component) []byte {
	if c.Name == "" || c.Name == c.ID {
		return append(b, c.ID...)
	}
	b = append(b, c.Name...)
	b = append(b, " ("...)
	b = append(b, c.ID...)
	return append(b, ')')
}

// describeComponent is appendComponent as a string.
func describeComponent(c *snapshot.Component) string { return string(appendComponent(nil, c)) }
