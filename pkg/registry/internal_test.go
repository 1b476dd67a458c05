package registry

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// fakeSignals replaces signal handling with a channel the test sends on.
type fakeSignals struct {
	mu      sync.Mutex
	c       chan<- os.Signal
	sigs    []os.Signal
	stopped bool
}

func (f *fakeSignals) install(r *Registry) {
	r.notify = func(c chan<- os.Signal, sig ...os.Signal) {
		f.mu.Lock()
		f.c, f.sigs = c, sig
		f.mu.Unlock()
	}
	r.stopNotify = func(c chan<- os.Signal) {
		f.mu.Lock()
		f.stopped = f.stopped || c == f.c
		f.mu.Unlock()
	}
}

func emergencyRegistry(t *testing.T) (*Registry, *fakeSignals, *atomic.Int32) {
	t.Helper()
	r := New(WithStackCapture(false))
	var f fakeSignals
	f.install(r)
	var runs atomic.Int32
	if err := r.RegisterComponent("app"); err != nil {
		t.Fatal(err)
	}
	if err := r.OnCleanup("app", "App.shutdown", 0, 0, func(context.Context) error {
		runs.Add(1)
		return errors.New("could not save settings")
	}); err != nil {
		t.Fatal(err)
	}
	return r, &f, &runs
}

func TestEmergencyCleanup_RunsOnceOnSignal(t *testing.T) {
	r, f, runs := emergencyRegistry(t)
	ctx, exit := r.EmergencyCleanup(context.Background(), 0)
	if !slices.Equal(f.sigs, []os.Signal{os.Interrupt, syscall.SIGTERM}) {
		t.Errorf("watching %v", f.sigs)
	}
	f.c <- syscall.SIGTERM
	<-ctx.Done()
	if cause := context.Cause(ctx); cause == nil || !strings.Contains(cause.Error(), "received terminated") {
		t.Errorf("cause %v", cause)
	}
	if runs.Load() != 1 || !f.stopped {
		t.Errorf("runs %d, signal handling restored %v", runs.Load(), f.stopped)
	}
	// exit reports the same cleanup's error without running it again.
	for i := 0; i < 2; i++ {
		if err := exit(); err == nil || !strings.Contains(err.Error(), "could not save settings") {
			t.Errorf("exit: %v", err)
		}
	}
	if runs.Load() != 1 {
		t.Errorf("cleanup ran %d times", runs.Load())
	}
}

func TestEmergencyCleanup_RunsOnceAtNormalExit(t *testing.T) {
	r, f, runs := emergencyRegistry(t)
	parent, cancel := context.WithCancel(context.Background())
	cancel() // the program's own context is done: the cleanup still runs
	ctx, exit := r.EmergencyCleanup(parent, 0)
	err := exit()
	// The error says what the cleanup did not finish, and why.
	var ce *CleanupError
	if !errors.As(err, &ce) || len(ce.Report.Unfinished) != 1 || ce.Report.Unfinished[0].Step.ID != "c-1" ||
		!strings.Contains(ce.Report.Unfinished[0].Err.Error(), "could not save settings") || ce.Report.Steps != 2 || ce.Report.Done != 1 {
		t.Errorf("exit: %v; report %+v", err, ce)
	}
	<-ctx.Done()
	if runs.Load() != 1 || !f.stopped {
		t.Errorf("runs %d, stopped %v", runs.Load(), f.stopped)
	}
	// A signal after exit finds nobody listening, and nothing runs twice.
	select {
	case f.c <- os.Interrupt:
	default:
	}
	_ = exit()
	if runs.Load() != 1 {
		t.Errorf("runs %d", runs.Load())
	}
}

func TestEmergencyCleanup_SignalAndExitTogetherRunOnce(t *testing.T) {
	r, f, runs := emergencyRegistry(t)
	_, exit := r.EmergencyCleanup(context.Background(), 0)
	var wg sync.WaitGroup
	wg.Go(func() { f.c <- os.Interrupt })
	wg.Go(func() { _ = exit() })
	wg.Wait()
	_ = exit()
	if runs.Load() != 1 {
		t.Errorf("runs %d", runs.Load())
	}
}

func TestPlan_BreaksADependencyCycleAndReportsIt(t *testing.T) {
	r := New()
	in := &planInput{snap: &snapshot.Snapshot{
		Format:     snapshot.FormatV1,
		Components: []snapshot.Component{{ID: "c", State: snapshot.StateAlive}},
		Resources: []snapshot.Resource{
			{ID: "r-1", Type: "memory", Owner: "c", State: snapshot.StateActive, DependsOn: []string{"r-2"}},
			{ID: "r-2", Type: "memory", Owner: "c", State: snapshot.StateActive, DependsOn: []string{"r-1", "r-3"}},
			{ID: "r-3", Type: "memory", Owner: "c", State: snapshot.StateActive},
			{ID: "r-4", Type: "memory", Owner: "c", State: snapshot.StateActive, DependsOn: []string{"r-4"}},
		},
	}}
	p, errs := r.plan(in, planner.Scope{})
	if p == nil {
		t.Fatalf("no plan: %v", errs)
	}
	var cyc *planner.CycleError
	if len(errs) == 0 || !errors.As(errs[0], &cyc) {
		t.Fatalf("cycle not reported: %v", errs)
	}
	if len(p.Steps) != 5 {
		t.Errorf("%d steps", len(p.Steps))
	}
	// The edge out of the cycle is kept: r-2 still goes before r-3.
	pos := map[string]int{}
	for _, s := range p.Steps {
		pos[s.ID] = s.Order
	}
	if pos["r-2"] > pos["r-3"] {
		t.Errorf("r-2 at %d, r-3 at %d", pos["r-2"], pos["r-3"])
	}
}
