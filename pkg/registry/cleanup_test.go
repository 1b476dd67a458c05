package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// syncList collects values from several goroutines, in order.
type syncList[T any] struct {
	mu    sync.Mutex
	items []T
}

func (l *syncList[T]) add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// all returns a copy of what was added so far.
func (l *syncList[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// journal records what cleanups and fakes did, in order.
type journal struct{ syncList[string] }

func (j *journal) String() string { return strings.Join(j.all(), " ") }

// note returns a cleanup function that records name.
func (j *journal) note(name string) func(context.Context) error {
	return func(context.Context) error { j.add(name); return nil }
}

// stepLog collects the steps a cleanup reports.
type stepLog struct{ syncList[registry.StepResult] }

func (l *stepLog) ctx(ctx context.Context) context.Context {
	return registry.ObserveSteps(ctx, l.add)
}

func (l *stepLog) ids() string {
	var out []string
	for _, r := range l.all() {
		out = append(out, string(r.Step.Kind)+":"+r.Step.ID)
	}
	return strings.Join(out, " ")
}

func planIDs(p *planner.Plan) string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, string(s.Kind)+":"+s.ID)
	}
	return strings.Join(out, " ")
}

// tabTree builds a tab subtree in the shape of the demo: a tab whose
// controller owns a worker coordinator and a resource coordinator.
func tabTree(t *testing.T, j *journal) *registry.Registry {
	t.Helper()
	r, clk := newReg(t, []string{"main", "tab<main", "ctl<tab", "workers<ctl", "files<ctl"}, registry.WithStackCapture(false))
	if err := r.OnCleanup("tab", "Tab.save", 5, 0, j.note("save")); err != nil {
		t.Fatal(err)
	}
	if err := r.OnCleanup("tab", "Tab.stop", 10, 0, j.note("stop")); err != nil {
		t.Fatal(err)
	}
	if err := r.OnCleanup("ctl", "Controller.cleanup", 0, 0, j.note("ctl")); err != nil {
		t.Fatal(err)
	}
	db := mustTrack(t, r, "files", nil, registry.WithType("file"), registry.WithCleanup(j.note("close-db")))
	clk.Advance(time.Second)
	mustTrack(t, r, "files", nil, registry.WithType("file"), registry.WithCleanup(j.note("close-log")))
	clk.Advance(time.Second)
	// The worker lives in another coordinator but uses the database.
	mustTrack(t, r, "workers", nil, registry.WithType("worker"), registry.WithDependsOn(db), registry.WithCleanup(j.note("stop-worker")))
	mustTrack(t, r, "workers", nil, registry.WithType("timer"), registry.WithCleanup(j.note("stop-timer")))
	mustTrack(t, r, "main", nil, registry.WithType("socket"), registry.WithCleanup(j.note("main-socket")))
	return r
}

func TestDestroy_RunsThePlannersOrder(t *testing.T) {
	var j journal
	r := tabTree(t, &j)
	ix, err := snapshot.NewIndex(r.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	want, err := planner.NewPlan(ix, planner.Scope{Component: "tab"})
	if err != nil {
		t.Fatal(err)
	}
	var steps stepLog
	if err := r.Destroy(steps.ctx(context.Background()), "tab"); err != nil {
		t.Fatal(err)
	}
	if got := steps.ids(); got != planIDs(want) {
		t.Errorf("steps run:\n  %s\nplan:\n  %s", got, planIDs(want))
	}
	// What ran, in order: the newer coordinator (files) first, except that
	// the database waits for the worker that uses it; then the
	// controller's callback, then the tab's by priority.
	if got, want := j.String(), "close-log stop-worker close-db stop-timer ctl stop save"; got != want {
		t.Errorf("cleanup order:\n  %s\nwant\n  %s", got, want)
	}
	st := r.Stats()
	if st.AliveComponents != 1 || st.DestroyedComponents != 0 || st.Live != 1 || st.Cleanups != 0 {
		t.Errorf("after Destroy: %+v", st)
	}
	if _, err := r.Track("ctl", 1); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("destroyed child still known: %v", err)
	}
}

func TestDestroy_StubbornWorkerIsTerminatedAfterItsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"tab"}, registry.WithStackCapture(false))
		w := newWorker(true)
		mustTrack(t, r, "tab", w, registry.WithName("analysis"))
		var j journal
		if err := r.OnCleanup("tab", "after", 0, 0, j.note("callback")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := r.Destroy(context.Background(), "tab")
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("Destroy took %v, want the worker's 2s default timeout", elapsed)
		}
		var se *registry.StepError
		if !errors.Is(err, coordinator.ErrTerminated) || !errors.As(err, &se) || se.StillRunning {
			t.Fatalf("err = %v", err)
		}
		if want := `step 2: resource r-1 (worker "analysis" of tab): did not quit in time and was terminated (context deadline exceeded)`; err.Error() != want {
			t.Errorf("err:\n  %v\nwant\n  %s", err, want)
		}
		if w.String() != "quit terminate" {
			t.Errorf("worker calls %s", w.String())
		}
		if r.Stats().Live != 0 {
			t.Error("the terminated worker is still tracked")
		}
	})
}

