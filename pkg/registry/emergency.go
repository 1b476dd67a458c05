package registry

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

var (
	signalNotify = signal.Notify
	signalStop   = signal.Stop
)

// EmergencyCleanup arranges for CleanupAll to run exactly once: on the
// first SIGINT or SIGTERM, or when the returned exit function is called
// (defer it in main for a normal exit), whichever comes first. The
// cleanup runs within budget (0: no limit) even when ctx is cancelled.
//
// After a signal's cleanup, the returned context is cancelled (its cause
// names the signal) so the program can wind down and return from main;
// signal handling is restored to the default, so a second Ctrl-C ends the
// process at once. exit returns the cleanup's error, waiting for it if a
// signal started it, and stops the signal watch. That error is nil when
// every step succeeded, else a *CleanupError whose Report lists what the
// cleanup did not finish and why: failed steps, steps given up on at their
// timeout while still running, and steps the budget left no time for
// (with the step it ran out during). While it runs, InProgress (and a
// served /stats) shows the step in progress and what waits on it;
// afterwards LastCleanup (and /stats) keeps the report.
func (r *Registry) EmergencyCleanup(ctx context.Context, budget time.Duration) (context.Context, func() error) {
	sigCtx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 1)
	r.notify(sigs, os.Interrupt, syscall.SIGTERM)
	var (
		once    sync.Once
		err     error
		stopped = make(chan struct{})
		stopOne sync.Once
	)
	run := func() error {
		once.Do(func() {
			r.stopNotify(sigs)
			cctx := context.WithoutCancel(ctx)
			if budget > 0 {
				var c context.CancelFunc
				cctx, c = context.WithTimeout(cctx, budget)
				defer c()
			}
			err = r.CleanupAll(cctx)
		})
		return err
	}
	go func() {
		select {
		case sig := <-sigs:
			r.debug("emergency cleanup on signal: " + sig.String())
			_ = run()
			cancel(fmt.Errorf("received %v: registry cleaned up", sig))
		case <-stopped:
		}
	}()
	exit := func() error {
		e := run()
		stopOne.Do(func() { close(stopped) })
		cancel(context.Canceled)
		return e
	}
	return sigCtx, exit
}
