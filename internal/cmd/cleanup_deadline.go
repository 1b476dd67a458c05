package cmd

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/jsonw"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/planner"
)

// DeadlineOptions are the flags of `cleanup --dry-run` that turn a plan
// into a verdict for CI (docs/cleanup-ordering.md, "Deadlines").
type DeadlineOptions struct {
	Deadline time.Duration
	Serial   bool
	// Baseline is an older snapshot whose plan the current one is compared with.
	Baseline string
	// MaxRegression is the growth of the critical path or worst case, in
	// percent, beyond which the comparison with Baseline fails.
	MaxRegression float64
}

// active reports whether a verdict is asked for.
func (o *DeadlineOptions) active() bool { return o.Deadline > 0 || o.Baseline != "" }

// shownChainSteps is how many steps of a chain the text, Markdown and
// JUnit verdicts name; JSON lists up to maxJSONChainSteps.
const (
	shownChainSteps   = 10
	maxJSONChainSteps = 1000
)

// verdict is what --deadline and --baseline found, for the printers.
type verdict struct {
	Deadline   *planner.DeadlineVerdict
	Chain      []planner.Step // the first steps of Deadline.Chain, filled
	Regression *planner.ShutdownRegression
	Baseline   string
}

// failed reports whether the verdict fails the command (exit 1).
func (v *verdict) failed() bool {
	return v != nil && (v.Deadline != nil && v.Deadline.Late || v.Regression != nil && len(v.Regression.Regressed) > 0)
}

// judge computes the verdict of plan, planned over the same scope as the
// baseline's plan.
func judge(ctx context.Context, f *Factory, opts *CleanupOptions, plan *planner.Plan) (*verdict, error) {
	d := &opts.Deadline
	if !d.active() {
		return nil, nil
	}
	v := &verdict{}
	if d.Deadline > 0 {
		dv := planner.CheckDeadline(plan, planner.DeadlineOptions{Deadline: d.Deadline, Serial: d.Serial})
		v.Deadline = &dv
		n := min(len(dv.Chain), maxJSONChainSteps)
		v.Chain = make([]planner.Step, n)
		fl := plan.Filler()
		for i := range v.Chain {
			fl.Fill(v.Chain[i:i+1], dv.Chain[i]-1)
			// The filler's strings are valid until it fills again.
			v.Chain[i].Reason = ""
			v.Chain[i].After = nil
		}
	}
	if d.Baseline != "" {
		old, err := opts.Input.loadPath(ctx, f, d.Baseline)
		if err != nil {
			return nil, err
		}
		oix, err := index(old)
		if err != nil {
			return nil, err
		}
		if opts.Component != "" {
			if _, ok := oix.ComponentIndex(opts.Component); !ok {
				return nil, usageError("the baseline %s has no component %q to compare with", d.Baseline, opts.Component)
			}
		}
		op, err := newPlan(oix, opts.Component, true)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", d.Baseline, err)
		}
		r := planner.CompareShutdown(op.Summary, plan.Summary, d.MaxRegression)
		v.Regression, v.Baseline = &r, d.Baseline
	}
	return v, nil
}

// parsePercent reads "20%" or "20".
func parsePercent(flag, s string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || p < 0 || math.IsInf(p, 0) || math.IsNaN(p) {
		return 0, usageError("invalid %s %q: want a percentage such as 20%%", flag, s)
	}
	return p, nil
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
func chainLines(v *verdict) []string {
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
func regressionHeadline(v *verdict) string {
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
func printVerdictText(w io.Writer, st *render.Styles, v *verdict) {
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
func printVerdictMarkdown(w io.Writer, v *verdict) {
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
func appendVerdictJSON(b []byte, v *verdict) []byte {
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
type planJUnitPrinter struct {
	input   string
	verdict *verdict
}

func (p planJUnitPrinter) Print(w io.Writer, v *planView) error {
	s := v.Plan.Summary
	summary := summaryLine(s)
	var cases []report.JUnitCase
	if vd := p.verdict; vd != nil && vd.Deadline != nil {
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
	if vd := p.verdict; vd != nil && vd.Regression != nil {
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
		Suites: []report.JUnitSuite{{Name: "rescoord cleanup: " + render.Escape(p.input), Tests: len(cases), Failures: failures, Time: "0", Cases: cases}}}
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