func TestDestroy_GoesOnAfterAFailingStep(t *testing.T) {
	var j journal
	r, _ := newReg(t, []string{"tab"}, registry.WithStackCapture(false))
	_ = r.OnCleanup("tab", "Tab.save", 10, 0, func(context.Context) error { j.add("save"); return errors.New("disk full") })
	_ = r.OnCleanup("tab", "Tab.flush", 5, 0, func(context.Context) error { j.add("flush"); panic("oops") })
	mustTrack(t, r, "tab", nil, registry.WithType("file"), registry.WithCleanup(func(context.Context) error {
		j.add("close")
		return errors.New("bad descriptor")
	}))
	mustTrack(t, r, "tab", nil, registry.WithCleanup(j.note("free")))
	err := r.Destroy(context.Background(), "tab")
	if got := j.String(); got != "save flush close free" {
		t.Errorf("ran %q: cleanup stopped at a failure", got)
	}
	for _, want := range []string{
		`step 1: callback c-1 ("Tab.save" of tab): disk full`,
		`step 2: callback c-2 ("Tab.flush" of tab): panic: oops`,
		`step 3: resource r-1 (file of tab): bad descriptor`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if r.Stats().AliveComponents != 0 {
		t.Error("the component was not destroyed")
	}
}

func TestDestroy_StepStillRunningAfterItsTimeoutIsNamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"tab"}, registry.WithGrace(500*time.Millisecond))
		unblock := make(chan struct{})
		var j journal
		_ = r.OnCleanup("tab", "Tab.hang", 10, time.Second, func(context.Context) error { <-unblock; return nil })
		_ = r.OnCleanup("tab", "Tab.next", 5, 0, j.note("next"))
		start := time.Now()
		err := r.Destroy(context.Background(), "tab")
		if elapsed := time.Since(start); elapsed != 1500*time.Millisecond {
			t.Errorf("gave up after %v, want timeout 1s + grace 0.5s", elapsed)
		}
		var se *registry.StepError
		if !errors.As(err, &se) || !se.StillRunning || se.Budget {
			t.Fatalf("err = %v", err)
		}
		if want := `step 1: callback c-1 ("Tab.hang" of tab): still running after its 1s timeout (context deadline exceeded)`; err.Error() != want {
			t.Errorf("err:\n  %v\nwant\n  %s", err, want)
		}
		if j.String() != "next" {
			t.Error("the next step did not run")
		}
		close(unblock)
	})
}

func TestDestroy_BudgetNamesTheStepStillRunningAndTheSkippedOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"tab", "pane<tab"}, registry.WithGrace(0), registry.WithStackCapture(false))
		unblock := make(chan struct{})
		var j journal
		_ = r.OnCleanup("pane", "Pane.hang", 0, 0, func(context.Context) error { <-unblock; return nil })
		_ = r.OnCleanup("tab", "Tab.save", 0, 0, j.note("save"))
		mustTrack(t, r, "tab", nil, registry.WithCleanup(j.note("free")))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var steps stepLog
		start := time.Now()
		err := r.Destroy(steps.ctx(ctx), "tab")
		if elapsed := time.Since(start); elapsed != 3*time.Second {
			t.Errorf("Destroy took %v, want the 3s budget", elapsed)
		}
		if j.String() != "" {
			t.Errorf("steps ran after the budget: %s", j.String())
		}
		want := []string{
			`step 1: callback c-1 ("Pane.hang" of pane): still running when the cleanup budget ran out (context deadline exceeded)`,
			`cleanup budget ran out (context deadline exceeded) during step 1, callback c-1 ("Pane.hang" of pane), after 3s: 4 steps not run: component pane, callback c-2, resource r-1, component tab`,
		}
		if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
			t.Errorf("err:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		var skipped *registry.SkippedError
		if !errors.As(err, &skipped) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %#v", err)
		}
		if skipped.During == nil || skipped.During.Step.ID != "c-1" {
			t.Errorf("During = %+v, want the hanging callback", skipped.During)
		}
		// The report says step by step what was left, and why.
		var ce *registry.CleanupError
		if !errors.As(err, &ce) {
			t.Fatalf("err is not a *CleanupError: %#v", err)
		}
		var left []string
		for _, u := range ce.Report.Unfinished {
			left = append(left, fmt.Sprintf("%s %s skipped=%v", u.Step.Kind, u.Step.ID, u.Skipped))
		}
		if want := []string{"callback c-1 skipped=false", "component pane skipped=true", "callback c-2 skipped=true",
			"resource r-1 skipped=true", "component tab skipped=true"}; !slices.Equal(left, want) {
			t.Errorf("unfinished:\n  %s\nwant\n  %s", strings.Join(left, "\n  "), strings.Join(want, "\n  "))
		}
		if ce.Report.Scope != "tab" || ce.Report.Steps != 5 || ce.Report.Done != 0 || ce.Report.Elapsed != 3*time.Second {
			t.Errorf("report = %+v", ce.Report)
		}
		if last, ok := r.LastCleanup(); !ok || last.Scope != "tab" || len(last.Unfinished) != 5 {
			t.Errorf("LastCleanup = %+v, %v", last, ok)
		}
		if got := steps.all(); len(got) != 5 || !got[4].Skipped || got[0].Skipped || got[0].Err == nil {
			t.Errorf("observed %+v", got)
		}
		// The components are destroyed all the same: the leftover resource
		// is an orphan that snapshots and the sweep see.
		snap := r.Snapshot()
		if c := component(snap, "tab"); c == nil || c.State != "destroyed" || len(snap.Resources) != 1 {
			t.Errorf("after the budget: %+v", snap)
		}
		close(unblock)
	})
}

