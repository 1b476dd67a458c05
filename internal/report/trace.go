package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// A trace explains one finding: the ownership path from the root
// component down to what leaked, each hop with its type and state, then
// notes (what a dependency, a limit or a growth adds) and the creation
// stack. Every string from the snapshot in it is escaped (render.Escape):
// a trace is for people, in every format.
//
// A long path is elided in the middle (docs/leaks.md): the first
// pathHead and the last pathTail levels are kept, and the first and the
// last destroyed level between them; each run left out is one hop saying
// how many levels it holds. A trace is so at most a dozen lines, whatever
// the depth of the tree.
type trace struct {
	hops   []hop
	notes  []string
	frames []string
}

// hop is one step of an ownership path.
type hop struct {
	label string // Name (type, id)
	state string // alive, destroyed 4s before the snapshot, ...
	bad   bool   // destroyed or missing: the reason for the leak
	// elided is a run of levels left out; label says how many.
	elided bool
}

// The levels of an ownership path a trace keeps at each end.
const (
	pathHead = 3
	pathTail = 3
)

// tracer builds traces for the findings of one report. It is safe for
// concurrent use: the printers format blocks of groups on every core.
type tracer struct {
	ix *snapshot.Index
	// newest is, per growth group, the newest live resource (built on first use).
	newest     map[[3]string]int
	newestOnce sync.Once
	// anc is built on the first trace of a long path.
	anc          *ancestry
	ancestryOnce sync.Once
	// paths maps frames' files for locationWhere.
	paths Paths
}

func newTracer(ix *snapshot.Index) *tracer { return &tracer{ix: ix} }

func (t *tracer) trace(f *leaks.Finding) trace {
	ix := t.ix
	s := ix.Snap
	var tr trace
	switch {
	case f.Untracked != nil:
		u := f.Untracked
		tr.notes = append(tr.notes, "the OS shows: "+render.Escape(u.Type)+" "+render.Escape(u.Name)+" ("+render.Escape(u.Detail)+")",
			"no live resource of the registry names it in its metadata (docs/importers.md, \"Reconciling\")")
	case f.Entry != nil:
		e := f.Entry
		tr.notes = append(tr.notes, "entry "+render.Escape(e.Where())+": "+render.Escape(e.Patterns()), "reason: "+render.Escape(e.Reason))
		if !e.Expires.IsZero() {
			tr.notes = append(tr.notes, "expires: "+e.Expires.Format("2006-01-02"))
		}
	case f.Resource >= 0:
		r := &s.Resources[f.Resource]
		tr.hops = t.componentHops(f.Component, r.Owner)
		if f.Rule == leaks.RuleRunningUnderOrphan {
			markGone(tr.hops)
		}
		tr.hops = append(tr.hops, t.resourceHop(f.Resource))
		for _, dep := range f.Dangling {
			if j, ok := ix.ResourceIndex(dep); ok {
				d := &s.Resources[j]
				tr.notes = append(tr.notes, fmt.Sprintf("depends on %s: %s", resourceLabel(d), d.State))
			} else {
				tr.notes = append(tr.notes, fmt.Sprintf("depends on %s: not in the registry", render.Escape(dep)))
			}
		}
		tr.frames = r.CreatedBy.Frames()
	case f.Rule == leaks.RuleCleanupCycle:
		for k, id := range f.Path {
			ri, ok := ix.ResourceIndex(id)
			if !ok {
				continue
			}
			r := &s.Resources[ri]
			arrow := "→ depends on "
			if k == 0 {
				arrow = ""
			}
			note := fmt.Sprintf("%s%s owned by %s", arrow, resourceLabel(r), render.Escape(r.Owner))
			if top := r.CreatedBy.Top(); top != "" {
				note += ", created at " + render.Escape(top)
			}
			tr.notes = append(tr.notes, note)
		}
		if len(f.Path) > 0 {
			tr.notes = append(tr.notes, "→ depends on "+render.Escape(f.Path[0])+" again")
		}
	case f.Growth != nil:
		g := f.Growth
		if f.Component >= 0 {
			tr.hops = t.componentHops(f.Component, "")
		}
		n := len(g.Counts) - 1
		tr.notes = append(tr.notes,
			fmt.Sprintf("live count: %s (%+d)", joinInts(g.Counts), g.Counts[n]-g.Counts[0]),
			fmt.Sprintf("live bytes: %s (+%s)", joinBytes(g.Bytes), render.Bytes(g.Bytes[n]-g.Bytes[0])))
		if ri := t.newestOf(g); ri >= 0 {
			r := &s.Resources[ri]
			tr.notes = append(tr.notes, "newest: "+resourceLabel(r)+", "+resourceState(s, r))
			tr.frames = r.CreatedBy.Frames()
		}
	case f.Rule == leaks.RuleOverComponentLimit && f.Component >= 0:
		tr.hops = t.componentHops(f.Component, "")
		c := &s.Components[f.Component]
		tr.notes = append(tr.notes, fmt.Sprintf("live bytes in the subtree: %s of a %s limit",
			render.Bytes(ix.SubtreeLiveBytes(f.Component)), render.Bytes(s.Limits.Components[c.ID])))
		tr.notes = append(tr.notes, t.largest(t.subtreeResources(f.Component), 3)...)
	case f.Rule == leaks.RuleOverGlobalLimit:
		tr.notes = append(tr.notes, fmt.Sprintf("live bytes in the registry: %s of a %s limit",
			render.Bytes(ix.TotalLiveBytes()), render.Bytes(s.Limits.GlobalBytes)))
		all := make([]int32, len(s.Resources))
		for i := range all {
			all[i] = int32(i)
		}
		tr.notes = append(tr.notes, t.largest(all, 3)...)
	case f.Component >= 0:
		tr.hops = t.componentHops(f.Component, "")
		live, bytes := 0, int64(0)
		for _, ri := range t.subtreeResources(f.Component) {
			if r := &s.Resources[ri]; r.Live() {
				live++
				bytes += r.SizeBytes
			}
		}
		tr.notes = append(tr.notes, fmt.Sprintf("its subtree holds %d live %s (%s)", live, human.Plural(live, "resource", "resources"), render.Bytes(bytes)))
		if f.Rule == leaks.RuleOrphanedComponent {
			tr.notes = append(tr.notes, t.runningBelow(f.Component, maxRunningShown)...)
		}
	}
	tr.frames = escapeAll(tr.frames)
	return tr
}

