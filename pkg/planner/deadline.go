package planner

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// DeadlineOptions say how a plan is judged against a shutdown deadline
// (docs/cleanup-ordering.md, "Deadlines").
type DeadlineOptions struct {
	// Deadline is the time the platform gives the process to stop
	// (systemd's TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds).
	Deadline time.Duration
	// Serial judges the worst case (every step one after another) instead
	// of the critical path (steps that can run at once do).
	Serial bool
}

// DeadlineVerdict says whether a cleanup plan finishes within a deadline.
type DeadlineVerdict struct {
	DeadlineMS int64 `json:"deadline_ms"`
	// Measure is "critical_path" or, with Serial, "worst_case".
	Measure string `json:"measure"`
	// ShutdownMS is the time the plan may take by that measure.
	ShutdownMS int64 `json:"shutdown_ms"`
	// Late is true when ShutdownMS exceeds DeadlineMS.
	Late bool `json:"late"`
	// LateByMS is how much later than the deadline the plan may end (0
	// when it is on time); MarginMS is how much time is left (0 when late).
	LateByMS int64 `json:"late_by_ms"`
	MarginMS int64 `json:"margin_ms"`
	// Chain holds the orders of the steps that make the plan take that
	// long: the critical path, first to last; with Serial, the steps that
	// may take time, longest first.
	Chain []int `json:"chain"`
}

// CheckDeadline judges p against the deadline. A deadline of zero or less
// is missed by any plan that takes time.
func CheckDeadline(p *Plan, opts DeadlineOptions) DeadlineVerdict {
	v := DeadlineVerdict{
		DeadlineMS: max(opts.Deadline.Milliseconds(), 0),
		Measure:    "critical_path",
		ShutdownMS: p.Summary.CriticalPathMS,
		Chain:      slices.Clone(p.CriticalPath),
	}
	if opts.Serial {
		v.Measure = "worst_case"
		v.ShutdownMS = p.Summary.WorstCaseMS
		v.Chain = slowSteps(p)
	}
	if v.Chain == nil {
		v.Chain = []int{}
	}
	if v.ShutdownMS > v.DeadlineMS {
		v.Late, v.LateByMS = true, v.ShutdownMS-v.DeadlineMS
	} else {
		v.MarginMS = v.DeadlineMS - v.ShutdownMS
	}
	return v
}

// slowSteps returns the orders of the steps of p that have a timeout,
// longest first, then in plan order.
func slowSteps(p *Plan) []int {
	type slow struct {
		order int
		ms    int64
	}
	var out []slow
	for st := range p.All() {
		if st.TimeoutMS > 0 {
			out = append(out, slow{st.Order, st.TimeoutMS})
		}
	}
	slices.SortStableFunc(out, func(a, b slow) int { return cmp.Compare(b.ms, a.ms) })
	orders := make([]int, len(out))
	for i, s := range out {
		orders[i] = s.order
	}
	return orders
}

// ShutdownRegression compares the shutdown figures of a plan with those of
// an older snapshot's plan.
type ShutdownRegression struct {
	// Old and New are the two plans' figures.
	Old Summary `json:"old"`
	New Summary `json:"new"`
	// CriticalPathPct and WorstCasePct are the growth of each figure in
	// percent (negative when it shrank; +Inf, written as null in JSON, when
	// it grew from zero).
	CriticalPathPct float64 `json:"-"`
	WorstCasePct    float64 `json:"-"`
	// MaxPct is the growth allowed.
	MaxPct float64 `json:"max_regression_pct"`
	// Regressed names the figures that grew by more than MaxPct:
	// "critical_path", "worst_case".
	Regressed []string `json:"regressed"`
}

// CompareShutdown compares cur with old: a figure regresses when it grew
// by more than maxPct percent (from zero, any growth regresses).
func CompareShutdown(old, cur Summary, maxPct float64) ShutdownRegression {
	r := ShutdownRegression{
		Old: old, New: cur, MaxPct: maxPct,
		CriticalPathPct: growthPct(old.CriticalPathMS, cur.CriticalPathMS),
		WorstCasePct:    growthPct(old.WorstCaseMS, cur.WorstCaseMS),
		Regressed:       []string{},
	}
	if r.CriticalPathPct > maxPct {
		r.Regressed = append(r.Regressed, "critical_path")
	}
	if r.WorstCasePct > maxPct {
		r.Regressed = append(r.Regressed, "worst_case")
	}
	return r
}

// growthPct is how many percent cur is above old.
func growthPct(old, cur int64) float64 {
	switch {
	case old == cur:
		return 0
	case old <= 0:
		return math.Inf(1)
	}
	return (float64(cur) - float64(old)) / float64(old) * 100
}
