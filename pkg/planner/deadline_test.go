package planner

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testsnap"
)

func TestCheckDeadline_CriticalPathAgainstTheDeadline(t *testing.T) {
	p, err := NewPlan(testsnap.Demo(t), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	// The demo's critical path is 5 s (ffprobe's terminate → wait → kill),
	// its worst case 34.5 s.
	on := CheckDeadline(p, DeadlineOptions{Deadline: 30 * time.Second})
	if on.Late || on.ShutdownMS != 5000 || on.MarginMS != 25000 || on.LateByMS != 0 || on.Measure != "critical_path" {
		t.Errorf("30s against the critical path: %+v", on)
	}
	if !slices.Equal(on.Chain, p.CriticalPath) {
		t.Errorf("chain %v, want the critical path %v", on.Chain, p.CriticalPath)
	}
	late := CheckDeadline(p, DeadlineOptions{Deadline: 30 * time.Second, Serial: true})
	if !late.Late || late.ShutdownMS != 34500 || late.LateByMS != 4500 || late.MarginMS != 0 || late.Measure != "worst_case" {
		t.Errorf("30s against the worst case: %+v", late)
	}
	// Serially, the chain is every step that takes time, longest first.
	var sum int64
	prev := int64(math.MaxInt64)
	for _, o := range late.Chain {
		ms := p.Steps[o-1].TimeoutMS
		if ms <= 0 || ms > prev {
			t.Fatalf("serial chain %v is not the timed steps, longest first", late.Chain)
		}
		prev, sum = ms, sum+ms
	}
	if sum != p.Summary.WorstCaseMS {
		t.Errorf("the serial chain adds up to %d ms, want the worst case %d", sum, p.Summary.WorstCaseMS)
	}
	if v := CheckDeadline(p, DeadlineOptions{Deadline: 5 * time.Second}); v.Late || v.MarginMS != 0 {
		t.Errorf("a plan that ends exactly at the deadline is on time: %+v", v)
	}
}

func TestCheckDeadline_LazyPlanGivesTheSameVerdict(t *testing.T) {
	ix := testsnap.Demo(t)
	p, err := NewPlan(ix, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := NewLazyPlan(ix, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	for _, serial := range []bool{false, true} {
		o := DeadlineOptions{Deadline: 2 * time.Second, Serial: serial}
		a, b := CheckDeadline(p, o), CheckDeadline(lp, o)
		if a.ShutdownMS != b.ShutdownMS || a.Late != b.Late || !slices.Equal(a.Chain, b.Chain) {
			t.Errorf("serial=%v: whole plan %+v, lazy plan %+v", serial, a, b)
		}
	}
}

func TestCompareShutdown(t *testing.T) {
	old := Summary{Steps: 10, WorstCaseMS: 10_000, CriticalPathMS: 4_000}
	cases := []struct {
		name string
		cur  Summary
		want []string
	}{
		{"unchanged", old, []string{}},
		{"within the threshold", Summary{WorstCaseMS: 11_900, CriticalPathMS: 4_800}, []string{}},
		{"critical path beyond", Summary{WorstCaseMS: 10_000, CriticalPathMS: 4_801}, []string{"critical_path"}},
		{"both beyond", Summary{WorstCaseMS: 20_000, CriticalPathMS: 9_000}, []string{"critical_path", "worst_case"}},
		{"faster", Summary{WorstCaseMS: 1_000, CriticalPathMS: 1_000}, []string{}},
	}
	for _, c := range cases {
		r := CompareShutdown(old, c.cur, 20)
		if !slices.Equal(r.Regressed, c.want) {
			t.Errorf("%s: regressed %v, want %v (%+v)", c.name, r.Regressed, c.want, r)
		}
	}
	if r := CompareShutdown(Summary{}, Summary{CriticalPathMS: 1}, 20); !math.IsInf(r.CriticalPathPct, 1) || len(r.Regressed) != 1 {
		t.Errorf("growth from zero: %+v", r)
	}
	if r := CompareShutdown(Summary{}, Summary{}, 20); len(r.Regressed) != 0 || r.CriticalPathPct != 0 {
		t.Errorf("zero to zero: %+v", r)
	}
}
