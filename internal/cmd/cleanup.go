package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/jsonw"
	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// CleanupOptions are the flags of `rescoord cleanup`.
type CleanupOptions struct {
	Input InputOptions
	Args  []string

	DryRun        bool
	Component     string
	Outputs       []string
	CriticalChain bool
	// Yes skips the confirmation of a live cleanup.
	Yes bool
	// Deadline turns the plan into a verdict (--deadline, --baseline).
	Deadline DeadlineOptions
	// maxRegression is --max-regression as given ("20%").
	maxRegression string
	// targets are the -o values, checked.
	targets []output.Target
}

// cleanupFormats are the formats of `rescoord cleanup`.
var cleanupFormats = output.Formats{
	{Name: "text", Help: "the plan as a table, its figures and the verdict"},
	{Name: "wide", Help: "text with every column, nothing truncated on a terminal"},
	{Name: "json", Help: `{"steps", "summary", …}`},
	{Name: "markdown", Help: "the plan for a pull request"},
	{Name: "junit", Help: "the deadline verdict as a test case"},
}

// NewCmdCleanup builds `rescoord cleanup`. A non-nil runF replaces the run, for tests.
func NewCmdCleanup(f *Factory, runF func(*CleanupOptions) error) *cobra.Command {
	opts := &CleanupOptions{}
	c := &cobra.Command{
		Use:   "cleanup --dry-run [SNAPSHOT]",
		Short: "Show the exact order in which cleanup releases everything, and why",
		Long: `cleanup --dry-run prints the cleanup plan of a snapshot: every step in the
order a cleanup runs it — callbacks, resources released by their type's
strategy, components marked destroyed — with its actions, its timeout and
the reason for its position, then the step count, the worst case (every
timeout one after another) and the critical path (the heaviest chain of
steps that must follow each other).

The order obeys three hard constraints: a resource is released before the
resources it depends on; a component's callbacks run before its resources
are released; a component is marked destroyed after its own steps and its
children. Among the steps that are ready, the deepest component goes first,
then the newest, then callbacks by priority, then resources by type
(workers, timers, files and sockets, GUI objects, the rest), newest first.
If the constraints form a cycle there is no plan: the members are named and
the exit code is 2.

With --deadline, the plan is a verdict for CI: exit 1 when the shutdown
would miss the deadline — by the critical path, or by the worst case with
--serial — naming the chain of steps that makes it late and by how much.
With --baseline OLD, the critical path and the worst case are compared with
those of an older snapshot's plan: exit 1 when either grew by more than
--max-regression.

Only a live process can really be cleaned (--attach); for a file, standard
input or the demo, --dry-run is required.`,
		Example: `  rescoord cleanup --dry-run --demo
  rescoord cleanup --dry-run --demo --component copy_verify_tab
  rescoord cleanup --dry-run --demo --critical-chain
  rescoord cleanup --dry-run snapshot.json -o json
  rescoord cleanup --dry-run snapshot.json --deadline 30s -o junit
  rescoord cleanup --dry-run new.json --baseline main.json --max-regression 20%`,
		Args: cobra.MaximumNArgs(1),
		RunE: runner(f, opts, &opts.Args, runF, runCleanup),
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan without cleaning anything (required unless --attach)")
	fl.StringVar(&opts.Component, "component", "", "plan only this component's subtree (default: the whole registry)")
	_ = c.RegisterFlagCompletionFunc("component", completeIDs(f, &opts.Input, false))
	cleanupFormats.AddFlag(c, &opts.Outputs)
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "with --attach, clean without asking for confirmation")
	fl.BoolVar(&opts.CriticalChain, "critical-chain", false, "print only the heaviest chain of steps, with when each starts and how long it may take")
	fl.DurationVar(&opts.Deadline.Deadline, "deadline", 0, "with --dry-run, exit 1 when the cleanup may take longer than this (systemd stops a unit after 90s, Kubernetes a pod after 30s)")
	fl.BoolVar(&opts.Deadline.Serial, "serial", false, "with --deadline, hold the worst case (every step one after another) to the deadline instead of the critical path")
	fl.StringVar(&opts.Deadline.Baseline, "baseline", "", "with --dry-run, compare the critical path and worst case with those of this older snapshot")
	fl.StringVar(&opts.maxRegression, "max-regression", "20%", "with --baseline, the growth of the critical path or worst case that fails")
	return c
}

