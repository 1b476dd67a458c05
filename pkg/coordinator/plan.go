package coordinator

import (
	"errors"

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

// Step kinds (SPEC §3).
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
	Type      string   `json:"type,omitempty"`
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

// Plan is a deterministic cleanup order (SPEC §3).
type Plan struct {
	Steps   []Step  `json:"steps"`
	Summary Summary `json:"summary"`
	// Warnings name live resources outside a subtree scope that depend on
	// one inside it. Written to JSON only when there are some.
	Warnings []string `json:"warnings,omitempty"`
	// CriticalPath holds the orders of the steps of the heaviest chain, first to last.
	CriticalPath []int `json:"-"`
}

// CycleError reports hard constraints that form a cycle: no plan exists.
type CycleError struct {
	// Members are the steps of the cycle in order, each as "kind id".
	Members []string
}

// NewPlan plans the cleanup of scope in ix (SPEC §3).
func NewPlan(ix *snapshot.Index, scope Scope) (*Plan, error) {
	return nil, errors.New("not implemented")
}
