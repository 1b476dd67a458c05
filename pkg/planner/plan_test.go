package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func mustPlan(t testing.TB, ix *snapshot.Index, scope Scope) *Plan {
	t.Helper()
	p, err := NewPlan(ix, scope)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p
}

// ids lists the steps as "kind:id".
func ids(p *Plan) []string {
	out := make([]string, len(p.Steps))
	for i, st := range p.Steps {
		out[i] = string(st.Kind) + ":" + st.ID
	}
	return out
}

func step(t testing.TB, p *Plan, id string) Step {
	t.Helper()
	for _, st := range p.Steps {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no step %s in %v", id, ids(p))
	return Step{}
}

func wantOrder(t *testing.T, p *Plan, want ...string) {
	t.Helper()
	if got := ids(p); !reflect.DeepEqual(got, want) {
		t.Errorf("plan order:\n got %v\nwant %v", got, want)
	}
}

// wantReason fails t unless the step's reason is want.
func wantReason(t *testing.T, s Step, want string) {
	t.Helper()
	if s.Reason != want {
		t.Errorf("%s %s: reason %q, want %q", s.Kind, s.ID, s.Reason, want)
	}
}

func TestPlan_DependencyBeatsDepth(t *testing.T) {
	ix := testsnap.Lists(t, `[
		{"id":"top","state":"alive"},
		{"id":"mid","parent":"top","state":"alive"},
		{"id":"deep","parent":"mid","state":"alive"}]`, `[
		{"id":"r-file","type":"file","owner":"deep","state":"active"},
		{"id":"r-worker","type":"worker","owner":"top","state":"active","depends_on":["r-file"]}]`, "")
	p := mustPlan(t, ix, Scope{})
	// r-file is the deepest, but r-worker uses it; and deep cannot be marked
	// destroyed while its file is open, nor mid before deep.
	wantOrder(t, p, "resource:r-worker", "resource:r-file", "component:deep", "component:mid", "component:top")
	wantReason(t, step(t, p, "r-worker"), "before r-file: depends on it")
	wantReason(t, step(t, p, "r-file"), "after r-worker, which depends on it")
}

func TestPlan_DeeperFirst(t *testing.T) {
	ix := testsnap.Lists(t, `[
		{"id":"a","state":"alive","created_at":"2026-11-27T11:00:03Z"},
		{"id":"b","parent":"a","state":"alive","created_at":"2026-11-27T11:00:02Z"},
		{"id":"c","parent":"b","state":"alive","created_at":"2026-11-27T11:00:01Z"}]`, `[
		{"id":"r-a","type":"memory","owner":"a","state":"active"},
		{"id":"r-b","type":"memory","owner":"b","state":"active"},
		{"id":"r-c","type":"memory","owner":"c","state":"active"}]`, "")
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "resource:r-c", "component:c", "resource:r-b", "component:b", "resource:r-a", "component:a")
	wantReason(t, p.Steps[0], "deepest first (depth 2)")
	wantReason(t, p.Steps[2], "deeper first (depth 1)")
}

func TestPlan_NewestComponentFirstAbsentOldest(t *testing.T) {
	ix := testsnap.Lists(t, `[
		{"id":"old","state":"alive","created_at":"2026-11-27T11:00:00Z"},
		{"id":"none","state":"alive"},
		{"id":"new","state":"alive","created_at":"2026-11-27T11:30:00Z"},
		{"id":"new-twin-b","state":"alive","created_at":"2026-11-27T11:30:00Z"},
		{"id":"new-twin-a","state":"alive","created_at":"2026-11-27T11:30:00Z"}]`, `[]`, "")
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "component:new", "component:new-twin-a", "component:new-twin-b", "component:old", "component:none")
	wantReason(t, p.Steps[1], "by component id")
	wantReason(t, p.Steps[3], "newest component first")
}

