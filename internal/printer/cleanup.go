package printer

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/jsonw"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// CleanupData is what `rescoord cleanup --dry-run` prints: a plan with
// what its printers need to describe it.
type CleanupData struct {
	Plan  *planner.Plan
	Index *snapshot.Index
	Scope string // "" for the whole registry
	// Verdict is what --deadline and --baseline found, or nil.
	Verdict *Verdict
	// Input names the snapshot, for the JUnit suite.
	Input string
	// CriticalChain prints only the heaviest chain of steps (text only).
	CriticalChain bool
}

func (*CleanupData) kind() Kind { return Cleanup }

func cleanupPrinter(format string, st *render.Styles) printFunc {
	var pr interface {
		Print(w io.Writer, v *CleanupData) error
	}
	switch format {
	case "json":
		pr = planJSONPrinter{}
	case "markdown":
		pr = planMarkdownPrinter{}
	case "junit":
		pr = planJUnitPrinter{}
	default:
		pr = planTextPrinter{styles: st, wide: format == "wide"}
	}
	return func(w io.Writer, d Data) error {
		v := d.(*CleanupData)
		if v.CriticalChain {
			if _, ok := pr.(planTextPrinter); !ok {
				return fmt.Errorf("the critical chain is text, not %s", format)
			}
			return printCriticalChain(w, st, v)
		}
		return pr.Print(w, v)
	}
}

func (v *CleanupData) scopeLabel() string {
	if v.Scope == "" {
		return "the whole registry"
	}
	return render.Escape(v.Scope) + " and its subtree"
}

// target names what a step acts on: "analysis-worker (r-1042)", escaped.
func (v *CleanupData) target(st *planner.Step) string { return stepTarget(st) }

// stepTarget names what a step acts on, escaped: "analysis-worker (r-1042)".
func stepTarget(st *planner.Step) string {
	if st.Name == "" || st.Name == st.ID {
		return render.Escape(st.ID)
	}
	return render.Escape(st.Name) + " (" + render.Escape(st.ID) + ")"
}

// owner is the component a step belongs to, noting a destroyed or missing
// one; for a component step, its parent.
func (v *CleanupData) owner(st *planner.Step) (id, note string) {
	ix := v.Index
	switch st.Kind {
	case planner.KindResource:
		o := ix.Owner(st.Index)
		if o < 0 {
			return st.Component, "missing"
		}
		if !ix.Snap.Components[o].Alive() {
			return st.Component, "destroyed"
		}
		return st.Component, ""
	case planner.KindComponent:
		c := &ix.Snap.Components[st.Index]
		switch p := ix.Parent(st.Index); {
		case p >= 0:
			return c.Parent, ""
		case c.Parent != "":
			return c.Parent, "missing"
		}
		return "-", ""
	}
	return st.Component, ""
}

func timeoutCell(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return render.Millis(ms)
}

func summaryLine(s planner.Summary) string {
	return fmt.Sprintf("%d %s, worst case %s, critical path %s",
		s.Steps, human.Plural(s.Steps, "step", "steps"), render.Millis(s.WorstCaseMS), render.Millis(s.CriticalPathMS))
}

// planTextPrinter prints the plan as a table. On a terminal (styles.Width
// set) and unless wide, the table fits the width: no OWNER column, and the
// target, actions and reason truncated; a pipe or a file gets every column
// whole (README, "Tables on a terminal").
type planTextPrinter struct {
	styles *render.Styles
	wide   bool
}