func runCleanup(ctx context.Context, f *Factory, opts *CleanupOptions) error {
	var err error
	if opts.targets, err = parseTargets(cleanupFormats, opts.Outputs); err != nil {
		return err
	}
	onlyJSON := true
	for _, t := range opts.targets {
		if opts.CriticalChain && t.Format != "text" && t.Format != "wide" {
			return usageError("--critical-chain prints text: drop -o %s", t.Format)
		}
		onlyJSON = onlyJSON && t.Format == "json"
	}
	if err := opts.checkDeadlineFlags(); err != nil {
		return err
	}
	if !opts.DryRun {
		if opts.Input.Attach == "" {
			return usageError("only a live process can be cleaned: use --attach TARGET (with --component ID), or --dry-run to see the plan")
		}
		return runLiveCleanup(ctx, f, opts)
	}
	in, err := opts.Input.loadOne(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	ix, err := index(in)
	if err != nil {
		return err
	}
	// JSON only writes the steps out: a lazy plan makes them block by
	// block as they are written (see planJSONPrinter).
	plan, err := newPlan(ix, opts.Component, onlyJSON && !opts.CriticalChain)
	if err != nil {
		return err
	}
	vd, err := judge(ctx, f, opts, plan)
	if err != nil {
		return err
	}
	view := &planView{Plan: plan, Index: ix, Scope: opts.Component, Verdict: vd}
	if opts.CriticalChain {
		if err := printCriticalChain(f.HumanOut(), f.Styles(), view); err != nil {
			return err
		}
		return verdictExit(vd)
	}
	if len(plan.Warnings) > 0 {
		if t, ok := output.Stdout(opts.targets); ok && (t.Format == "text" || t.Format == "wide") {
			es := f.ErrStyles()
			for _, w := range plan.Warnings {
				fmt.Fprintf(f.HumanErr(), "%s %s\n", es.Warning.Render("warning:"), render.Escape(w))
			}
		}
	}
	err = printTo(f, opts.targets, func(w io.Writer, st *render.Styles, format string) error {
		var pr planPrinter
		switch format {
		case "json":
			pr = planJSONPrinter{}
		case "markdown":
			pr, w = planMarkdownPrinter{}, render.SafeWriter(w)
		case "junit":
			pr = planJUnitPrinter{input: in.Name, verdict: vd}
		default:
			pr, w = planTextPrinter{styles: st, wide: format == "wide"}, render.SafeWriter(w)
		}
		return pr.Print(w, view)
	})
	if err != nil {
		return err
	}
	return verdictExit(vd)
}

// checkDeadlineFlags refuses the verdict flags where they mean nothing.
func (opts *CleanupOptions) checkDeadlineFlags() error {
	d := &opts.Deadline
	p, err := parsePercent("--max-regression", opts.maxRegression)
	if err != nil {
		return err
	}
	d.MaxRegression = p
	switch {
	case d.Deadline < 0:
		return usageError("invalid --deadline %s: want a positive duration such as 30s", d.Deadline)
	case d.Serial && d.Deadline == 0:
		return usageError("--serial needs --deadline")
	case d.active() && !opts.DryRun:
		return usageError("--deadline and --baseline judge a plan: add --dry-run")
	}
	return nil
}

// verdictExit is exit 1 when the verdict fails.
func verdictExit(v *verdict) error {
	if v.failed() {
		return errFindings
	}
	return nil
}

// newPlan plans scope ("" for the whole registry), lazily if asked (its
// steps made on demand by a StepFiller). An unknown component is a usage
// error; a cycle is exit 2 naming its members.
func newPlan(ix *snapshot.Index, scope string, lazy bool) (*planner.Plan, error) {
	if scope != "" {
		if _, ok := ix.ComponentIndex(scope); !ok {
			return nil, usageError("no component %q in the snapshot", scope)
		}
	}
	plan := planner.NewPlan
	if lazy {
		plan = planner.NewLazyPlan
	}
	p, err := plan(ix, planner.Scope{Component: scope})
	if err != nil {
		var ce *planner.CycleError
		if errors.As(err, &ce) {
			return nil, &exitError{code: ExitError, err: err}
		}
		return nil, err
	}
	return p, nil
}

// planView is a plan with what its printers need to describe it.
type planView struct {
	Plan  *planner.Plan
	Index *snapshot.Index
	Scope string // "" for the whole registry
	// Verdict is what --deadline and --baseline found, or nil.
	Verdict *verdict
}

func (v *planView) scopeLabel() string {
	if v.Scope == "" {
		return "the whole registry"
	}
	return render.Escape(v.Scope) + " and its subtree"
}

// target names what a step acts on: "analysis-worker (r-1042)", escaped.
func (v *planView) target(st *planner.Step) string { return stepTarget(st) }

// stepTarget names what a step acts on, escaped: "analysis-worker (r-1042)".
func stepTarget(st *planner.Step) string {
	if st.Name == "" || st.Name == st.ID {
		return render.Escape(st.ID)
	}
	return render.Escape(st.Name) + " (" + render.Escape(st.ID) + ")"
}

// owner is the component a step belongs to, noting a destroyed or missing
// one; for a component step, its parent.
func (v *planView) owner(st *planner.Step) (id, note string) {
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
		s.Steps, plural(s.Steps, "step", "steps"), render.Millis(s.WorstCaseMS), render.Millis(s.CriticalPathMS))
}

