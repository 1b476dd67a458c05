package printer

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// GraphData is what `rescoord graph` draws: the component tree of an
// index from Root (a component's position, -1 for every root), with the
// resources (All: every one, not only the live), the order of Plan (nil
// for none) and the leak Findings marked; OnlyLeaks draws only the paths
// from the roots to the findings.
type GraphData struct {
	Index     *snapshot.Index
	Root      int
	All       bool
	Plan      *planner.Plan
	Findings  []leaks.Finding
	OnlyLeaks bool
}

func (*GraphData) kind() Kind { return Graph }

func graphPrinter(format string) printFunc {
	return func(w io.Writer, d Data) error {
		gd := d.(*GraphData)
		g := buildGraph(gd.Index, gd.Root, gd.All, gd.Plan, gd.Findings, gd.OnlyLeaks)
		bw := bufio.NewWriter(w)
		if format == "mermaid" {
			writeMermaid(bw, g)
		} else {
			writeDOT(bw, g)
		}
		return bw.Flush()
	}
}

// Node looks.
const (
	gnComponent = iota
	gnResource
	gnMissing
)

type graphNode struct {
	id    string   // c12, r40, m3: safe in both languages
	shape int      // gnComponent, gnResource or gnMissing
	lines []string // label lines, unescaped
	dead  bool     // destroyed or released
	cycle bool
	leak  int // a leakKind: the strongest finding on the node
}

// Leak kinds, weakest first: a node drawn under two takes the stronger.
const (
	leakNone = iota
	leakOverLimit
	leakOrphan
	leakRunningOrphan
)

// leakLooks are the leak kinds as drawn: their legend and colours, by kind.
var leakLooks = [...]struct{ legend, class, fill string }{
	leakOverLimit:     {"over its limit (subtree)", "overLimit", "#d9b3ff"},
	leakOrphan:        {"orphan", "orphan", "#ffd27f"},
	leakRunningOrphan: {"running orphan", "runningOrphan", "#ff9b9b"},
}

// leakMarks returns the leak kind of each component and resource from the
// findings: running orphans and orphans on their resource or component,
// a component over its limit on its whole subtree and the resources in it.
func leakMarks(ix *snapshot.Index, findings []leaks.Finding) (comp, res []int) {
	s := ix.Snap
	comp, res = make([]int, len(s.Components)), make([]int, len(s.Resources))
	mark := func(to []int, i, kind int) {
		if i >= 0 && i < len(to) && to[i] < kind {
			to[i] = kind
		}
	}
	for _, f := range findings {
		switch f.Rule {
		case leaks.RuleRunningOrphan, leaks.RuleRunningUnderOrphan:
			mark(res, f.Resource, leakRunningOrphan)
		case leaks.RuleOrphanedResource:
			mark(res, f.Resource, leakOrphan)
		case leaks.RuleOrphanedComponent:
			mark(comp, f.Component, leakOrphan)
		case leaks.RuleOverComponentLimit:
			if f.Component < 0 {
				continue
			}
			for ci := range s.Components {
				if ix.InSubtree(ci, f.Component) {
					mark(comp, ci, leakOverLimit)
				}
			}
			for ri := range s.Resources {
				if o := ix.Owner(ri); o >= 0 && ix.InSubtree(o, f.Component) {
					mark(res, ri, leakOverLimit)
				}
			}
		}
	}
	return comp, res
}

// leakPaths returns which components and resources lie on the path from a
// root to a finding's resource or component (graph --leaks).
func leakPaths(ix *snapshot.Index, findings []leaks.Finding) (comp, res []bool) {
	s := ix.Snap
	comp, res = make([]bool, len(s.Components)), make([]bool, len(s.Resources))
	up := func(ci int) {
		for ; ci >= 0 && !comp[ci]; ci = ix.Parent(ci) {
			comp[ci] = true
		}
	}
	for _, f := range findings {
		if f.Resource >= 0 && f.Resource < len(res) {
			res[f.Resource] = true
			up(ix.Owner(f.Resource))
		}
		if f.Component >= 0 && f.Component < len(comp) {
			up(f.Component)
		}
	}
	return comp, res
}

type graphEdge struct {
	from, to  int // node positions
	dependsOn bool
	cycle     bool
}

type graph struct {
	nodes []graphNode
	edges []graphEdge
}

