package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Worker is a background task that cleanup can stop: it is asked to quit,
// waited for, and terminated when it does not finish in time.
type Worker interface {
	// Quit asks the worker to stop at its next chance. It must not block.
	Quit()
	// Done is closed when the worker has finished.
	Done() <-chan struct{}
	// Terminate stops the worker forcibly and returns once it is stopped,
	// or an error saying why it could not be.
	Terminate() error
}

// Canceler is implemented by workers that can cancel their current work
// before they are asked to quit. Cancel must not block.
type Canceler interface {
	Cancel()
}

// ErrTerminated is returned (wrapped) by StopWorker when a worker did not
// quit in time and had to be terminated.
var ErrTerminated = errors.New("did not quit in time and was terminated")

// ErrCannotTerminate is returned by Terminate of a Goroutine: Go offers no
// way to stop a goroutine from outside.
var ErrCannotTerminate = errors.New("a goroutine cannot be terminated")

// StopWorker runs the worker cleanup strategy: cancel (when w is a
// Canceler) → quit → wait until w is done or ctx is done → terminate. A
// worker that is already done is left alone. When w had to be terminated
// the error wraps ErrTerminated (and Terminate's own error, if any), so the
// failure is reported even though w is stopped.
func StopWorker(ctx context.Context, w Worker) error {
	done := w.Done()
	select {
	case <-done:
		return nil
	default:
	}
	if c, ok := w.(Canceler); ok {
		c.Cancel()
	}
	w.Quit()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	// The worker may have finished just as time ran out.
	select {
	case <-done:
		return nil
	default:
	}
	cause := context.Cause(ctx)
	if err := w.Terminate(); err != nil {
		return fmt.Errorf("%w (%v); terminate failed: %w", errDidNotQuit, cause, err)
	}
	return fmt.Errorf("%w (%v)", ErrTerminated, cause)
}

// errDidNotQuit says a worker ignored quit when terminating it failed too.
var errDidNotQuit = errors.New("did not quit in time")

// Goroutine is a Worker that runs a function in its own goroutine. Cancel
// and Quit cancel the function's context; Done is closed when it returns.
type Goroutine struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Go runs fn in a new goroutine, with a context derived from ctx that
// Cancel and Quit cancel, and returns it as a Worker.
func Go(ctx context.Context, fn func(ctx context.Context) error) *Goroutine {
	ctx, cancel := context.WithCancel(ctx)
	g := &Goroutine{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		defer cancel()
		g.err = fn(ctx)
	}()
	return g
}

// Cancel cancels the function's context.
func (g *Goroutine) Cancel() { g.cancel() }

// Quit cancels the function's context.
func (g *Goroutine) Quit() { g.cancel() }

// Done is closed when the function has returned.
func (g *Goroutine) Done() <-chan struct{} { return g.done }

// Err is what the function returned, once Done is closed; nil before.
func (g *Goroutine) Err() error {
	select {
	case <-g.done:
		return g.err
	default:
		return nil
	}
}

// Terminate returns ErrCannotTerminate unless the function has returned:
// a goroutine that ignores its context cannot be stopped from outside.
func (g *Goroutine) Terminate() error {
	select {
	case <-g.done:
		return nil
	default:
		return ErrCannotTerminate
	}
}

// Workers is a worker coordinator: it tracks the workers of one component,
// releases each one automatically when it finishes, and stops the others
// on cleanup with StopWorker (cancel → quit → wait(timeout) → terminate).
// The zero value is usable after Bind. A Workers is safe for concurrent use.
type Workers struct {
	Base

	wmu    sync.Mutex
	active map[Handle]chan struct{} // tracked worker → its watcher's stop channel
}

// NewWorkers registers component c in reg and returns a worker
// coordinator bound to it.
func NewWorkers(reg Registry, c ComponentSpec) (*Workers, error) {
	return newBound[Workers](reg, c)
}

// Bind registers component c in reg (type "coordinator" and label
// coordinator=worker unless c says otherwise) and binds w to it.
func (w *Workers) Bind(reg Registry, c ComponentSpec) error {
	if w == nil {
		return ErrNotBound
	}
	return w.bind(reg, c, "worker")
}

// TrackWorker tracks wk as a resource of w's component (type "worker"
// unless r says otherwise). Unless r sets its own Cleanup, releasing it
// runs StopWorker, bounded by r.Timeout (0: the registry's default for
// the type). When wk finishes, it is released and forgotten.
func (w *Workers) TrackWorker(wk Worker, r ResourceSpec) (Handle, error) {
	if w == nil {
		return nil, ErrNotBound
	}
	if wk == nil {
		return nil, errors.New("tracking worker: nil worker")
	}
	h, err := w.trackAs(wk, r, "worker", func(ctx context.Context) error { return StopWorker(ctx, wk) })
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	w.wmu.Lock()
	if w.active == nil {
		w.active = make(map[Handle]chan struct{})
	}
	w.active[h] = stop
	w.wmu.Unlock()
	go func() {
		select {
		case <-wk.Done():
			w.finished(h)
		case <-stop:
		}
	}()
	return h, nil
}

// finished releases and forgets a worker that has finished on its own.
func (w *Workers) finished(h Handle) {
	w.wmu.Lock()
	_, ok := w.active[h]
	delete(w.active, h)
	w.wmu.Unlock()
	if ok {
		// The worker is done: its cleanup returns at once.
		_ = w.Release(context.Background(), h)
	}
}

// stopWatchersAfter stops the watchers once the base has released or
// closed (err, returned as it is), unless w was never bound.
func (w *Workers) stopWatchersAfter(err error) error {
	if !errors.Is(err, ErrNotBound) {
		w.stopWatchers()
	}
	return err
}

// stopWatchers stops the watchers of every tracked worker.
func (w *Workers) stopWatchers() {
	w.wmu.Lock()
	for h, stop := range w.active {
		close(stop)
		delete(w.active, h)
	}
	w.wmu.Unlock()
}

// Active is the number of tracked workers that have not finished and have
// not been released through w.
func (w *Workers) Active() int {
	if w == nil {
		return 0
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return len(w.active)
}

// ReleaseAll stops and releases every worker (and other resource) tracked
// through w, in cleanup-plan order, returning every failure joined.
func (w *Workers) ReleaseAll(ctx context.Context) error {
	if w == nil {
		return ErrNotBound
	}
	return w.stopWatchersAfter(w.Base.ReleaseAll(ctx))
}

// Close destroys w's component through the registry, which stops its
// workers, and closes w.
func (w *Workers) Close(ctx context.Context) error {
	if w == nil {
		return ErrNotBound
	}
	return w.stopWatchersAfter(w.Base.Close(ctx))
}