func TestDestroy_ADestroyedComponentReleasesItsLeftovers(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	var j journal
	mustTrack(t, r, "tab", nil, registry.WithCleanup(j.note("free")))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Destroy(done, "tab"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if err := r.Destroy(context.Background(), "tab"); err != nil {
		t.Fatal(err)
	}
	if j.String() != "free" || r.Stats().DestroyedComponents != 0 {
		t.Errorf("ran %q; stats %+v", j.String(), r.Stats())
	}
	if err := r.Destroy(context.Background(), "tab"); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("forgotten component: %v", err)
	}
}

func TestDestroy_NothingNewJoinsAComponentBeingDestroyed(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	var trackErr, regErr, cbErr error
	_ = r.OnCleanup("tab", "Tab.cleanup", 0, 0, func(context.Context) error {
		_, trackErr = r.Track("tab", 1)
		regErr = r.RegisterComponent("child", registry.WithParent("tab"))
		cbErr = r.OnCleanup("tab", "late", 0, 0, func(context.Context) error { return nil })
		return nil
	})
	if err := r.Destroy(context.Background(), "tab"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{trackErr, regErr, cbErr} {
		if !errors.Is(err, registry.ErrDestroyed) {
			t.Errorf("during Destroy: %v, want ErrDestroyed", err)
		}
	}
}

func TestDestroy_ReportsDestructionChildrenFirst(t *testing.T) {
	var mu sync.Mutex
	var evs []string
	r, _ := newReg(t, []string{"tab", "ctl<tab", "workers<ctl", "ui<ctl"}, registry.WithOnDestroyed(func(e registry.DestroyedEvent) {
		mu.Lock()
		evs = append(evs, fmt.Sprintf("%s@%s/%v", e.ID, e.At.Format("15:04:05"), e.Collected))
		mu.Unlock()
	}))
	if err := r.Destroy(context.Background(), "tab"); err != nil {
		t.Fatal(err)
	}
	// Newest sibling first; the clock stood at 12:00:04 after registration.
	if got, want := strings.Join(evs, " "), "ui@12:00:04/false workers@12:00:04/false ctl@12:00:04/false tab@12:00:04/false"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	if err := r.Destroy(context.Background(), "ghost"); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("unknown: %v", err)
	}
}

func TestCleanupAll_CleansEverythingOrphansIncluded(t *testing.T) {
	var j journal
	r := tabTree(t, &j)
	// An orphan: a component destroyed before its resource was released.
	if err := r.RegisterComponent("old"); err != nil {
		t.Fatal(err)
	}
	mustTrack(t, r, "old", nil, registry.WithCleanup(j.note("orphan")))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = r.Destroy(done, "old")

	var steps stepLog
	if err := r.CleanupAll(steps.ctx(context.Background())); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"orphan", "stop-worker", "close-db", "main-socket", "save"} {
		if !strings.Contains(j.String(), want) {
			t.Errorf("%s not run: %s", want, j.String())
		}
	}
	st := r.Stats()
	if st.Live != 0 || st.AliveComponents != 0 || st.DestroyedComponents != 0 {
		t.Errorf("after CleanupAll: %+v", st)
	}
	if !strings.HasSuffix(steps.ids(), "component:main") {
		t.Errorf("the root was not destroyed last: %s", steps.ids())
	}
}

