package coordinator_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// fakeWorker records the calls cleanup makes. A cooperative one finishes
// when asked to quit; a stubborn one only when terminated.
type fakeWorker struct {
	stubborn     bool
	terminateErr error

	mu    sync.Mutex
	calls []string
	once  sync.Once
	done  chan struct{}
}

func newFakeWorker(stubborn bool) *fakeWorker {
	return &fakeWorker{stubborn: stubborn, done: make(chan struct{})}
}

func (w *fakeWorker) record(call string) {
	w.mu.Lock()
	w.calls = append(w.calls, call)
	w.mu.Unlock()
}

func (w *fakeWorker) Calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

func (w *fakeWorker) finish()               { w.once.Do(func() { close(w.done) }) }
func (w *fakeWorker) Done() <-chan struct{} { return w.done }
func (w *fakeWorker) Cancel()               { w.record("cancel") }

func (w *fakeWorker) Quit() {
	w.record("quit")
	if !w.stubborn {
		w.finish()
	}
}

func (w *fakeWorker) Terminate() error {
	w.record("terminate")
	if w.terminateErr != nil {
		return w.terminateErr
	}
	w.finish()
	return nil
}

func TestWorkers_IgnoringQuitIsTerminatedAfterItsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		ws, err := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
		if err != nil {
			t.Fatal(err)
		}
		stubborn := newFakeWorker(true)
		if _, err := ws.TrackWorker(stubborn, coordinator.ResourceSpec{Name: "analysis", Timeout: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = ws.ReleaseAll(context.Background())
		if elapsed := time.Since(start); elapsed != 3*time.Second {
			t.Errorf("terminated after %v, want after its 3s timeout", elapsed)
		}
		if !errors.Is(err, coordinator.ErrTerminated) {
			t.Errorf("err = %v, want the termination reported", err)
		}
		if got, want := stubborn.Calls(), []string{"cancel", "quit", "terminate"}; !slices.Equal(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
		if ws.Active() != 0 || ws.Len() != 0 {
			t.Errorf("Active %d, Len %d after ReleaseAll", ws.Active(), ws.Len())
		}
	})
}

func TestWorkers_DefaultTimeoutIsTheRegistrys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake() // the fake's default for workers is 2s, like pkg/registry's
		ws, _ := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
		if _, err := ws.TrackWorker(newFakeWorker(true), coordinator.ResourceSpec{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = ws.Close(context.Background())
		if elapsed := time.Since(start); elapsed != 2*time.Second {
			t.Errorf("terminated after %v, want 2s", elapsed)
		}
	})
}

func TestWorkers_CooperativeWorkerQuitsWithoutTerminate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		ws, _ := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
		w := newFakeWorker(false)
		if _, err := ws.TrackWorker(w, coordinator.ResourceSpec{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := ws.ReleaseAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("release took %v, want no wait", elapsed)
		}
		if got, want := w.Calls(), []string{"cancel", "quit"}; !slices.Equal(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
	})
}

func TestWorkers_FinishedWorkerReleasesItself(t *testing.T) {
	f := newFake()
	ws, _ := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
	w := newFakeWorker(false)
	h, err := ws.TrackWorker(w, coordinator.ResourceSpec{Name: "thumbnailer"})
	if err != nil {
		t.Fatal(err)
	}
	if ws.Active() != 1 {
		t.Fatalf("Active = %d, want 1", ws.Active())
	}
	w.finish()
	waitReleased(t, f, h.ID())
	if ws.Active() != 0 || ws.Len() != 0 {
		t.Errorf("Active %d, Len %d after the worker finished", ws.Active(), ws.Len())
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("a finished worker was asked to %v", calls)
	}
}

func TestWorkers_FailedTerminateIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		ws, _ := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
		w := newFakeWorker(true)
		w.terminateErr = errors.New("thread is in a system call")
		if _, err := ws.TrackWorker(w, coordinator.ResourceSpec{Timeout: time.Second}); err != nil {
			t.Fatal(err)
		}
		err := ws.ReleaseAll(context.Background())
		if err == nil || !errors.Is(err, w.terminateErr) || !strings.Contains(err.Error(), "did not quit in time") {
			t.Errorf("err = %v", err)
		}
		w.finish()
	})
}

func TestWorkers_TrackWorkerErrors(t *testing.T) {
	f := newFake()
	ws, _ := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
	if _, err := ws.TrackWorker(nil, coordinator.ResourceSpec{}); err == nil {
		t.Error("nil worker: no error")
	}
	_ = ws.Close(context.Background())
	if _, err := ws.TrackWorker(newFakeWorker(false), coordinator.ResourceSpec{}); !errors.Is(err, coordinator.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestWorkers_KeepTypeAndCleanupGiven(t *testing.T) {
	f := newFake()
	ws, _ := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers"})
	called := false
	w := newFakeWorker(false)
	h, _ := ws.TrackWorker(w, coordinator.ResourceSpec{Type: "thread", Cleanup: func(context.Context) error { called = true; return nil }})
	if got := f.handles[0].spec.Type; got != "thread" {
		t.Errorf("type %q, want thread", got)
	}
	_ = h.Release(context.Background())
	if !called || len(w.Calls()) != 0 {
		t.Errorf("own cleanup called %v, worker calls %v", called, w.Calls())
	}
}

func TestStopWorker_LeavesAFinishedWorkerAlone(t *testing.T) {
	w := newFakeWorker(true)
	w.finish()
	if err := coordinator.StopWorker(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("calls %v", calls)
	}
}

func TestGoroutine_QuitCancelsItsContext(t *testing.T) {
	g := coordinator.Go(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if g.Err() != nil {
		t.Error("Err before Done")
	}
	if err := coordinator.StopWorker(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	<-g.Done()
	if !errors.Is(g.Err(), context.Canceled) {
		t.Errorf("Err = %v", g.Err())
	}
	if g.Terminate() != nil {
		t.Error("Terminate of a finished goroutine failed")
	}
}

func TestGoroutine_IgnoringItsContextCannotBeTerminated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		g := coordinator.Go(context.Background(), func(context.Context) error {
			<-release
			return nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := coordinator.StopWorker(ctx, g)
		if !errors.Is(err, coordinator.ErrCannotTerminate) || !strings.Contains(err.Error(), "did not quit in time (context deadline exceeded)") {
			t.Errorf("err = %v", err)
		}
		close(release)
		<-g.Done()
	})
}