func (p planTextPrinter) Print(w io.Writer, v *CleanupData) error {
	st := p.styles
	narrow := st.Width > 0 && !p.wide
	if p.wide {
		st = st.Unfitted()
	}
	fmt.Fprintf(w, "%s\n", st.Title.Render("Cleanup plan for "+v.scopeLabel()))
	if len(v.Plan.Steps) == 0 {
		fmt.Fprintln(w, "nothing to clean up")
	} else {
		rows := make([][]string, len(v.Plan.Steps))
		for i := range v.Plan.Steps {
			s := &v.Plan.Steps[i]
			owner, note := v.owner(s)
			owner = render.Escape(owner)
			switch note {
			case "missing":
				owner += " " + st.Error.Render("(missing)")
			case "destroyed":
				owner += " " + st.Warning.Render("(destroyed)")
			}
			target := st.ID.Render(render.Escape(s.ID))
			if s.Name != "" && s.Name != s.ID {
				target = st.Bold.Render(render.Escape(s.Name)) + " (" + target + ")"
			}
			rows[i] = []string{strconv.Itoa(s.Order), string(s.Kind), target, owner,
				render.Escape(strings.Join(s.Actions, " → ")), timeoutCell(s.TimeoutMS), st.Dim.Render(render.Escape(s.Reason))}
			if narrow {
				rows[i] = slices.Delete(rows[i], 3, 4)
			}
		}
		header := []string{"#", "KIND", "TARGET", "OWNER", "ACTIONS", "TIMEOUT", "REASON"}
		if narrow {
			header = slices.Delete(header, 3, 4)
		}
		if err := render.FitTable(w, st, header, rows, "TARGET", "OWNER", "ACTIONS", "REASON"); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", st.Bold.Render(summaryLine(v.Plan.Summary)))
	printVerdictText(w, st, v.Verdict)
	return err
}

type planMarkdownPrinter struct{}

func (planMarkdownPrinter) Print(w io.Writer, v *CleanupData) error {
	label := "the whole registry"
	if v.Scope != "" {
		label = mdCode(v.Scope) + " and its subtree"
	}
	fmt.Fprintf(w, "### Cleanup plan for %s\n\n", label)
	if len(v.Plan.Steps) > 0 {
		rows := make([][]string, len(v.Plan.Steps))
		for i := range v.Plan.Steps {
			s := &v.Plan.Steps[i]
			target := mdCode(s.ID)
			if s.Name != "" && s.Name != s.ID {
				target = mdEscape(s.Name) + " (" + target + ")"
			}
			owner, note := v.owner(s)
			if owner != "-" {
				owner = mdCode(owner)
			}
			if note != "" {
				owner += " (" + note + ")"
			}
			rows[i] = []string{strconv.Itoa(s.Order), string(s.Kind), target, owner,
				mdEscape(strings.Join(s.Actions, " → ")), timeoutCell(s.TimeoutMS), mdEscape(s.Reason)}
		}
		if err := render.Markdown(w, []string{"#", "Kind", "Target", "Owner", "Actions", "Timeout", "Reason"}, rows); err != nil {
			return err
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprint(w, "Nothing to clean up.\n\n")
	}
	s := v.Plan.Summary
	fmt.Fprintf(w, "**%d %s**, worst case %s, critical path %s.\n", s.Steps, human.Plural(s.Steps, "step", "steps"), render.Millis(s.WorstCaseMS), render.Millis(s.CriticalPathMS))
	for _, warn := range v.Plan.Warnings {
		fmt.Fprintf(w, "\n> **Warning:** %s\n", mdEscape(warn))
	}
	printVerdictMarkdown(w, v.Verdict)
	return nil
}

// mdEscape escapes control characters (render.Escape) and the characters
// Markdown would read as formatting.
func mdEscape(s string) string {
	return escapeSpecial(s, "\\`*_[]<>|#~", func(b *strings.Builder, r rune) {
		b.WriteByte('\\')
		b.WriteRune(r)
	})
}

// escapeSpecial escapes the control characters of s (render.Escape), then
// writes each rune of special through esc.
func escapeSpecial(s, special string, esc func(b *strings.Builder, r rune)) string {
	s = render.Escape(s)
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			esc(&b, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes s as a Markdown code span, its control characters escaped
// (render.Escape).
func mdCode(s string) string {
	s = render.Escape(s)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// printCriticalChain prints the heaviest chain of steps, like
// systemd-analyze critical-chain: when each step starts if independent
// steps ran at once ("@") and how long it may take ("+").
func printCriticalChain(w io.Writer, st *render.Styles, v *CleanupData) error {
	p := v.Plan
	fmt.Fprintf(w, "%s\n", st.Title.Render("Critical chain of the cleanup plan for "+v.scopeLabel()))
	fmt.Fprintln(w, `The time a step starts is printed after "@", the time it may take after "+".`)
	fmt.Fprintln(w)
	if len(p.CriticalPath) == 0 {
		fmt.Fprintln(w, "nothing to clean up")
	}
	width := len(strconv.Itoa(len(p.Steps))) + 1
	var at int64
	for _, o := range p.CriticalPath {
		s := &p.Steps[o-1]
		line := fmt.Sprintf("%-*s %-9s %s %s", width, "#"+strconv.Itoa(o), s.Kind, v.target(s), st.Dim.Render("@"+render.Millis(at)))
		if s.TimeoutMS > 0 {
			line += " " + st.Warning.Render("+"+render.Millis(s.TimeoutMS))
		}
		fmt.Fprintln(w, line)
		at += s.TimeoutMS
	}
	fmt.Fprintln(w)
	_, err := fmt.Fprintf(w, "%s\n", st.Bold.Render(fmt.Sprintf("critical path %s over %d %s (worst case %s)",
		render.Millis(p.Summary.CriticalPathMS), len(p.CriticalPath), human.Plural(len(p.CriticalPath), "step", "steps"), render.Millis(p.Summary.WorstCaseMS))))
	printVerdictText(w, st, v.Verdict)
	return err
}

// planJSONPrinter writes the JSON of docs/cleanup-ordering.md, byte for byte what encoding/json
// writes with two-space indentation (a test holds it to that), but
// without reflection: a plan can have millions of steps. The steps are
// formatted in blocks, on every core for a large plan, and written in order.
type planJSONPrinter struct{}

func (planJSONPrinter) Print(w io.Writer, v *CleanupData) error {
	p := v.Plan
	if _, err := io.WriteString(w, "{\n  \"steps\": ["); err != nil {
		return err
	}
	if err := writeStepBlocks(w, p); err != nil {
		return err
	}
	b := make([]byte, 0, 1024)
	if p.Len() > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, "],\n  \"summary\": {\n    \"steps\": "...)
	b = strconv.AppendInt(b, int64(p.Summary.Steps), 10)
	b = append(b, ",\n    \"worst_case_ms\": "...)
	b = strconv.AppendInt(b, p.Summary.WorstCaseMS, 10)
	b = append(b, ",\n    \"critical_path_ms\": "...)
	b = strconv.AppendInt(b, p.Summary.CriticalPathMS, 10)
	b = append(b, "\n  }"...)
	if len(p.Warnings) > 0 {
		b = append(b, ",\n  \"warnings\": ["...)
		for k, warn := range p.Warnings {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    "...)
			b = jsonw.AppendString(b, warn)
		}
		b = append(b, "\n  ]"...)
	}
	b = appendVerdictJSON(b, v.Verdict)
	b = append(b, "\n}\n"...)
	_, err := w.Write(b)
	return err
}

// jsonBlockSteps is how many steps make one block of JSON (about 300 KB).
const jsonBlockSteps = 1024

// writeStepBlocks writes the JSON of the plan's steps, block by block,
// each block's steps filled (made, for a lazy plan) by a StepFiller into
// a buffer that is used again for the next. With more than one core,
// worker w fills and formats blocks w, w+workers, w+2×workers…, each
// while the ones before it are written; at most three blocks per worker
// are in memory at a time.
func writeStepBlocks(w io.Writer, p *planner.Plan) error {
	n := p.Len()
	blocks := (n + jsonBlockSteps - 1) / jsonBlockSteps
	format := func(b []byte, fl *planner.StepFiller, steps []planner.Step, k int) []byte {
		lo := k * jsonBlockSteps
		steps = steps[:min(jsonBlockSteps, n-lo)]
		fl.Fill(steps, lo)
		return appendStepBlock(b, steps, lo)
	}
	workers := min(runtime.GOMAXPROCS(0), 8, blocks/4)
	if workers < 2 {
		b := make([]byte, 0, 64<<10)
		fl, steps := p.Filler(), make([]planner.Step, jsonBlockSteps)
		for k := range blocks {
			b = format(b[:0], fl, steps, k)
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]chan []byte, workers)  // block k comes from out[k%workers]
	free := make([]chan []byte, workers) // and its buffer goes back to free[k%workers]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for wk := range workers {
		out[wk] = make(chan []byte, 1)
		free[wk] = make(chan []byte, 3)
		wg.Go(func() {
			fl, steps := p.Filler(), make([]planner.Step, jsonBlockSteps)
			for k := wk; k < blocks; k += workers {
				var b []byte
				select {
				case b = <-free[wk]:
				default:
					b = make([]byte, 0, 320*jsonBlockSteps)
				}
				b = format(b[:0], fl, steps, k)
				select {
				case out[wk] <- b:
				case <-stop:
					return
				}
			}
		})
	}
	var err error
	for k := range blocks {
		b := <-out[k%workers]
		if _, err = w.Write(b); err != nil {
			break
		}
		select {
		case free[k%workers] <- b:
		default:
		}
	}
	close(stop)
	wg.Wait()
	return err
}

// appendStepBlock appends the JSON of steps, which start at plan position lo.
func appendStepBlock(b []byte, steps []planner.Step, lo int) []byte {
	var actions actionsJSON
	for i := range steps {
		s := &steps[i]
		if lo+i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    {\n      \"order\": "...)
		b = strconv.AppendInt(b, int64(s.Order), 10)
		switch s.Kind {
		case planner.KindResource:
			b = append(b, ",\n      \"kind\": \"resource\",\n      \"id\": "...)
		case planner.KindComponent:
			b = append(b, ",\n      \"kind\": \"component\",\n      \"id\": "...)
		case planner.KindCallback:
			b = append(b, ",\n      \"kind\": \"callback\",\n      \"id\": "...)
		default:
			b = append(b, ",\n      \"kind\": "...)
			b = jsonw.AppendString(b, string(s.Kind))
			b = append(b, ",\n      \"id\": "...)
		}
		b = jsonw.AppendString(b, s.ID)
		b = append(b, ",\n      \"component\": "...)
		b = jsonw.AppendString(b, s.Component)
		if s.Type != "" {
			b = append(b, ",\n      \"type\": "...)
			b = jsonw.AppendString(b, s.Type)
		}
		b = actions.appendJSON(b, s.Actions)
		b = append(b, ",\n      \"timeout_ms\": "...)
		b = strconv.AppendInt(b, s.TimeoutMS, 10)
		b = append(b, ",\n      \"reason\": "...)
		b = jsonw.AppendString(b, s.Reason)
		b = append(b, "\n    }"...)
	}
	return b
}

// actionsJSON writes the "actions" of steps, keeping the JSON of the
// last few lists it wrote: steps share their action lists (see
// planner.Step), and a list is known by its first element's address.
type actionsJSON struct {
	lists [8]struct {
		first *string
		n     int
		json  []byte
	}
	next int
}

func (c *actionsJSON) appendJSON(b []byte, actions []string) []byte {
	if len(actions) == 0 {
		return append(b, ",\n      \"actions\": []"...)
	}
	for i := range c.lists {
		if l := &c.lists[i]; l.first == &actions[0] && l.n == len(actions) {
			return append(b, l.json...)
		}
	}
	from := len(b)
	b = append(b, ",\n      \"actions\": ["...)
	for k, a := range actions {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = jsonw.AppendString(b, a)
	}
	b = append(b, "\n      ]"...)
	l := &c.lists[c.next%len(c.lists)]
	l.first, l.n, l.json = &actions[0], len(actions), append(l.json[:0], b[from:]...)
	c.next++
	return b
}

// shownChainSteps is how many steps of a chain the text, Markdown and
// JUnit verdicts name; JSON lists up to MaxJSONChainSteps.
const shownChainSteps = 10

// MaxJSONChainSteps is how many steps of the deadline's chain a Verdict
// holds (Verdict.Chain), for the JSON.
const MaxJSONChainSteps = 1000

// Verdict is what --deadline and --baseline found, for the printers.
type Verdict struct {
	Deadline   *planner.DeadlineVerdict
	Chain      []planner.Step // the first steps of Deadline.Chain, filled
	Regression *planner.ShutdownRegression
	Baseline   string
}

// Failed reports whether the verdict fails the command (exit 1).
func (v *Verdict) Failed() bool {
	return v != nil && (v.Deadline != nil && v.Deadline.Late || v.Regression != nil && len(v.Regression.Regressed) > 0)
}

// measureLabel names what the deadline is held to.
func measureLabel(dv *planner.DeadlineVerdict) string {
	if dv.Measure == "worst_case" {
		return "worst case, every step one after another"
	}
	return "critical path, independent steps at once"
}

// chainLines describes the chain that makes the plan take its time: each
// step, when it starts on the critical path ("@"), and how long it may take.
func chainLines(v *Verdict) []string {
	dv := v.Deadline
	var lines []string
	var at int64
	for i, s := range v.Chain {
		if i == shownChainSteps {
			break
		}
		line := fmt.Sprintf("#%d %s %s", s.Order, s.Kind, stepTarget(&s))
		if dv.Measure == "critical_path" {
			line += " @" + render.Millis(at)
		}
		if s.TimeoutMS > 0 {
			line += " +" + render.Millis(s.TimeoutMS)
		}
		at += s.TimeoutMS
		lines = append(lines, line)
	}
	if rest := len(dv.Chain) - min(len(v.Chain), shownChainSteps); rest > 0 {
		what := "steps"
		if dv.Measure == "worst_case" {
			what = "steps that take time"
		}
		lines = append(lines, fmt.Sprintf("… and %d more %s", rest, what))
	}
	return lines
}

// deadlineHeadline is the verdict on the deadline in one sentence.
func deadlineHeadline(dv *planner.DeadlineVerdict) string {
	head := fmt.Sprintf("deadline %s (%s): ", render.Millis(dv.DeadlineMS), measureLabel(dv))
	if dv.Late {
		return head + fmt.Sprintf("LATE by %s: the cleanup may take %s", render.Millis(dv.LateByMS), render.Millis(dv.ShutdownMS))
	}
	return head + fmt.Sprintf("on time: the cleanup may take %s, %s to spare", render.Millis(dv.ShutdownMS), render.Millis(dv.MarginMS))
}

// regressionHeadline is the comparison with the baseline in one sentence.
func regressionHeadline(v *Verdict) string {
	r := v.Regression
	s := fmt.Sprintf("against %s: critical path %s → %s (%s), worst case %s → %s (%s): ",
		render.Escape(v.Baseline),
		render.Millis(r.Old.CriticalPathMS), render.Millis(r.New.CriticalPathMS), pctLabel(r.CriticalPathPct),
		render.Millis(r.Old.WorstCaseMS), render.Millis(r.New.WorstCaseMS), pctLabel(r.WorstCasePct))
	if len(r.Regressed) == 0 {
		return s + fmt.Sprintf("within %s", pctLabel(r.MaxPct)[1:])
	}
	names := make([]string, len(r.Regressed))
	for i, n := range r.Regressed {
		names[i] = strings.ReplaceAll(n, "_", " ")
	}
	return s + fmt.Sprintf("REGRESSION beyond %s (%s)", pctLabel(r.MaxPct)[1:], strings.Join(names, ", "))
}

func pctLabel(p float64) string {
	if math.IsInf(p, 1) {
		return "+∞%"
	}
	return fmt.Sprintf("%+.1f%%", p)
}

// printVerdictText writes the verdict after a text plan or critical chain.
func printVerdictText(w io.Writer, st *render.Styles, v *Verdict) {
	if v == nil {
		return
	}
	fmt.Fprintln(w)
	if dv := v.Deadline; dv != nil {
		style := st.OK
		if dv.Late {
			style = st.Error
		}
		fmt.Fprintln(w, style.Render(deadlineHeadline(dv)))
		if dv.Late {
			for _, l := range chainLines(v) {
				fmt.Fprintln(w, "  "+l)
			}
		}
	}
	if v.Regression != nil {
		style := st.OK
		if len(v.Regression.Regressed) > 0 {
			style = st.Error
		}
		fmt.Fprintln(w, style.Render(regressionHeadline(v)))
	}
}

// printVerdictMarkdown writes the verdict after a Markdown plan.
func printVerdictMarkdown(w io.Writer, v *Verdict) {
	if v == nil {
		return
	}
	if dv := v.Deadline; dv != nil {
		mark := "✅"
		if dv.Late {
			mark = "❌"
		}
		fmt.Fprintf(w, "\n%s **%s**\n", mark, mdEscape(deadlineHeadline(dv)))
		if dv.Late {
			fmt.Fprintln(w)
			for _, l := range chainLines(v) {
				fmt.Fprintf(w, "- %s\n", mdEscape(l))
			}
		}
	}
	if r := v.Regression; r != nil {
		mark := "✅"
		if len(r.Regressed) > 0 {
			mark = "❌"
		}
		fmt.Fprintf(w, "\n%s **%s**\n", mark, mdEscape(regressionHeadline(v)))
	}
}

// appendVerdictJSON appends the "deadline" and "regression" members of
// the plan's JSON (docs/cleanup-ordering.md shows them).
func appendVerdictJSON(b []byte, v *Verdict) []byte {
	if v == nil {
		return b
	}
	if dv := v.Deadline; dv != nil {
		b = append(b, ",\n  \"deadline\": {\n    \"deadline_ms\": "...)
		b = strconv.AppendInt(b, dv.DeadlineMS, 10)
		b = append(b, ",\n    \"measure\": "...)
		b = jsonw.AppendString(b, dv.Measure)
		b = append(b, ",\n    \"shutdown_ms\": "...)
		b = strconv.AppendInt(b, dv.ShutdownMS, 10)
		b = append(b, ",\n    \"late\": "...)
		b = strconv.AppendBool(b, dv.Late)
		b = append(b, ",\n    \"late_by_ms\": "...)
		b = strconv.AppendInt(b, dv.LateByMS, 10)
		b = append(b, ",\n    \"margin_ms\": "...)
		b = strconv.AppendInt(b, dv.MarginMS, 10)
		b = append(b, ",\n    \"chain_steps\": "...)
		b = strconv.AppendInt(b, int64(len(dv.Chain)), 10)
		b = append(b, ",\n    \"chain\": ["...)
		for i, s := range v.Chain {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n      {\"order\": "...)
			b = strconv.AppendInt(b, int64(s.Order), 10)
			b = append(b, ", \"kind\": "...)
			b = jsonw.AppendString(b, string(s.Kind))
			b = append(b, ", \"id\": "...)
			b = jsonw.AppendString(b, s.ID)
			b = append(b, ", \"component\": "...)
			b = jsonw.AppendString(b, s.Component)
			b = append(b, ", \"timeout_ms\": "...)
			b = strconv.AppendInt(b, s.TimeoutMS, 10)
			b = append(b, '}')
		}
		if len(v.Chain) > 0 {
			b = append(b, "\n    "...)
		}
		b = append(b, "]\n  }"...)
	}
	if r := v.Regression; r != nil {
		b = append(b, ",\n  \"regression\": {\n    \"baseline\": "...)
		b = jsonw.AppendString(b, v.Baseline)
		b = append(b, ",\n    \"old\": "...)
		b = appendSummaryJSON(b, r.Old)
		b = append(b, ",\n    \"new\": "...)
		b = appendSummaryJSON(b, r.New)
		b = append(b, ",\n    \"critical_path_pct\": "...)
		b = appendPct(b, r.CriticalPathPct)
		b = append(b, ",\n    \"worst_case_pct\": "...)
		b = appendPct(b, r.WorstCasePct)
		b = append(b, ",\n    \"max_regression_pct\": "...)
		b = appendPct(b, r.MaxPct)
		b = append(b, ",\n    \"regressed\": ["...)
		for i, n := range r.Regressed {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = jsonw.AppendString(b, n)
		}
		b = append(b, "]\n  }"...)
	}
	return b
}

func appendSummaryJSON(b []byte, s planner.Summary) []byte {
	b = append(b, "{\"steps\": "...)
	b = strconv.AppendInt(b, int64(s.Steps), 10)
	b = append(b, ", \"worst_case_ms\": "...)
	b = strconv.AppendInt(b, s.WorstCaseMS, 10)
	b = append(b, ", \"critical_path_ms\": "...)
	b = strconv.AppendInt(b, s.CriticalPathMS, 10)
	return append(b, '}')
}

// appendPct writes a percentage rounded to 0.1, or null for growth from zero.
func appendPct(b []byte, p float64) []byte {
	if math.IsInf(p, 0) || math.IsNaN(p) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, math.Round(p*10)/10, 'f', -1, 64)
}

// planJUnitPrinter writes the verdict as a JUnit report, so that a CI
// test tab shows it: one test case for the deadline and one for the
// comparison with the baseline, failing when they fail; without either,
// one passing case with the plan's figures.
type planJUnitPrinter struct{}

func (p planJUnitPrinter) Print(w io.Writer, v *CleanupData) error {
	s := v.Plan.Summary
	summary := summaryLine(s)
	var cases []report.JUnitCase
	if vd := v.Verdict; vd != nil && vd.Deadline != nil {
		dv := vd.Deadline
		c := report.JUnitCase{Classname: "rescoord.cleanup.deadline", Time: "0",
			Name: fmt.Sprintf("shutdown within %s (%s)", render.Millis(dv.DeadlineMS), strings.ReplaceAll(dv.Measure, "_", " ")),
		}
		text := deadlineHeadline(dv) + "\n" + strings.Join(chainLines(vd), "\n") + "\n"
		if dv.Late {
			c.Failure = &report.JUnitFailure{Message: deadlineHeadline(dv), Type: "deadline", Text: text}
		} else {
			c.SystemOut = &report.JUnitOutput{Text: text}
		}
		cases = append(cases, c)
	}
	if vd := v.Verdict; vd != nil && vd.Regression != nil {
		r := vd.Regression
		c := report.JUnitCase{Classname: "rescoord.cleanup.regression", Time: "0",
			Name: fmt.Sprintf("critical path and worst case within %s of the baseline", pctLabel(r.MaxPct)[1:]),
		}
		if len(r.Regressed) > 0 {
			c.Failure = &report.JUnitFailure{Message: regressionHeadline(vd), Type: "regression", Text: regressionHeadline(vd) + "\n"}
		} else {
			c.SystemOut = &report.JUnitOutput{Text: regressionHeadline(vd) + "\n"}
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		cases = append(cases, report.JUnitCase{Classname: "rescoord.cleanup", Name: "a cleanup plan exists", Time: "0", SystemOut: &report.JUnitOutput{Text: summary + "\n"}})
	}
	failures := 0
	for _, c := range cases {
		if c.Failure != nil {
			failures++
		}
	}
	doc := report.JUnitSuites{Name: "rescoord cleanup", Tests: len(cases), Failures: failures,
		Suites: []report.JUnitSuite{{Name: "rescoord cleanup: " + render.Escape(v.Input), Tests: len(cases), Failures: failures, Time: "0", Cases: cases}}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