// buildGraph lays out what is drawn, in snapshot order: components, the
// placeholders for missing owners and parents, resources; then ownership
// edges and depends_on edges.
// With onlyLeaks, only the paths from the roots to the findings are drawn.
func buildGraph(ix *snapshot.Index, root int, all bool, plan *planner.Plan, findings []leaks.Finding, onlyLeaks bool) *graph {
	s := ix.Snap
	g := &graph{}
	compLeak, resLeak := leakMarks(ix, findings)
	var compKeep, resKeep []bool
	if onlyLeaks {
		compKeep, resKeep = leakPaths(ix, findings)
	}
	compNode := make([]int, len(s.Components))
	resNode := make([]int, len(s.Resources))
	for i := range compNode {
		compNode[i] = -1
	}
	for i := range resNode {
		resNode[i] = -1
	}
	var compStep, resStep []int
	cbSteps := map[int][]int{} // component position -> its callbacks' orders
	if plan != nil {
		compStep = make([]int, len(s.Components))
		resStep = make([]int, len(s.Resources))
		for i := range plan.Steps {
			st := &plan.Steps[i]
			switch st.Kind {
			case planner.KindComponent:
				compStep[st.Index] = st.Order
			case planner.KindResource:
				resStep[st.Index] = st.Order
			case planner.KindCallback:
				if ci, ok := ix.ComponentIndex(st.Component); ok {
					cbSteps[ci] = append(cbSteps[ci], st.Order)
				}
			}
		}
	}
	stepPrefix := func(order int) string {
		if order == 0 {
			return ""
		}
		return "#" + strconv.Itoa(order) + " "
	}
	in := func(ci int) bool { return root < 0 || ix.InSubtree(ci, root) }

	for ci := range s.Components {
		if !in(ci) || onlyLeaks && !compKeep[ci] {
			continue
		}
		c := &s.Components[ci]
		n := graphNode{id: "c" + strconv.Itoa(ci), shape: gnComponent, dead: !c.Alive(), leak: compLeak[ci]}
		first := c.DisplayName()
		if plan != nil {
			first = stepPrefix(compStep[ci]) + first
		}
		n.lines = append(n.lines, first, idAndType(c.ID, c.Name, c.Type))
		if !c.Alive() {
			n.lines = append(n.lines, "destroyed")
		}
		if cbs := cbSteps[ci]; len(cbs) > 0 {
			var b strings.Builder
			b.WriteString(human.Plural(len(cbs), "callback", "callbacks"))
			for _, o := range cbs {
				b.WriteString(" #" + strconv.Itoa(o))
			}
			n.lines = append(n.lines, b.String())
		}
		compNode[ci] = len(g.nodes)
		g.nodes = append(g.nodes, n)
	}

	missing := map[string]int{} // missing id -> node
	placeholder := func(id string) int {
		if k, ok := missing[id]; ok {
			return k
		}
		k := len(g.nodes)
		missing[id] = k
		g.nodes = append(g.nodes, graphNode{id: "m" + strconv.Itoa(len(missing)-1), shape: gnMissing, lines: []string{id, "not in snapshot"}, dead: true})
		return k
	}
	type link struct{ from, to int }
	var owns []link
	for ci := range s.Components {
		if compNode[ci] < 0 {
			continue
		}
		c := &s.Components[ci]
		switch p := ix.Parent(ci); {
		case ci == root:
		case p >= 0:
			owns = append(owns, link{compNode[p], compNode[ci]})
		case c.Parent != "" && root < 0:
			owns = append(owns, link{placeholder(c.Parent), compNode[ci]})
		}
	}
	for ri := range s.Resources {
		r := &s.Resources[ri]
		if !r.Live() && !all || onlyLeaks && !resKeep[ri] {
			continue
		}
		o := ix.Owner(ri)
		if o >= 0 && !in(o) || o < 0 && root >= 0 {
			continue
		}
		owner := -1
		if o >= 0 {
			owner = compNode[o]
		} else {
			owner = placeholder(r.Owner)
		}
		n := graphNode{id: "r" + strconv.Itoa(ri), shape: gnResource, dead: !r.Live(), leak: resLeak[ri]}
		first := r.DisplayName()
		if plan != nil {
			first = stepPrefix(resStep[ri]) + first
		}
		n.lines = append(n.lines, first, idAndType(r.ID, r.Name, r.Type))
		if r.State != snapshot.StateActive {
			n.lines = append(n.lines, r.State.String())
		}
		resNode[ri] = len(g.nodes)
		g.nodes = append(g.nodes, n)
		owns = append(owns, link{owner, resNode[ri]})
	}
	for _, l := range owns {
		g.edges = append(g.edges, graphEdge{from: l.from, to: l.to})
	}

	// Cycles among live resources: their members and edges in red.
	cycleEdge := map[link]bool{}
	for _, cyc := range planner.DependencyCycles(ix) {
		for k, ri := range cyc {
			next := cyc[(k+1)%len(cyc)]
			if resNode[ri] >= 0 {
				g.nodes[resNode[ri]].cycle = true
			}
			cycleEdge[link{ri, next}] = true
		}
	}
	for ri := range s.Resources {
		a := resNode[ri]
		if a < 0 {
			continue
		}
		deps := s.Resources[ri].DependsOn
		for k, dep := range deps {
			rj, ok := ix.ResourceIndex(dep)
			if !ok || resNode[rj] < 0 || containsString(deps[:k], dep) {
				continue
			}
			g.edges = append(g.edges, graphEdge{from: a, to: resNode[rj], dependsOn: true, cycle: cycleEdge[link{ri, rj}]})
		}
	}
	return g
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// idAndType is the second label line: the id when the name is shown above
// it, and the type.
func idAndType(id, name, typ string) string {
	parts := make([]string, 0, 2)
	if name != "" && name != id {
		parts = append(parts, id)
	}
	if typ != "" {
		parts = append(parts, typ)
	}
	return strings.Join(parts, " · ")
}

// dotEscape makes s safe inside a DOT double-quoted string: control
// characters shown escaped (render.Escape: a newline is drawn as \n, never
// breaks the label), then backslashes and quotes escaped.
func dotEscape(s string) string {
	s = render.Escape(s)
	if !strings.ContainsAny(s, "\\\"") {
		return s
	}
	return dotEscaper.Replace(s)
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func dotLabel(lines []string) string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if l != "" {
			out = append(out, dotEscape(l))
		}
	}
	return `"` + strings.Join(out, `\n`) + `"`
}

