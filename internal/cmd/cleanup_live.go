package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// runLiveCleanup cleans a component's subtree in the process named by
// --attach: it shows the plan, asks for confirmation on a terminal (--yes
// skips it), runs the cleanup through the process's endpoint and prints
// each step's result as it arrives. Exit 1 when a step failed or timed out.
func runLiveCleanup(ctx context.Context, f *Factory, opts *CleanupOptions) error {
	name := attach.Redact(opts.Input.Attach) // never show a token written in the URL
	if len(opts.Args) > 0 || opts.Input.Demo {
		return usageError("only a live process can be cleaned: use --attach TARGET without a snapshot path or --demo")
	}
	if opts.Component == "" {
		return usageError("a live cleanup needs --component ID (rescoord cleanup --attach %s --dry-run shows the whole plan)", name)
	}
	if opts.CriticalChain {
		return usageError("--critical-chain goes with --dry-run")
	}
	format := "text"
	for _, t := range opts.targets {
		if t.Path != "" || (t.Format != "text" && t.Format != "json") {
			return usageError("a live cleanup prints text or json to standard output")
		}
		format = t.Format
	}
	client, err := opts.Input.client(f, opts.Input.Attach)
	if err != nil {
		return err
	}
	defer client.Close()
	s, err := client.Snapshot(ctx)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	ix, err := index(&loaded{Snap: s, Name: name})
	if err != nil {
		return err
	}
	plan, err := newPlan(ix, opts.Component, false)
	if err != nil {
		return err
	}
	st := f.Styles()
	text := format == "text"
	// Server-sent text (ids, kinds, error bodies) is escaped where it is
	// formatted, and the text output goes through render.SafeWriter.
	out, errOut := f.HumanOut(), f.HumanErr()
	if text {
		pr, err := printer.New(printer.Cleanup, "text", printer.Options{Styles: st})
		if err != nil {
			return err
		}
		if err := pr.Print(f.IO.Out, &printer.CleanupData{Plan: plan, Index: ix, Scope: opts.Component}); err != nil {
			return err
		}
	}
	if !opts.Yes {
		if !f.IO.InTTY {
			return usageError("refusing to clean %s in %s without confirmation: pass --yes (standard input is not a terminal)", opts.Component, name)
		}
		fmt.Fprintf(errOut, "Clean up %s in %s (%d %s)? [y/N] ", render.Escape(opts.Component), processLabel(s, name), len(plan.Steps), human.Plural(len(plan.Steps), "step", "steps"))
		answer, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(f.IO.ErrOut, "aborted: nothing was cleaned")
			return errSilent
		}
	}
	if text {
		fmt.Fprintf(out, "\n%s\n", st.Title.Render("Cleaning "+render.Escape(opts.Component)+" in "+processLabel(s, name)))
	}
	var results []attach.StepResult
	// The process may be silent while a step runs: the idle bound is
	// --timeout beyond the plan's longest step, the whole stream's is
	// --timeout beyond its worst case (docs/attach.md).
	req := attach.CleanupRequest{Component: opts.Component, WorstCase: msDuration(plan.Summary.WorstCaseMS)}
	for _, step := range plan.Steps {
		req.LongestStep = max(req.LongestStep, msDuration(step.TimeoutMS))
	}
	prog := &progressPrinter{out: out, styles: st}
	if text {
		req.Progress = prog.report
	}
	sum, err := client.RunCleanup(ctx, req, func(r attach.StepResult) {
		results = append(results, r)
		if text {
			fmt.Fprintln(out, stepLine(st, r))
		}
	})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if text {
		fmt.Fprintln(out, liveSummaryLine(st, sum))
		if sum.SkippedBecause != "" {
			fmt.Fprintf(out, "%s\n", st.Warning.Render("skipped because "+render.Escape(sum.SkippedBecause)))
		}
		if sum.Error != "" {
			fmt.Fprintf(errOut, "rescoord: %s\n", render.Escape(sum.Error))
		}
	} else {
		if results == nil {
			results = []attach.StepResult{}
		}
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Steps   []attach.StepResult    `json:"steps"`
			Summary *attach.CleanupSummary `json:"summary"`
		}{results, sum}); err != nil {
			return err
		}
	}
	if sum.Failed > 0 || sum.TimedOut > 0 || sum.Skipped > 0 || sum.Error != "" {
		return errFindings
	}
	return nil
}