func TestPlan_CallbacksByPriorityThenSnapshotOrder(t *testing.T) {
	ix := testsnap.Lists(t, `[{"id":"tab","state":"alive"}]`,
		`[{"id":"r-1","type":"timer","owner":"tab","state":"active"}]`, `[
		{"id":"c-low","component":"tab","priority":1},
		{"component":"tab","priority":10,"timeout_ms":100},
		{"id":"c-high-2","component":"tab","priority":10},
		{"id":"c-neg","component":"tab","priority":-5}]`)
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "callback:tab#1", "callback:c-high-2", "callback:c-low", "callback:c-neg", "resource:r-1", "component:tab")
	wantReason(t, p.Steps[1], "priority 10, snapshot order")
	wantReason(t, p.Steps[2], "priority 1")
	if st := p.Steps[0]; st.TimeoutMS != 100 || st.Name != "tab#1" || st.Index != 1 {
		t.Errorf("id-less callback step = %+v", st)
	}
	if st := p.Steps[1]; st.TimeoutMS != DefaultCallbackTimeoutMS {
		t.Errorf("default callback timeout = %d", st.TimeoutMS)
	}
	// Constraint 2: every callback is a direct predecessor of the resource.
	if got := step(t, p, "r-1").After; !reflect.DeepEqual(got, []int{1, 2, 3, 4}) {
		t.Errorf("r-1 After = %v", got)
	}
	wantReason(t, step(t, p, "r-1"), "after its callbacks")
	if got := step(t, p, "tab"); !reflect.DeepEqual(got.After, []int{1, 2, 3, 4, 5}) || got.Reason != "after its callbacks and resources" {
		t.Errorf("tab step = %+v", got)
	}
}

func TestPlan_TypeClassThenNewestThenID(t *testing.T) {
	ix := testsnap.Lists(t, `[{"id":"c","state":"destroyed"}]`, `[
		{"id":"r-mem","type":"memory","owner":"c","state":"active"},
		{"id":"r-q","type":"qobject","owner":"c","state":"active"},
		{"id":"r-sock","type":"socket","owner":"c","state":"active","created_at":"2026-11-27T11:00:00Z"},
		{"id":"r-file","type":"file","owner":"c","state":"active","created_at":"2026-11-27T11:00:01Z"},
		{"id":"r-timer","type":"timer","owner":"c","state":"releasing"},
		{"id":"r-proc","type":"process","owner":"c","state":"active"},
		{"id":"r-thread-b","type":"thread","owner":"c","state":"active","created_at":"2026-11-27T11:00:00Z"},
		{"id":"r-thread-a","type":"thread","owner":"c","state":"active","created_at":"2026-11-27T11:00:00Z"},
		{"id":"r-gpu","type":"gpu-texture","owner":"c","state":"active","created_at":"2026-11-27T11:00:00Z"},
		{"id":"r-gone","type":"worker","owner":"c","state":"released"}]`, "")
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "resource:r-thread-a", "resource:r-thread-b", "resource:r-proc", "resource:r-timer",
		"resource:r-file", "resource:r-sock", "resource:r-q", "resource:r-gpu", "resource:r-mem")
	reasons := []string{"deepest first (depth 0)", "by id", "newest first", "type order: after workers",
		"type order: after timers", "newest first", "type order: after files and sockets", "type order: after qobjects", "newest first"}
	for i, want := range reasons {
		if got := p.Steps[i].Reason; got != want {
			t.Errorf("step %d (%s) reason = %q, want %q", i+1, p.Steps[i].ID, got, want)
		}
	}
}