// dotAttrs is a DOT attribute list in the order the attributes were
// first set; setting one again replaces its value, so that no attribute is
// written twice (Graphviz keeps the last, other readers refuse it).
type dotAttrs []struct{ key, value string }

func (a *dotAttrs) set(key, value string) {
	for i := range *a {
		if (*a)[i].key == key {
			(*a)[i].value = value
			return
		}
	}
	*a = append(*a, struct{ key, value string }{key, value})
}

func (a dotAttrs) String() string {
	parts := make([]string, len(a))
	for i, kv := range a {
		parts[i] = kv.key + "=" + kv.value
	}
	return strings.Join(parts, ", ")
}

// leakKinds lists the leak kinds drawn, strongest first: the legend.
func (g *graph) leakKinds() []int {
	var seen [len(leakLooks)]bool
	for _, n := range g.nodes {
		seen[n.leak] = true
	}
	var out []int
	for k := len(leakLooks) - 1; k > leakNone; k-- {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}

func writeDOT(w *bufio.Writer, g *graph) {
	w.WriteString("digraph rescoord {\n")
	w.WriteString("  rankdir=LR;\n")
	w.WriteString("  node [fontname=\"Helvetica\", fontsize=10];\n")
	w.WriteString("  edge [color=\"gray30\"];\n")
	for _, n := range g.nodes {
		var attrs dotAttrs
		attrs.set("label", dotLabel(n.lines))
		switch n.shape {
		case gnComponent:
			attrs.set("shape", "ellipse")
		case gnResource:
			attrs.set("shape", "box")
		default:
			attrs.set("shape", "ellipse")
			attrs.set("style", "dotted")
		}
		if n.dead && n.shape != gnMissing {
			attrs.set("style", "dashed")
		}
		switch {
		case n.cycle:
			attrs.set("color", `"red"`)
			attrs.set("fontcolor", `"red"`)
			attrs.set("penwidth", "2")
		case n.dead:
			attrs.set("color", `"gray50"`)
			attrs.set("fontcolor", `"gray50"`)
		}
		if n.leak != leakNone {
			style := "filled"
			if n.shape == gnMissing {
				style = "dotted,filled"
			} else if n.dead {
				style = "dashed,filled"
			}
			attrs.set("style", `"`+style+`"`)
			attrs.set("fillcolor", `"`+leakLooks[n.leak].fill+`"`)
		}
		fmt.Fprintf(w, "  %s [%s];\n", n.id, attrs)
	}
	if kinds := g.leakKinds(); len(kinds) > 0 {
		w.WriteString("  subgraph cluster_legend {\n    label=\"leaks\";\n    fontname=\"Helvetica\";\n    fontsize=10;\n")
		for _, k := range kinds {
			fmt.Fprintf(w, "    legend%d [label=%q, shape=box, style=\"filled\", fillcolor=%q];\n", k, leakLooks[k].legend, leakLooks[k].fill)
		}
		w.WriteString("  }\n")
	}
	for _, e := range g.edges {
		var attrs dotAttrs
		if e.dependsOn {
			attrs.set("style", "dashed")
			attrs.set("color", `"steelblue"`)
		}
		if e.cycle {
			// The cycle's red replaces the colour of a depends_on edge.
			attrs.set("color", `"red"`)
			attrs.set("penwidth", "2")
		}
		fmt.Fprintf(w, "  %s -> %s", g.nodes[e.from].id, g.nodes[e.to].id)
		if len(attrs) > 0 {
			fmt.Fprintf(w, " [%s]", attrs)
		}
		w.WriteString(";\n")
	}
	w.WriteString("}\n")
}

// mermaidEscape writes s for a double-quoted Mermaid label: control
// characters shown escaped (render.Escape), then the characters Mermaid or
// HTML would read specially as #code; entities.
func mermaidEscape(s string) string {
	return escapeSpecial(s, "\"#<>&`", func(b *strings.Builder, r rune) {
		b.WriteString("#" + strconv.Itoa(int(r)) + ";")
	})
}

func writeMermaid(w *bufio.Writer, g *graph) {
	w.WriteString("flowchart LR\n")
	var dead, missing, cycle []string
	var leaky [len(leakLooks)][]string
	for _, n := range g.nodes {
		if n.leak != leakNone {
			leaky[n.leak] = append(leaky[n.leak], n.id)
		}
		lines := make([]string, 0, len(n.lines))
		for _, l := range n.lines {
			if l != "" {
				lines = append(lines, mermaidEscape(l))
			}
		}
		label := `"` + strings.Join(lines, "<br/>") + `"`
		switch n.shape {
		case gnComponent:
			fmt.Fprintf(w, "  %s(%s)\n", n.id, label)
		case gnResource:
			fmt.Fprintf(w, "  %s[%s]\n", n.id, label)
		default:
			fmt.Fprintf(w, "  %s([%s])\n", n.id, label)
		}
		switch {
		case n.cycle:
			cycle = append(cycle, n.id)
		case n.shape == gnMissing:
			missing = append(missing, n.id)
		case n.dead:
			dead = append(dead, n.id)
		}
	}
	var depLinks, cycleLinks []string
	for k, e := range g.edges {
		arrow := "-->"
		if e.dependsOn {
			arrow = "-.->"
		}
		switch {
		case e.cycle:
			cycleLinks = append(cycleLinks, strconv.Itoa(k))
		case e.dependsOn:
			depLinks = append(depLinks, strconv.Itoa(k))
		}
		fmt.Fprintf(w, "  %s %s %s\n", g.nodes[e.from].id, arrow, g.nodes[e.to].id)
	}
	w.WriteString("  classDef dead stroke-dasharray:5 5,stroke:#888,color:#888\n")
	w.WriteString("  classDef missing stroke-dasharray:2 2,stroke:#888,color:#888\n")
	w.WriteString("  classDef cycle stroke:#d00,stroke-width:2px,color:#d00\n")
	for _, c := range []struct {
		name string
		ids  []string
	}{{"dead", dead}, {"missing", missing}, {"cycle", cycle}} {
		if len(c.ids) > 0 {
			fmt.Fprintf(w, "  class %s %s\n", strings.Join(c.ids, ","), c.name)
		}
	}
	if kinds := g.leakKinds(); len(kinds) > 0 {
		w.WriteString("  subgraph legend[\"leaks\"]\n")
		for _, k := range kinds {
			fmt.Fprintf(w, "    legend%d[\"%s\"]\n", k, leakLooks[k].legend)
		}
		w.WriteString("  end\n")
		for _, k := range kinds {
			fmt.Fprintf(w, "  classDef %s fill:%s\n", leakLooks[k].class, leakLooks[k].fill)
			fmt.Fprintf(w, "  class %s %s\n", strings.Join(append(leaky[k], "legend"+strconv.Itoa(k)), ","), leakLooks[k].class)
		}
	}
	if len(depLinks) > 0 {
		fmt.Fprintf(w, "  linkStyle %s stroke:steelblue\n", strings.Join(depLinks, ","))
	}
	if len(cycleLinks) > 0 {
		fmt.Fprintf(w, "  linkStyle %s stroke:#d00,stroke-width:2px\n", strings.Join(cycleLinks, ","))
	}
}