// goneMark ends the state of the hop that explains a running-under-orphan
// finding: the owner's nearest ancestor that is destroyed or missing.
const goneMark = "  ← gone: this is why it still runs"

// markGone marks the last hop that is destroyed or missing — of a
// running-under-orphan resource's ownership path, the owner's nearest
// gone ancestor (every hop below it is alive).
func markGone(hops []hop) {
	for i := len(hops) - 1; i >= 0; i-- {
		if hops[i].bad {
			hops[i].state += goneMark
			return
		}
	}
}

// maxRunningShown bounds the running resources an orphaned-component
// trace lists.
const maxRunningShown = 5

// runningBelow describes the live workers, threads, timers and processes
// with running set in component ci's subtree: at most n of them, in
// subtree order, then how many more. The snapshot's strings are escaped
// (render.Escape).
func (t *tracer) runningBelow(ci, n int) []string {
	s := t.ix.Snap
	var out []string
	more := 0
	for _, ri := range t.subtreeResources(ci) {
		r := &s.Resources[ri]
		if !r.Live() || !r.Running || !r.CanRun() {
			continue
		}
		if len(out) == 0 {
			out = append(out, "running below it:")
		}
		if len(out) > n {
			more++
			continue
		}
		line := fmt.Sprintf("  %s, owned by %s", render.Escape(resourceLabel(r)), render.Escape(r.Owner))
		if top := r.CreatedBy.Top(); top != "" {
			line += ", created at " + render.Escape(top)
		}
		out = append(out, line)
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("  … and %d more", more))
	}
	return out
}

// escapeAll returns v with each string escaped, copied only when one changes.
func escapeAll(v []string) []string {
	out := v
	for i, x := range v {
		if e := render.Escape(x); e != x {
			if &out[0] == &v[0] {
				out = slices.Clone(v)
			}
			out[i] = e
		}
	}
	return out
}

// componentHops is the path from the root down to component ci, elided
// in the middle when it is long (see trace); a missing owner (ci < 0,
// named missing) or a missing parent stands first.
func (t *tracer) componentHops(ci int, missing string) []hop {
	s := t.ix.Snap
	if ci < 0 {
		if missing == "" {
			return nil
		}
		return []hop{{label: render.Escape(missing), state: "no longer in the registry", bad: true}}
	}
	var hops []hop
	path := t.keptPath(ci)
	if root := &s.Components[path[0]]; root.Parent != "" {
		hops = append(hops, hop{label: render.Escape(root.Parent), state: "no longer in the registry", bad: true})
	}
	for _, p := range path {
		if p < 0 {
			hops = append(hops, hop{label: elidedLabel(int(-p)), elided: true})
			continue
		}
		c := &s.Components[p]
		h := hop{label: componentLabel(c), state: c.State}
		if !c.Alive() {
			h.bad = true
			if !c.DestroyedAt.IsZero() {
				h.state = "destroyed " + render.Age(s.TakenAt.Sub(c.DestroyedAt)) + " before the snapshot"
			}
		}
		hops = append(hops, h)
	}
	return hops
}

