package cmd

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/printer"
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

// judge computes the verdict of plan, planned over the same scope as the
// baseline's plan.
func judge(ctx context.Context, f *Factory, opts *CleanupOptions, plan *planner.Plan) (*printer.Verdict, error) {
	d := &opts.Deadline
	if !d.active() {
		return nil, nil
	}
	v := &printer.Verdict{}
	if d.Deadline > 0 {
		dv := planner.CheckDeadline(plan, planner.DeadlineOptions{Deadline: d.Deadline, Serial: d.Serial})
		v.Deadline = &dv
		n := min(len(dv.Chain), printer.MaxJSONChainSteps)
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
