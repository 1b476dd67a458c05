package planner_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// A tab whose worker writes a file the tab's controller opened. The file's
// owner is deeper, but the file must wait for the worker, the worker for
// the tab's callback, and the controller for its file: so the callback
// comes first, and the tab is marked destroyed last.
func ExampleNewPlan() {
	snap, err := snapshot.Parse([]byte(`{
	  "format": "rescoord/v1", "taken_at": "2026-11-27T12:00:00Z",
	  "components": [
	    {"id": "tab", "state": "alive"},
	    {"id": "controller", "parent": "tab", "state": "alive"}],
	  "resources": [
	    {"id": "r-file", "type": "file", "owner": "controller", "state": "active"},
	    {"id": "r-worker", "type": "worker", "owner": "tab", "state": "active", "depends_on": ["r-file"]}],
	  "cleanups": [{"id": "c-1", "component": "tab", "priority": 10, "timeout_ms": 1000}]
	}`), "example")
	if err != nil {
		panic(err)
	}
	ix, err := snapshot.NewIndex(snap)
	if err != nil {
		panic(err)
	}
	plan, err := planner.NewPlan(ix, planner.Scope{})
	if err != nil {
		panic(err)
	}
	for _, st := range plan.Steps {
		fmt.Printf("%d %-9s %-10s %-32s %5dms after %v: %s\n", st.Order, st.Kind, st.ID, strings.Join(st.Actions, " → "), st.TimeoutMS, st.After, st.Reason)
	}
	fmt.Printf("worst case %dms, critical path %dms\n", plan.Summary.WorstCaseMS, plan.Summary.CriticalPathMS)
	// Output:
	// 1 callback  c-1        call                              1000ms after []: deepest ready first (depth 0)
	// 2 resource  r-worker   cancel → quit → wait → terminate  2000ms after [1]: before r-file: depends on it
	// 3 resource  r-file     close                                0ms after [2]: after r-worker, which depends on it
	// 4 component controller mark destroyed                       0ms after [3]: after its resources
	// 5 component tab        mark destroyed                       0ms after [1 2 4]: after its callbacks, resources and children
	// worst case 3000ms, critical path 3000ms
}

// A cycle in depends_on leaves no plan; the error names its members.
func ExampleCycleError() {
	snap, _ := snapshot.Parse([]byte(`{
	  "format": "rescoord/v1", "taken_at": "2026-11-27T12:00:00Z", "components": [],
	  "resources": [
	    {"id": "a", "type": "worker", "owner": "gone", "state": "active", "depends_on": ["b"]},
	    {"id": "b", "type": "file", "owner": "gone", "state": "active", "depends_on": ["a"]}]
	}`), "example")
	ix, _ := snapshot.NewIndex(snap)
	_, err := planner.NewPlan(ix, planner.Scope{})
	var cycle *planner.CycleError
	if errors.As(err, &cycle) {
		fmt.Println(cycle.Members)
		fmt.Println(err)
	}
	// Output:
	// [resource a resource b]
	// no cleanup plan: the hard constraints form a cycle: resource a → resource b → resource a
}