func TestPlan_MissingOwnerIsDeepest(t *testing.T) {
	ix := testsnap.Lists(t, `[
		{"id":"a","state":"alive"},
		{"id":"b","parent":"a","state":"alive"}]`, `[
		{"id":"r-b","type":"worker","owner":"b","state":"active"},
		{"id":"r-z2","type":"memory","owner":"zed","state":"active"},
		{"id":"r-y","type":"memory","owner":"yak","state":"active"},
		{"id":"r-z1","type":"worker","owner":"zed","state":"active"}]`, "")
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "resource:r-y", "resource:r-z1", "resource:r-z2", "resource:r-b", "component:b", "component:a")
	if got := step(t, p, "r-z1"); got.Reason != "owner missing: by owner id" || got.Component != "zed" {
		t.Errorf("r-z1 = %+v", got)
	}
	wantReason(t, p.Steps[0], "owner missing: first")
	// A subtree scope never holds resources of a missing owner.
	if got := ids(mustPlan(t, ix, Scope{Component: "a"})); !reflect.DeepEqual(got, []string{"resource:r-b", "component:b", "component:a"}) {
		t.Errorf("subtree plan = %v", got)
	}
}

func TestPlan_ComponentAfterChildrenThroughDestroyed(t *testing.T) {
	// top (alive) > gone (destroyed) > kid (alive): top's step follows kid's.
	ix := testsnap.Lists(t, `[
		{"id":"top","state":"alive"},
		{"id":"gone","parent":"top","state":"destroyed"},
		{"id":"kid","parent":"gone","state":"alive"}]`, `[
		{"id":"r-gone","type":"memory","owner":"gone","state":"active"}]`, `[
		{"id":"c-gone","component":"gone","priority":1}]`)
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "component:kid", "resource:r-gone", "component:top")
	top := step(t, p, "top")
	if !reflect.DeepEqual(top.After, []int{1}) || top.Reason != "after its children" {
		t.Errorf("top = %+v", top)
	}
}

func TestPlan_DependsOnIgnoresDuplicatesMissingAndReleased(t *testing.T) {
	ix := testsnap.Lists(t, `[
		{"id":"p","state":"alive"},
		{"id":"k","parent":"p","state":"alive"}]`, `[
		{"id":"r-db","type":"file","owner":"p","state":"active"},
		{"id":"r-w","type":"worker","owner":"k","state":"active","depends_on":["r-db","r-db","r-missing","r-rel"]},
		{"id":"r-rel","type":"file","owner":"p","state":"released"}]`, "")
	p := mustPlan(t, ix, Scope{})
	wantOrder(t, p, "resource:r-w", "component:k", "resource:r-db", "component:p")
	if got := step(t, p, "r-db").After; !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("duplicate depends_on gave After %v", got)
	}
}

func TestPlan_Strategies(t *testing.T) {
	ix := testsnap.Lists(t, `[{"id":"c","state":"destroyed"}]`, `[
		{"id":"worker","type":"worker","owner":"c","state":"active"},
		{"id":"thread","type":"thread","owner":"c","state":"active"},
		{"id":"process","type":"process","owner":"c","state":"active"},
		{"id":"timer","type":"timer","owner":"c","state":"active"},
		{"id":"file","type":"file","owner":"c","state":"active"},
		{"id":"socket","type":"socket","owner":"c","state":"active"},
		{"id":"qobject","type":"qobject","owner":"c","state":"active"},
		{"id":"memory","type":"memory","owner":"c","state":"active"},
		{"id":"pool","type":"pool","owner":"c","state":"active"},
		{"id":"custom","type":"custom","owner":"c","state":"active"},
		{"id":"other","type":"gpu-texture","owner":"c","state":"active"},
		{"id":"as-worker","type":"thread","owner":"c","state":"active","cleanup":{"strategy":"worker","timeout_ms":500}},
		{"id":"pool-as-process","type":"pool","owner":"c","state":"active","cleanup":{"strategy":"process"}},
		{"id":"timeout-only","type":"socket","owner":"c","state":"active","cleanup":{"timeout_ms":1000}},
		{"id":"unknown","type":"worker","owner":"c","state":"active","cleanup":{"strategy":"graceful"}}]`, "")
	p := mustPlan(t, ix, Scope{})
	worker := []string{"cancel", "quit", "wait", "terminate"}
	tests := []struct {
		id      string
		actions []string
		timeout int64
	}{
		{"worker", worker, 2000},
		{"thread", worker, 2000},
		{"process", []string{"terminate", "wait", "kill"}, 5000},
		{"timer", []string{"stop"}, 0},
		{"file", []string{"close"}, 0},
		{"socket", []string{"close"}, 0},
		{"qobject", []string{"disconnect", "deleteLater"}, 0},
		{"memory", []string{"release"}, 0},
		{"pool", []string{"release"}, 0},
		{"custom", []string{"release"}, 0},
		{"other", []string{"release"}, 0},
		{"as-worker", worker, 500},
		{"pool-as-process", []string{"terminate", "wait", "kill"}, 5000},
		{"timeout-only", []string{"close"}, 1000},
		{"unknown", worker, 2000},
	}
	for _, tt := range tests {
		st := step(t, p, tt.id)
		if !reflect.DeepEqual(st.Actions, tt.actions) || st.TimeoutMS != tt.timeout {
			t.Errorf("%s: actions %v timeout %d, want %v %d", tt.id, st.Actions, st.TimeoutMS, tt.actions, tt.timeout)
		}
	}
}