// keptPath returns the levels of the path from the root down to ci that a
// trace shows, as component positions: all of a short path; of a long one
// the first pathHead and the last pathTail levels, and the first and the
// last destroyed component between them, with -n standing for a run of n
// levels left out. It costs the same whatever the depth (see ancestry).
func (t *tracer) keptPath(ci int) []int32 {
	ix := t.ix
	n := ix.Depth(ci) + 1
	if n <= pathHead+pathTail+1 {
		return ix.PathTo(ci)
	}
	a := t.ancestry()
	up := func(c int32, k int) int32 { // the ancestor k levels above c
		for range k {
			c = int32(ix.Parent(int(c)))
		}
		return c
	}
	var out []int32
	for k := range pathHead {
		out = append(out, up(a.head[ci], pathHead-1-k))
	}
	at := pathHead - 1 // the depth of the last level in out
	middle := func(c int32) {
		if c < 0 {
			return
		}
		d := ix.Depth(int(c))
		if d <= at || d >= n-pathTail {
			return
		}
		if d > at+1 {
			out = append(out, -int32(d-at-1))
		}
		out = append(out, c)
		at = d
	}
	middle(a.firstBad[ci])
	middle(a.lastBad[up(int32(ci), pathTail)])
	if gap := n - pathTail - at - 1; gap > 0 {
		out = append(out, -int32(gap))
	}
	for k := range pathTail {
		out = append(out, up(int32(ci), pathTail-1-k))
	}
	return out
}

// ancestry is what keptPath needs of every component, computed once, in
// one pass over the tree: its ancestor at depth pathHead-1 (head), and the
// shallowest and the deepest destroyed component at depth pathHead or
// more on its path, itself included (firstBad, lastBad; -1 for none).
type ancestry struct {
	head, firstBad, lastBad []int32
}

func (t *tracer) ancestry() *ancestry {
	t.ancestryOnce.Do(func() {
		ix := t.ix
		s := ix.Snap
		nc := len(s.Components)
		a := &ancestry{head: make([]int32, nc), firstBad: make([]int32, nc), lastBad: make([]int32, nc)}
		for _, r := range ix.Roots() {
			for _, c := range ix.Subtree(int(r)) { // parents before children
				d := ix.Depth(int(c))
				p := int32(ix.Parent(int(c)))
				a.head[c], a.firstBad[c], a.lastBad[c] = c, -1, -1
				if d >= pathHead {
					a.head[c], a.firstBad[c], a.lastBad[c] = a.head[p], a.firstBad[p], a.lastBad[p]
					if !s.Components[c].Alive() {
						if a.firstBad[c] < 0 {
							a.firstBad[c] = c
						}
						a.lastBad[c] = c
					}
				}
			}
		}
		t.anc = a
	})
	return t.anc
}

// elidedLabel is "… 49,994 levels …".
func elidedLabel(n int) string {
	return "… " + thousands(n) + " " + human.Plural(n, "level", "levels") + " …"
}

// thousands formats n with commas: 49,994.
func thousands(n int) string {
	d := strconv.Itoa(n)
	var b []byte
	for i := range len(d) {
		if i > 0 && (len(d)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, d[i])
	}
	return string(b)
}

func (t *tracer) resourceHop(ri int) hop {
	s := t.ix.Snap
	r := &s.Resources[ri]
	return hop{label: resourceLabel(r), state: resourceState(s, r)}
}

// resourceState is "active, running, 12.0 MiB, created 1m05s before the snapshot".
func resourceState(s *snapshot.Snapshot, r *snapshot.Resource) string {
	parts := []string{r.State.String()}
	if r.Running {
		parts = append(parts, "running")
	}
	if r.SizeBytes > 0 {
		parts = append(parts, render.Bytes(r.SizeBytes))
	}
	if !r.CreatedAt.IsZero() {
		parts = append(parts, "created "+render.Age(s.TakenAt.Sub(r.CreatedAt))+" before the snapshot")
	}
	return strings.Join(parts, ", ")
}

