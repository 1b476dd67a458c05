package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Scope selects what a cleanup plan covers.
type Scope struct {
	// Component is the id of the root of the subtree to plan; "" plans the
	// whole registry.
	Component string
}

// StepKind is what a cleanup step does.
type StepKind string

// Step kinds (docs/cleanup-ordering.md).
const (
	KindCallback  StepKind = "callback"
	KindResource  StepKind = "resource"
	KindComponent StepKind = "component"
)

// Step is one step of a cleanup plan.
type Step struct {
	// Order is the step's 1-based position in the plan.
	Order int      `json:"order"`
	Kind  StepKind `json:"kind"`
	// ID is the resource id, the component id, or for a callback the
	// cleanup's id (COMPONENT#N, N its index in cleanups, when it has none).
	ID string `json:"id"`
	// Component is the component the step belongs to: the resource's owner,
	// the callback's component, or the component itself.
	Component string `json:"component"`
	// Type is the resource type (resource steps only).
	Type string `json:"type,omitempty"`
	// Actions are what the step does, in order. The slices are shared
	// between steps: treat them as read-only.
	Actions   []string `json:"actions"`
	TimeoutMS int64    `json:"timeout_ms"`
	// Reason says briefly why the step stands where it does.
	Reason string `json:"reason"`

	// Name is the display name of what the step acts on.
	Name string `json:"-"`
	// Index is the position in the snapshot of what the step acts on: in
	// Cleanups, Resources or Components, according to Kind.
	Index int `json:"-"`
	// After holds the orders of the steps this one must follow by the
	// hard constraints (its direct predecessors), ascending.
	After []int `json:"-"`
}

// Summary holds the figures of a plan.
type Summary struct {
	Steps          int   `json:"steps"`
	WorstCaseMS    int64 `json:"worst_case_ms"`
	CriticalPathMS int64 `json:"critical_path_ms"`
}

// Plan is a deterministic cleanup order (docs/cleanup-ordering.md).
type Plan struct {
	Steps   []Step  `json:"steps"`
	Summary Summary `json:"summary"`
	// Warnings name live resources outside a subtree scope that depend on
	// one inside it. Written to JSON only when there are some.
	Warnings []string `json:"warnings,omitempty"`
	// CriticalPath holds the orders of the steps of the heaviest chain, first to last.
	CriticalPath []int `json:"-"`

	// lazy makes the steps on demand in a plan from NewLazyPlan.
	lazy *planner
}

// Len is the number of steps in the plan: len(Steps), or for a lazy plan
// the number All and a Filler make.
func (p *Plan) Len() int {
	if p.lazy == nil {
		return len(p.Steps)
	}
	return p.Summary.Steps
}

// All yields the plan's steps in order: Steps, or for a plan from
// NewLazyPlan the steps made a block at a time. A yielded step, its Reason
// and its After list are valid until the iteration moves past its block;
// copy what must outlive it (a Step copied keeps its strings only if
// Reason is cloned). For ranges out of order, or on several goroutines,
// use a Filler.
func (p *Plan) All() iter.Seq[*Step] {
	return func(yield func(*Step) bool) {
		if p.lazy == nil {
			for i := range p.Steps {
				if !yield(&p.Steps[i]) {
					return
				}
			}
			return
		}
		fl, block := p.Filler(), make([]Step, min(1024, p.Len()))
		for lo := 0; lo < p.Len(); lo += len(block) {
			part := block[:min(len(block), p.Len()-lo)]
			fl.Fill(part, lo)
			for i := range part {
				if !yield(&part[i]) {
					return
				}
			}
		}
	}
}

// MarshalJSON writes the plan as its fields read, with the steps of a lazy
// plan made as for All, and no steps as [] rather than null.
func (p *Plan) MarshalJSON() ([]byte, error) {
	type fields Plan // without this method
	q := *p
	if q.Steps == nil {
		q.Steps = make([]Step, p.Len())
		if p.lazy != nil && len(q.Steps) > 0 {
			p.Filler().Fill(q.Steps, 0)
		}
	}
	return json.Marshal((*fields)(&q))
}

// Filler returns a StepFiller for the plan.
func (p *Plan) Filler() *StepFiller { return &StepFiller{plan: p} }

// StepFiller fills a plan's steps into the caller's buffer a range at a
// time, in any order: dst[i] becomes the step of order lo+i+1. For a plan
// from NewLazyPlan the steps are made there. It keeps its own memory from
// one range to the next: the Reason strings and After lists of the steps
// it filled are valid only until it fills again. One goroutine uses a
// StepFiller; several fillers of one plan may run at once.
type StepFiller struct {
	plan *Plan
	f    stepFiller
}