func TestPlan_StepFields(t *testing.T) {
	p := mustPlan(t, testsnap.Demo(t), Scope{})
	got := step(t, p, "r-1042")
	want := Step{Order: got.Order, Kind: KindResource, ID: "r-1042", Component: "media_analysis_tab", Type: "worker",
		Actions: []string{"cancel", "quit", "wait", "terminate"}, TimeoutMS: 2000, Reason: "before r-1001: depends on it",
		Name: "analysis-worker", Index: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("r-1042 step:\n got %+v\nwant %+v", got, want)
	}
	cb := step(t, p, "copy_verify_controller#4")
	if cb.Kind != KindCallback || cb.Name != "CopyVerifyController.save_state" || cb.Index != 4 || cb.TimeoutMS != 5000 || cb.Type != "" {
		t.Errorf("id-less callback step = %+v", cb)
	}
	comp := step(t, p, "main_window")
	if comp.Kind != KindComponent || comp.Name != "MainWindow" || comp.Order != len(p.Steps) || !reflect.DeepEqual(comp.Actions, []string{"mark destroyed"}) {
		t.Errorf("main_window step = %+v", comp)
	}
	for i, st := range p.Steps {
		if st.Order != i+1 {
			t.Fatalf("step %d has order %d", i, st.Order)
		}
	}
}

func TestPlan_DestroyedComponentsHaveNoCallbackOrComponentStep(t *testing.T) {
	p := mustPlan(t, testsnap.Demo(t), Scope{})
	for _, st := range p.Steps {
		if st.ID == "c-7" || st.ID == "media_analysis_tab" && st.Kind == KindComponent {
			t.Errorf("step for destroyed media_analysis_tab: %+v", st)
		}
		if st.Kind == KindResource && (st.ID == "r-1044" || st.ID == "r-3004" || st.ID == "r-4001") {
			t.Errorf("released resource planned: %+v", st)
		}
	}
}

func TestPlan_Demo(t *testing.T) {
	p := mustPlan(t, testsnap.Demo(t), Scope{})
	if want := (Summary{Steps: 44, WorstCaseMS: 34500, CriticalPathMS: 5000}); p.Summary != want {
		t.Errorf("summary = %+v, want %+v", p.Summary, want)
	}
	if p.Steps[0].ID != "r-6001" {
		t.Errorf("the orphan of a missing owner should come first, got %s", p.Steps[0].ID)
	}
	if p.Warnings != nil {
		t.Errorf("whole-registry plan has warnings %v", p.Warnings)
	}
	if len(p.CriticalPath) == 0 || p.CriticalPath[len(p.CriticalPath)-1] != len(p.Steps) {
		t.Errorf("critical path %v should end at the last step", p.CriticalPath)
	}
}