// msDuration turns milliseconds into a duration, saturating.
func msDuration(ms int64) time.Duration {
	if ms <= 0 {
		return 0
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// processLabel is "name (pid N)", or the attach target, escaped.
func processLabel(s *snapshot.Snapshot, target string) string {
	if s.Source.Process != "" && s.Source.PID > 0 {
		return fmt.Sprintf("%s (pid %d)", render.Escape(s.Source.Process), s.Source.PID)
	}
	return render.Escape(target)
}

// stepLine is one executed step: its mark, order, kind, id, status and time.
func stepLine(st *render.Styles, r attach.StepResult) string {
	mark, status := st.OK.Render("✓"), st.OK.Render("done")
	switch r.Status {
	case attach.StatusFailed:
		mark, status = st.Error.Render("✗"), st.Error.Render("failed")
	case attach.StatusTimedOut:
		mark, status = st.Error.Render("⏱"), st.Error.Render("timed out")
	case attach.StatusSkipped:
		mark, status = st.Warning.Render("-"), st.Warning.Render("skipped")
	}
	line := fmt.Sprintf("%s %3d. %-9s %s  %s %s", mark, r.Order, render.Escape(r.Kind), render.Escape(r.ID), status, st.Dim.Render(render.Millis(r.ElapsedMS)))
	if r.Error != "" && r.Status != attach.StatusSkipped {
		// A skipped step's error is the budget's, said once in the summary.
		line += "\n         " + st.Dim.Render(render.Escape(r.Error))
	}
	if r.WaitingTotal > 0 {
		line += "\n         " + st.Dim.Render("waited on by "+stepRefList(r.Waiting, r.WaitingTotal)+", which went on without it")
	}
	return line
}

// stepRefList names steps ("component tab, component window and 3 more"),
// escaped.
func stepRefList(refs []attach.StepRef, total int) string {
	var b strings.Builder
	for i, r := range refs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d. %s %s", r.Order, render.Escape(r.Kind), render.Escape(r.ID))
	}
	if more := total - len(refs); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// progressPrinter shows what the cleanup is waiting for while a step runs
// (docs/attach.md, "What blocks exit right now"): a line when a step has
// run for a second, then one every 5 seconds, so that a CI log stays short.
type progressPrinter struct {
	out    io.Writer
	styles *render.Styles
	order  int   // the step last reported
	next   int64 // when to report it again, in ms of its run
}

func (p *progressPrinter) report(pr attach.CleanupProgress) {
	r := pr.Running
	if r == nil || r.ElapsedMS < 1000 || (r.Order == p.order && r.ElapsedMS < p.next) {
		return
	}
	p.order, p.next = r.Order, (r.ElapsedMS/5000+1)*5000
	line := fmt.Sprintf("… %3d. %-9s %s  running for %s", r.Order, render.Escape(r.Kind), render.Escape(r.ID), render.Millis(r.ElapsedMS))
	if r.TimeoutMS > 0 {
		line += " of its " + render.Millis(r.TimeoutMS)
	}
	line += fmt.Sprintf(" · step %d of %d", pr.Done+1, pr.Steps)
	if r.WaitingTotal > 0 {
		line += " · waiting on it: " + stepRefList(r.Waiting, r.WaitingTotal)
	}
	fmt.Fprintln(p.out, p.styles.Dim.Render(line))
}

func liveSummaryLine(st *render.Styles, s *attach.CleanupSummary) string {
	line := fmt.Sprintf("%d %s: %d done, %d failed, %d timed out", s.Steps, human.Plural(s.Steps, "step", "steps"),
		s.Done, s.Failed, s.TimedOut)
	if s.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	line += " in " + render.Millis(s.ElapsedMS)
	if s.Failed > 0 || s.TimedOut > 0 || s.Skipped > 0 {
		return st.Error.Render(line)
	}
	return st.OK.Render(line)
}