// Fill fills dst with the steps of the plan from position lo on:
// lo+len(dst) must not exceed Len.
func (sf *StepFiller) Fill(dst []Step, lo int) {
	p := sf.plan
	if lo < 0 || lo+len(dst) > p.Len() {
		panic(fmt.Sprintf("coordinator: filling %d steps at %d of a plan of %d", len(dst), lo, p.Len()))
	}
	if p.lazy == nil {
		copy(dst, p.Steps[lo:])
		return
	}
	clear(dst) // fill sets only the fields of each step's kind
	p.lazy.resetStepFiller(&sf.f, dst, lo, len(dst))
	sf.f.fill(lo, lo+len(dst))
}

// CycleError reports hard constraints that form a cycle: no plan exists.
type CycleError struct {
	// Members are the steps of the cycle in order, each as "kind id": each
	// member must come before the next, and the last before the first.
	// Only resources can form a cycle (through depends_on), so every
	// member reads "resource ID". The cycle starts at the member that
	// comes first in the snapshot.
	Members []string
	// More counts the other, independent cycles that also block the plan.
	More int
}

// Error names every member of the cycle in order, back to the first.
func (e *CycleError) Error() string {
	var b strings.Builder
	b.WriteString("no cleanup plan: the hard constraints form a cycle: ")
	for _, m := range e.Members {
		b.WriteString(m)
		b.WriteString(" → ")
	}
	if len(e.Members) > 0 {
		b.WriteString(e.Members[0])
	}
	switch {
	case e.More == 1:
		b.WriteString(" (and 1 more cycle)")
	case e.More > 1:
		fmt.Fprintf(&b, " (and %d more cycles)", e.More)
	}
	return b.String()
}

// ErrUnknownComponent is returned (wrapped, with the id) when a scope names a
// component that is not in the snapshot.
var ErrUnknownComponent = errors.New("no such component")

// NewPlan plans the cleanup of scope in ix (docs/cleanup-ordering.md).
//
// Which steps exist: a callback step for each cleanup of an alive component
// in scope; a resource step for each live resource whose owner is in scope
// (alive or destroyed: in a subtree scope, a destroyed component inside the
// subtree still owns what it leaked), and in whole-registry scope also for
// each live resource whose owner is missing; a component step for each
// alive component in scope.
//
// The hard constraints are docs/cleanup-ordering.md's, with one reading made explicit: a
// destroyed component has no step of its own, so a component's step also
// follows the steps of the nearest alive components below a destroyed
// child. A resource that depends on itself is a cycle of one.
//
// The order is the topological order that always takes the ready step with
// the smallest key; see docs/cleanup-ordering.md. An unknown cleanup
// strategy name is ignored: the resource keeps its type's strategy.
//
// NewPlan fails with a *CycleError when the constraints form a cycle, and
// with an error wrapping ErrUnknownComponent when scope names a component
// that is not in the snapshot. It only reads ix.
func NewPlan(ix *snapshot.Index, scope Scope) (*Plan, error) {
	return newPlan(ix, scope, false, defaults())
}

// NewLazyPlan plans like NewPlan but leaves the plan's Steps nil: All and
// a Filler make them on demand, a block at a time. A caller that only
// writes the steps out, as `rescoord cleanup -o json` does, then never
// holds all of them: a million steps take some 200 MB, and writing that
// much fresh memory costs more than filling it. Encoded as JSON, a lazy
// plan writes all its steps all the same (MarshalJSON).
func NewLazyPlan(ix *snapshot.Index, scope Scope) (*Plan, error) {
	return newPlan(ix, scope, true, defaults())
}

func newPlan(ix *snapshot.Index, scope Scope, lazy bool, t tuning) (*Plan, error) {
	p := newPlanner(ix, t)
	if scope.Component != "" {
		ci, ok := ix.ComponentIndex(scope.Component)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not in the snapshot", ErrUnknownComponent, scope.Component)
		}
		p.root = ci
	}
	p.scanResources()
	p.collectGroups()
	steps, nodesReady, stepsReady := p.allocate(!lazy)
	p.sortGroups()
	p.numberNodes(nodesReady)
	p.resolveDependencies()
	stop := p.fillBehind(steps, stepsReady)
	ok := p.order()
	filled := stop()
	if !ok {
		return nil, p.cycleError()
	}
	return p.build(steps, filled, lazy), nil
}