func TestPlan_CriticalPath(t *testing.T) {
	ix := testsnap.Lists(t, `[{"id":"app","state":"alive"}]`, `[
		{"id":"a","type":"worker","owner":"app","state":"active","depends_on":["b"],"cleanup":{"timeout_ms":100}},
		{"id":"b","type":"process","owner":"app","state":"active","depends_on":["c"],"cleanup":{"timeout_ms":200}},
		{"id":"c","type":"worker","owner":"app","state":"active","cleanup":{"timeout_ms":50}},
		{"id":"d","type":"worker","owner":"app","state":"active","cleanup":{"timeout_ms":320}}]`,
		`[{"id":"cb","component":"app","priority":0,"timeout_ms":1000}]`)
	p := mustPlan(t, ix, Scope{})
	// cb(1000) → a(100) → b(200) → c(50) → app = 1350; cb → d(320) is lighter.
	if p.Summary.CriticalPathMS != 1350 || p.Summary.WorstCaseMS != 1670 {
		t.Errorf("summary = %+v", p.Summary)
	}
	var chain []string
	for _, o := range p.CriticalPath {
		chain = append(chain, p.Steps[o-1].ID)
	}
	if want := []string{"cb", "a", "b", "c", "app"}; !reflect.DeepEqual(chain, want) {
		t.Errorf("critical chain = %v, want %v", chain, want)
	}
}

func TestPlan_CycleError(t *testing.T) {
	ix := testsnap.Lists(t, `[{"id":"app","state":"alive"}]`, `[
		{"id":"r-3","type":"memory","owner":"app","state":"active","depends_on":["r-1"]},
		{"id":"r-1","type":"memory","owner":"app","state":"active","depends_on":["r-2"]},
		{"id":"r-2","type":"memory","owner":"app","state":"active","depends_on":["r-3"]},
		{"id":"r-4","type":"memory","owner":"app","state":"active","depends_on":["r-4"]}]`, "")
	_, err := NewPlan(ix, Scope{})
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CycleError", err)
	}
	if want := []string{"resource r-3", "resource r-1", "resource r-2"}; !reflect.DeepEqual(ce.Members, want) || ce.More != 1 {
		t.Errorf("cycle = %v (+%d), want %v (+1)", ce.Members, ce.More, want)
	}
	want := "no cleanup plan: the hard constraints form a cycle: resource r-3 → resource r-1 → resource r-2 → resource r-3 (and 1 more cycle)"
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
}

func TestPlan_SelfDependencyIsCycle(t *testing.T) {
	ix := testsnap.Lists(t, `[]`, `[{"id":"r-1","type":"pool","owner":"gone","state":"active","depends_on":["r-1"]}]`, "")
	_, err := NewPlan(ix, Scope{})
	if err == nil || err.Error() != "no cleanup plan: the hard constraints form a cycle: resource r-1 → resource r-1" {
		t.Errorf("err = %v", err)
	}
}

func TestPlan_CycleOutsideScopeDoesNotBlock(t *testing.T) {
	ix := testsnap.Lists(t, `[{"id":"a","state":"alive"},{"id":"b","state":"alive"}]`, `[
		{"id":"r-1","type":"memory","owner":"a","state":"active","depends_on":["r-2"]},
		{"id":"r-2","type":"memory","owner":"b","state":"active","depends_on":["r-1"]},
		{"id":"r-3","type":"memory","owner":"a","state":"released","depends_on":["r-3"]}]`, "")
	if _, err := NewPlan(ix, Scope{}); err == nil {
		t.Fatal("whole-registry plan should fail on the cycle")
	}
	p := mustPlan(t, ix, Scope{Component: "a"})
	wantOrder(t, p, "resource:r-1", "component:a")
	if want := []string{"r-2 (owner b, outside the scope) depends on r-1, which this plan releases"}; !reflect.DeepEqual(p.Warnings, want) {
		t.Errorf("warnings = %q", p.Warnings)
	}
}

