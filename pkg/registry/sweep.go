package registry

import (
	"context"
	"log/slog"
	"time"

	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// SweepReport says what one sweep found and cleaned.
type SweepReport struct {
	// At is when the sweep started, by the registry's clock.
	At time.Time
	// Collected are the components this sweep found garbage-collected
	// without Destroy (before the runtime reported it), now destroyed.
	Collected []string
	// Released are the live resources of destroyed components that the
	// sweep cleaned up, as they stood before.
	Released []snapshot.Resource
	// Err joins the failures of the sweep's cleanup steps.
	Err error
}

// Sweep cleans up the live resources of destroyed components — the
// orphans a component collected without Destroy leaves behind — in plan
// order, bounded by ctx. It reports to the WithOnSweep hook too.
func (r *Registry) Sweep(ctx context.Context) (SweepReport, error) {
	rep := SweepReport{At: r.now()}
	var evs []DestroyedEvent
	var orphans []*Handle
	r.mu.Lock()
	var gone []*component
	for _, c := range r.compTable.items {
		if c != nil && c.state == csAlive && c.alive != nil && !c.alive() {
			gone = append(gone, c)
		}
	}
	for _, c := range gone {
		n := len(evs)
		evs = r.collect(c, evs)
		for _, ev := range evs[n:] {
			rep.Collected = append(rep.Collected, ev.ID)
		}
	}
	for _, c := range r.compTable.items {
		if c == nil || c.state != csDestroyed {
			continue
		}
		for h := c.res.first; h != nil; h = h.siblings.next {
			if r.res.states[h.slot] == stActive {
				orphans = append(orphans, h)
			}
		}
	}
	r.mu.Unlock()
	r.destroyed(evs...)

	if in := r.prepareSet(orphans); in != nil {
		rep.Released = in.snap.Resources
		_, rep.Err = r.runPlan(ctx, in, planner.Scope{})
	}
	if r.debugging() {
		r.debug("sweep", slog.Int("collected", len(rep.Collected)), slog.Int("released", len(rep.Released)),
			slog.Any("error", rep.Err))
	}
	if r.onSweep != nil {
		r.onSweep(rep)
	}
	return rep, rep.Err
}

// StartSweep runs Sweep in the background every sweep interval (see
// WithSweepInterval) until ctx is done. Reports go to the WithOnSweep hook.
func (r *Registry) StartSweep(ctx context.Context) {
	go func() {
		t := time.NewTicker(r.sweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = r.Sweep(ctx)
			}
		}
	}()
}