// planPrinter writes a plan in one format.
type planPrinter interface {
	Print(w io.Writer, v *planView) error
}

// planTextPrinter prints the plan as a table. On a terminal (styles.Width
// set) and unless wide, the table fits the width: no OWNER column, and the
// target, actions and reason truncated; a pipe or a file gets every column
// whole (README, "Tables on a terminal").
type planTextPrinter struct {
	styles *render.Styles
	wide   bool
}

func (p planTextPrinter) Print(w io.Writer, v *planView) error {
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

func (planMarkdownPrinter) Print(w io.Writer, v *planView) error {
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
	fmt.Fprintf(w, "**%d %s**, worst case %s, critical path %s.\n", s.Steps, plural(s.Steps, "step", "steps"), render.Millis(s.WorstCaseMS), render.Millis(s.CriticalPathMS))
	for _, warn := range v.Plan.Warnings {
		fmt.Fprintf(w, "\n> **Warning:** %s\n", mdEscape(warn))
	}
	printVerdictMarkdown(w, v.Verdict)
	return nil
}

// mdEscape escapes control characters (render.Escape) and the characters
// Markdown would read as formatting.
func mdEscape(s string) string {
	s = render.Escape(s)
	if !strings.ContainsAny(s, "\\`*_[]<>|#~") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
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
func printCriticalChain(w io.Writer, st *render.Styles, v *planView) error {
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
		render.Millis(p.Summary.CriticalPathMS), len(p.CriticalPath), plural(len(p.CriticalPath), "step", "steps"), render.Millis(p.Summary.WorstCaseMS))))
	printVerdictText(w, st, v.Verdict)
	return err
}

// planJSONPrinter writes the JSON of docs/cleanup-ordering.md, byte for byte what encoding/json
// writes with two-space indentation (a test holds it to that), but
// without reflection: a plan can have millions of steps. The steps are
// formatted in blocks, on every core for a large plan, and written in order.
type planJSONPrinter struct{}

func (planJSONPrinter) Print(w io.Writer, v *planView) error {
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