// componentLabel is "Name (type, id)", escaped.
func componentLabel(c *snapshot.Component) string {
	id, name := render.Escape(c.ID), render.Escape(c.Name)
	var inner []string
	if c.Type != "" {
		inner = append(inner, render.Escape(c.Type))
	}
	if c.Name != "" && c.Name != c.ID {
		return name + " (" + strings.Join(append(inner, id), ", ") + ")"
	}
	if len(inner) == 0 {
		return id
	}
	return id + " (" + inner[0] + ")"
}

// resourceLabel is "name (type, id)", escaped.
func resourceLabel(r *snapshot.Resource) string {
	id, typ := render.Escape(r.ID), render.Escape(r.Type)
	if r.Name == "" {
		return id + " (" + typ + ")"
	}
	return render.Escape(r.Name) + " (" + typ + ", " + id + ")"
}

// subtreeResources lists the resources owned by ci and its descendants.
func (t *tracer) subtreeResources(ci int) []int32 {
	var out []int32
	for _, c := range t.ix.Subtree(ci) {
		out = append(out, t.ix.Owned(int(c))...)
	}
	return out
}

// largest describes the n largest live resources among sel (one pass,
// keeping the top n).
func (t *tracer) largest(sel []int32, n int) []string {
	s := t.ix.Snap
	var top []int32
	for _, ri := range sel {
		r := &s.Resources[ri]
		if !r.Live() || r.SizeBytes <= 0 {
			continue
		}
		k := len(top)
		for k > 0 && s.Resources[top[k-1]].SizeBytes < r.SizeBytes {
			k--
		}
		if k >= n {
			continue
		}
		top = slices.Insert(top, k, ri)
		if len(top) > n {
			top = top[:n]
		}
	}
	if len(top) == 0 {
		return nil
	}
	out := []string{"largest live resources:"}
	for _, ri := range top {
		r := &s.Resources[ri]
		line := fmt.Sprintf("  %s %s, owned by %s", resourceLabel(r), render.Bytes(r.SizeBytes), render.Escape(r.Owner))
		if top := r.CreatedBy.Top(); top != "" {
			line += ", created at " + render.Escape(top)
		}
		out = append(out, line)
	}
	return out
}

// newestOf returns the newest live resource of a growth group, or -1.
func (t *tracer) newestOf(g *leaks.Growth) int {
	t.newestOnce.Do(func() {
		t.newest = map[[3]string]int{}
		s := t.ix.Snap
		for ri := range s.Resources {
			r := &s.Resources[ri]
			if !r.Live() {
				continue
			}
			k := [3]string{"", "", r.Type}
			if o := t.ix.Owner(ri); o >= 0 {
				k[0], k[1] = s.Components[o].DisplayName(), s.Components[o].Type
			}
			if cur, ok := t.newest[k]; !ok || r.CreatedAt.After(s.Resources[cur].CreatedAt) {
				t.newest[k] = ri
			}
		}
	})
	if ri, ok := t.newest[[3]string{g.ComponentName, g.ComponentType, g.ResourceType}]; ok {
		return ri
	}
	return -1
}