func TestPlan_SubtreeScope(t *testing.T) {
	ix := testsnap.Demo(t)
	p := mustPlan(t, ix, Scope{Component: "copy_verify_tab"})
	for _, st := range p.Steps {
		ci, ok := ix.ComponentIndex(st.Component)
		root, _ := ix.ComponentIndex("copy_verify_tab")
		if !ok || !ix.InSubtree(ci, root) {
			t.Errorf("step outside the subtree: %+v", st)
		}
	}
	if last := p.Steps[len(p.Steps)-1]; last.ID != "copy_verify_tab" || last.Kind != KindComponent {
		t.Errorf("last step = %+v", last)
	}
	if p.Summary.Steps != 18 || len(p.Warnings) != 0 {
		t.Errorf("summary %+v warnings %v", p.Summary, p.Warnings)
	}
}

func TestPlan_SubtreeOfDestroyedComponentReleasesItsLeaks(t *testing.T) {
	p := mustPlan(t, testsnap.Demo(t), Scope{Component: "media_analysis_tab"})
	wantOrder(t, p, "resource:r-1043", "resource:r-1045", "resource:r-1042", "resource:r-1001")
}

func TestPlan_UnknownComponent(t *testing.T) {
	_, err := NewPlan(testsnap.Demo(t), Scope{Component: "nope"})
	if !errors.Is(err, ErrUnknownComponent) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("err = %v", err)
	}
}

func TestPlan_EmptySnapshot(t *testing.T) {
	p := mustPlan(t, testsnap.Lists(t, `[]`, `[]`, ""), Scope{})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"steps":[],"summary":{"steps":0,"worst_case_ms":0,"critical_path_ms":0}}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	if p.CriticalPath != nil {
		t.Errorf("critical path = %v", p.CriticalPath)
	}
	lazy, err := NewLazyPlan(testsnap.Lists(t, `[]`, `[]`, ""), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(lazy); !strings.HasPrefix(string(b), `{"steps":[],`) {
		t.Errorf("an empty lazy plan's JSON: %s", b)
	}
}