func TestRelease_SeveralHandlesInPlanOrder(t *testing.T) {
	var j journal
	r, clk := newReg(t, []string{"c"})
	db := mustTrack(t, r, "c", nil, registry.WithType("file"), registry.WithCleanup(j.note("db")))
	clk.Advance(time.Second)
	cache := mustTrack(t, r, "c", nil, registry.WithType("memory"), registry.WithCleanup(j.note("cache")))
	clk.Advance(time.Second)
	query := mustTrack(t, r, "c", nil, registry.WithType("memory"), registry.WithDependsOn(db), registry.WithCleanup(j.note("query")))
	w := mustTrack(t, r, "c", nil, registry.WithType("worker"), registry.WithCleanup(j.note("worker")))
	if err := r.Release(context.Background(), db, cache, query, w, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := j.String(), "worker query db cache"; got != want {
		t.Errorf("released %s, want %s", got, want)
	}
	other := registry.New()
	_ = other.RegisterComponent("x")
	foreign, _ := other.Track("x", 1)
	if err := r.Release(context.Background(), foreign); err == nil || !strings.Contains(err.Error(), "not a resource of this registry") {
		t.Errorf("foreign handle: %v", err)
	}
}

func TestScope_CloseReleasesWhatItTracked(t *testing.T) {
	var j journal
	r, _ := newReg(t, []string{"tab"})
	outside := mustTrack(t, r, "tab", nil, registry.WithCleanup(j.note("outside")))
	sc := r.NewScope("tab")
	f, err := sc.Track(nil, registry.WithType("file"), registry.WithCleanup(j.note("file")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Track(nil, registry.WithType("worker"), registry.WithCleanup(j.note("worker"))); err != nil {
		t.Fatal(err)
	}
	_ = f.Release(context.Background()) // released early: Close skips it
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if got := j.String(); got != "file worker" {
		t.Errorf("released %s", got)
	}
	if outside.Released() {
		t.Error("Close released a resource tracked outside the scope")
	}
	if _, err := sc.Track(1); !errors.Is(err, registry.ErrScopeClosed) {
		t.Errorf("Track after Close: %v", err)
	}
	if err := sc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.NewScope("ghost").Track(1); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("scope of unknown owner: %v", err)
	}
}

func TestCoordinators_WorkAgainstTheRealRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"tab", "ctl<tab"}, registry.WithStackCapture(false))
		ws, err := coordinator.NewWorkers(r, coordinator.ComponentSpec{ID: "workers", Parent: "ctl", Name: "TabWorkers"})
		if err != nil {
			t.Fatal(err)
		}
		ui, err := coordinator.NewUI(r, coordinator.ComponentSpec{ID: "ui", Parent: "ctl"})
		if err != nil {
			t.Fatal(err)
		}
		stubborn, finishing := newWorker(true), newWorker(false)
		if _, err := ws.TrackWorker(stubborn, coordinator.ResourceSpec{Name: "scan", Timeout: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
		h, err := ws.TrackWorker(finishing, coordinator.ResourceSpec{Name: "thumbs"})
		if err != nil {
			t.Fatal(err)
		}
		obj := &object{}
		if _, err := ui.TrackObject(obj, coordinator.ResourceSpec{Name: "dialog"}); err != nil {
			t.Fatal(err)
		}
		snap := r.Snapshot()
		if c := component(snap, "workers"); c == nil || c.Type != "coordinator" || c.Labels["coordinator"] != "worker" || c.Parent != "ctl" {
			t.Errorf("worker coordinator component: %+v", c)
		}
		// A worker that finishes releases itself.
		finishing.finish()
		synctest.Wait()
		if ws.Active() != 1 || resources(r.Snapshot())[h.ID()].ID != "" {
			t.Errorf("finished worker still tracked: active %d", ws.Active())
		}
		// Destroying the tab stops the other, terminating it after 3s.
		start := time.Now()
		err = r.Destroy(context.Background(), "tab")
		if !errors.Is(err, coordinator.ErrTerminated) || time.Since(start) != 3*time.Second {
			t.Errorf("err = %v after %v", err, time.Since(start))
		}
		if obj.String() != "disconnect deleteLater" || stubborn.String() != "quit terminate" {
			t.Errorf("object %v, worker %s", obj.String(), stubborn.String())
		}
		if _, err := ws.TrackWorker(newWorker(false), coordinator.ResourceSpec{}); err == nil {
			t.Error("tracking into a destroyed coordinator succeeded")
		}
		_ = ws.Close(context.Background())
		_ = ui.Close(context.Background())
		synctest.Wait()
	})
}