// locationWhere is where a finding points in source: the first created_by frame
// that parses as file:line of the resource concerned (for a component or
// registry finding, of its largest live resource; for a suppression
// finding, the entry in the suppressions file).
//
// Only the frames whose file accept takes count (every frame when accept
// is nil): SARIF and GitHub annotations take repository-relative paths only
// (repoRelative).
func (t *tracer) locationWhere(f *leaks.Finding, accept func(file string) bool) (file string, line int, ok bool) {
	s := t.ix.Snap
	parse := func(fr string) (string, int, bool) {
		file, line, ok := parseFrame(fr)
		if ok {
			file = t.paths.Apply(file)
		}
		if ok && accept != nil && !accept(file) {
			return "", 0, false
		}
		return file, line, ok
	}
	if f.Entry != nil {
		if accept != nil && !accept(f.Entry.File) {
			return "", 0, false
		}
		return f.Entry.File, f.Entry.Line, true
	}
	try := func(ri int) bool {
		for _, fr := range s.Resources[ri].CreatedBy.Frames() {
			if file, line, ok = parse(fr); ok {
				return true
			}
		}
		return false
	}
	switch {
	case f.Resource >= 0:
		try(f.Resource)
		return
	case f.Rule == leaks.RuleCleanupCycle:
		for _, id := range f.Path {
			if ri, found := t.ix.ResourceIndex(id); found && try(ri) {
				return
			}
		}
		return
	case f.Growth != nil:
		if ri := t.newestOf(f.Growth); ri >= 0 {
			try(ri)
		}
		return
	}
	// A component or registry finding points at its largest live
	// resource with a frame that parses (one pass, no sort).
	best := -1
	var bestFile string
	var bestLine int
	consider := func(ri int) {
		r := &s.Resources[ri]
		if best >= 0 {
			b := &s.Resources[best]
			if !r.Live() && b.Live() || r.Live() == b.Live() && r.SizeBytes <= b.SizeBytes {
				return
			}
		}
		for _, fr := range r.CreatedBy.Frames() {
			if fl, ln, good := parse(fr); good {
				best, bestFile, bestLine = ri, fl, ln
				return
			}
		}
	}
	if f.Component >= 0 {
		for _, ri := range t.subtreeResources(f.Component) {
			consider(int(ri))
		}
	} else {
		for ri := range s.Resources {
			consider(ri)
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return bestFile, bestLine, true
}

// parseFrame reads "path/file.py:88 func" (or "file.go:12:5 func") as a
// file and a line.
func parseFrame(frame string) (file string, line int, ok bool) {
	tok, _, _ := strings.Cut(strings.TrimSpace(frame), " ")
	i := strings.LastIndexByte(tok, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(tok[i+1:])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	// With file:line:column, the number read was the column.
	if j := strings.LastIndexByte(tok[:i], ':'); j > 0 {
		if m, err := strconv.Atoi(tok[j+1 : i]); err == nil && m > 0 {
			return tok[:j], m, true
		}
	}
	return tok[:i], n, true
}

// subject names what a group is about, in one line, escaped.
func (t *tracer) subject(f *leaks.Finding) string {
	return render.Escape(t.rawSubject(f))
}

func (t *tracer) rawSubject(f *leaks.Finding) string {
	s := t.ix.Snap
	switch {
	case f.Entry != nil:
		return "suppression at " + f.Entry.Where()
	case f.Resource >= 0:
		r := &s.Resources[f.Resource]
		name := r.Type
		if r.Name != "" {
			name += " " + strconv.Quote(r.Name)
		}
		owner := r.Owner
		if f.Component >= 0 {
			owner = s.Components[f.Component].DisplayName()
		}
		return name + " of " + owner
	case f.Untracked != nil:
		return f.Untracked.Type + " " + strconv.Quote(f.Untracked.Name) + " of the process, not in the registry"
	case f.Rule == leaks.RuleCleanupCycle:
		names := make([]string, 0, len(f.Path))
		for _, id := range f.Path {
			if ri, ok := t.ix.ResourceIndex(id); ok {
				names = append(names, s.Resources[ri].DisplayName())
			}
		}
		return fmt.Sprintf("cycle of %d: %s", len(f.Path), strings.Join(names, " → "))
	case f.Growth != nil:
		owner := "missing owners"
		if f.Growth.ComponentName != "" {
			owner = f.Growth.ComponentName
		}
		return f.Growth.ResourceType + " resources of " + owner
	case f.Component >= 0:
		c := &s.Components[f.Component]
		if c.Type != "" {
			return c.DisplayName() + " (" + c.Type + ")"
		}
		return c.DisplayName()
	}
	return "the registry"
}

// appendPlain appends the lines of a trace without styles, each after a
// newline.
func (tr trace) appendPlain(b []byte) []byte {
	for d, h := range tr.hops {
		b = append(b, '\n')
		b = append(b, treePrefix(d)...)
		b = append(b, h.label...)
		if !h.elided {
			b = append(b, "  "...)
			b = append(b, h.state...)
		}
	}
	for _, n := range tr.notes {
		b = append(b, '\n')
		b = append(b, n...)
	}
	if len(tr.frames) > 0 {
		b = append(b, "\ncreated by:"...)
		for _, fr := range tr.frames {
			b = append(b, "\n  "...)
			b = append(b, fr...)
		}
	}
	return b
}

// treePrefix draws depth d of an ownership path.
func treePrefix(d int) string {
	if d == 0 {
		return ""
	}
	return strings.Repeat("   ", d-1) + "└─ "
}

// others lists the ids of a group's other findings, at most n of them,
// escaped.
func others(g *leaks.Group, n int) string {
	rest := g.Findings[1:]
	ids := make([]string, 0, min(n, len(rest)))
	for _, f := range rest[:min(n, len(rest))] {
		id := f.ResourceID
		if id == "" {
			id = f.ComponentID
		}
		if id == "" && len(f.Path) > 0 {
			id = f.Path[0]
		}
		ids = append(ids, id)
	}
	out := render.Escape(strings.Join(ids, ", "))
	if len(rest) > n {
		out += fmt.Sprintf(" and %d more", len(rest)-n)
	}
	return out
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, " → ")
}

func joinBytes(v []int64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = render.Bytes(x)
	}
	return strings.Join(parts, " → ")
}