func TestPlan_JSONShape(t *testing.T) {
	p := mustPlan(t, testsnap.Demo(t), Scope{})
	b, err := json.Marshal(p.Steps[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"order":2,"kind":"resource","id":"r-3011","component":"thumbnail_workers","type":"thread",` +
		`"actions":["cancel","quit","wait","terminate"],"timeout_ms":500,"reason":"before r-3010: depends on it"}`
	if string(b) != want {
		t.Errorf("step JSON:\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(step(t, p, "c-1"))
	if strings.Contains(string(b), `"type"`) {
		t.Errorf("callback step has a type: %s", b)
	}
}

func TestPlan_DoesNotModifyIndex(t *testing.T) {
	ix := testsnap.Demo(t)
	before, _ := json.Marshal(ix.Snap)
	mustPlan(t, ix, Scope{})
	mustPlan(t, ix, Scope{Component: "copy_verify_tab"})
	after, _ := json.Marshal(ix.Snap)
	if string(before) != string(after) {
		t.Error("NewPlan changed the snapshot")
	}
}

func TestPlan_HugeTimeoutsSaturate(t *testing.T) {
	// A decoded snapshot holds at most a week per timeout (snapshot.MaxTimeoutMS);
	// one built in Go may hold anything.
	ix := testsnap.Lists(t, `[]`, `[
		{"id":"a","type":"worker","owner":"x","state":"active","depends_on":["b"],"cleanup":{"timeout_ms":1}},
		{"id":"b","type":"worker","owner":"x","state":"active","cleanup":{"timeout_ms":1}}]`, "")
	const maxInt64 = 1<<63 - 1
	for i := range ix.Snap.Resources {
		*ix.Snap.Resources[i].Cleanup.TimeoutMS = maxInt64
	}
	p := mustPlan(t, ix, Scope{})
	if p.Summary.WorstCaseMS != maxInt64 || p.Summary.CriticalPathMS != maxInt64 {
		t.Errorf("summary = %+v", p.Summary)
	}
}

func TestDependencyCycles(t *testing.T) {
	ix := testsnap.Lists(t, `[]`, `[
		{"id":"a","type":"memory","owner":"x","state":"active","depends_on":["b"]},
		{"id":"b","type":"memory","owner":"x","state":"active","depends_on":["c","a"]},
		{"id":"c","type":"memory","owner":"x","state":"active","depends_on":["a"]},
		{"id":"d","type":"memory","owner":"x","state":"active","depends_on":["e"]},
		{"id":"e","type":"memory","owner":"x","state":"released","depends_on":["d"]},
		{"id":"f","type":"memory","owner":"x","state":"active","depends_on":["f","a"]}]`, "")
	got := DependencyCycles(ix)
	// a → b → a is shorter than a → b → c → a; e is released, so d–e is no cycle.
	if want := [][]int{{0, 1}, {5}}; !reflect.DeepEqual(got, want) {
		t.Errorf("cycles = %v, want %v", got, want)
	}
	if got := DependencyCycles(testsnap.Demo(t)); got != nil {
		t.Errorf("demo has cycles %v", got)
	}
}

func TestPlan_CycleSnapshotsInTestdata(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "snapshots", "plan-cycle-*.json"))
	if len(files) == 0 {
		t.Skip("no plan-cycle snapshots")
	}
	for _, f := range files {
		s, err := snapshot.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		var ce *CycleError
		if _, err := NewPlan(ix, Scope{}); !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a cycle", f, err)
		}
	}
}

func TestPlan_ConcurrentPlansOfOneIndex(t *testing.T) {
	ix := testsnap.Demo(t)
	want, _ := json.Marshal(mustPlan(t, ix, Scope{}))
	done := make(chan []byte)
	for range 8 {
		go func() {
			p, err := NewPlan(ix, Scope{})
			if err != nil {
				done <- nil
				return
			}
			b, _ := json.Marshal(p)
			done <- b
		}()
	}
	for range 8 {
		if got := <-done; string(got) != string(want) {
			t.Error("a concurrent plan differs")
		}
	}
}

// TestPlan_OnEveryCoreAsOnOne plans snapshots large enough for the work
// that runs on every core (the scan, the numbering, the filling of the
// steps, and the filling behind the ordering), with one to five workers,
// and wants the plan that one worker makes, or the same cycle.
func TestPlan_OnEveryCoreAsOnOne(t *testing.T) {
	t.Parallel()
	s := largeSnapshot(30_000)
	cyclic := largeSnapshot(30_000)
	r := &cyclic.Resources[len(cyclic.Resources)-1]
	r.State = snapshot.StateActive
	r.DependsOn = append(r.DependsOn, "r-100")
	cyclic.Resources[100].State = snapshot.StateActive
	cyclic.Resources[100].DependsOn = append(cyclic.Resources[100].DependsOn, r.ID)
	for _, s := range []*snapshot.Snapshot{s, cyclic} {
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, scope := range []Scope{{}, {Component: "comp-0"}, {Component: "comp-7"}} {
			plan := func(workers int) (*Plan, error) {
				t := tuning{workers: workers, parallelMin: 1, fillBatch: 64}
				if workers == 1 {
					t.parallelMin = math.MaxInt
				}
				return newPlan(ix, scope, false, t)
			}
			want, wantErr := plan(1)
			for _, workers := range []int{2, 3, 5} {
				got, err := plan(workers)
				if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
					t.Fatalf("scope %q, %d workers: the plan differs from one worker's (error %v, want %v)", scope.Component, workers, err, wantErr)
				}
			}
		}
	}
}

// TestLazyPlan_FillsTheStepsOfNewPlan fills a lazy plan's steps in ranges
// of every size, out of order and concurrently, and in order with one
// StepFiller, on one core and on several, and wants NewPlan's steps,
// summary, critical path and warnings.
func TestLazyPlan_FillsTheStepsOfNewPlan(t *testing.T) {
	t.Parallel()
	large, err := snapshot.NewIndex(largeSnapshot(30_000))
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range []*snapshot.Index{testsnap.Demo(t), large} {
		for _, scope := range []Scope{{}, {Component: ix.Snap.Components[0].ID}} {
			for _, workers := range []int{1, 3} {
				tune := tuning{workers: workers, parallelMin: 1, fillBatch: 4096}
				if workers == 1 {
					tune.parallelMin = math.MaxInt
				}
				want, err := newPlan(ix, scope, false, tune)
				if err != nil {
					t.Fatal(err)
				}
				lazy, err := newPlan(ix, scope, true, tune)
				if err != nil {
					t.Fatal(err)
				}
				if lazy.Steps != nil || lazy.Len() != len(want.Steps) {
					t.Fatalf("lazy plan: Steps %v, Len %d; want nil and %d", lazy.Steps != nil, lazy.Len(), len(want.Steps))
				}
				if !reflect.DeepEqual(lazy.Summary, want.Summary) || !reflect.DeepEqual(lazy.CriticalPath, want.CriticalPath) || !reflect.DeepEqual(lazy.Warnings, want.Warnings) {
					t.Fatalf("scope %q, %d workers: the lazy plan's figures differ from NewPlan's", scope.Component, workers)
				}
				for _, size := range []int{1, 7, prevBlock - 1, prevBlock, 3*prevBlock + 5, lazy.Len()} {
					if size == 0 || size > lazy.Len() {
						continue
					}
					got := make([]Step, lazy.Len())
					var wg sync.WaitGroup
					// Last range first: nothing may depend on the ranges before.
					for lo := (lazy.Len() - 1) / size * size; lo >= 0; lo -= size {
						wg.Go(func() { lazy.Filler().Fill(got[lo:min(lo+size, lazy.Len())], lo) })
					}
					wg.Wait()
					if !reflect.DeepEqual(got, want.Steps) {
						t.Fatalf("scope %q, %d workers, ranges of %d: the lazy plan's steps differ from NewPlan's", scope.Component, workers, size)
					}
					// One filler, its memory used again range after range.
					fl, buf := lazy.Filler(), make([]Step, size)
					for lo := 0; lo < lazy.Len(); lo += size {
						part := buf[:min(size, lazy.Len()-lo)]
						fl.Fill(part, lo)
						if !reflect.DeepEqual(part, want.Steps[lo:lo+len(part)]) {
							t.Fatalf("scope %q, %d workers, one filler, ranges of %d: steps at %d differ from NewPlan's", scope.Component, workers, size, lo)
						}
					}
				}
				got := make([]Step, 3)
				want.Filler().Fill(got, 2)
				if !reflect.DeepEqual(got, want.Steps[2:5]) {
					t.Errorf("filling a full plan: got %+v, want its steps", got)
				}
				// All, and the JSON, give the same steps from either plan.
				var all []Step
				for st := range lazy.All() {
					c := *st
					c.Reason, c.After = strings.Clone(c.Reason), slices.Clone(c.After)
					all = append(all, c)
				}
				if !reflect.DeepEqual(all, want.Steps) {
					t.Fatalf("scope %q, %d workers: All of the lazy plan differs from NewPlan's steps", scope.Component, workers)
				}
				lj, _ := json.Marshal(lazy)
				wj, _ := json.Marshal(want)
				if !bytes.Equal(lj, wj) {
					t.Fatalf("scope %q: the lazy plan's JSON differs from NewPlan's", scope.Component)
				}
			}
		}
	}
}
