package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// StepResult is the outcome of one cleanup step, as ObserveSteps reports it.
type StepResult struct {
	// Step is the plan step.
	Step planner.Step
	// Err is nil when the step succeeded; else a *StepError, or for a
	// skipped step the *SkippedError of the whole cleanup.
	Err error
	// Elapsed is how long the step ran (or until cleanup gave up on it).
	Elapsed time.Duration
	// Skipped is true when the step did not run: the budget had run out.
	Skipped bool
	// Waiting, for a step given up on at its timeout (still running), are
	// the first steps that waited on it by the plan's hard constraints and
	// run without it (at most MaxWaiting); WaitingTotal counts them all.
	Waiting      []planner.Step
	WaitingTotal int
}

type observerKey struct{}

// ObserveSteps returns a context that makes the cleanups run with it
// (Destroy, CleanupAll, Release of several handles, Scope.Close, Sweep)
// report each step's result to fn as it completes, in plan order, on the
// goroutine running the cleanup.
func ObserveSteps(ctx context.Context, fn func(StepResult)) context.Context {
	return context.WithValue(ctx, observerKey{}, fn)
}

func observer(ctx context.Context) func(StepResult) {
	fn, _ := ctx.Value(observerKey{}).(func(StepResult))
	return fn
}

// Destroy cleans up component id and its subtree, in the order of
// pkg/coordinator's plan: each alive component's callbacks by priority,
// then its resources by their type's strategy (workers: cancel → quit →
// wait → terminate; processes: SIGTERM → wait → kill; timers: stop;
// files and sockets: close; GUI objects: disconnect → deleteLater),
// dependencies first, children before parents, and marks each component
// destroyed. It keeps going after a failing step, bounds each step by its
// timeout and the whole cleanup by ctx, and returns every failure joined
// (*StepError, *SkippedError, and a *planner.CycleError when
// dependencies form a cycle, whose edges are then ignored). Components
// whose step did not run are marked destroyed all the same. Destroying a
// destroyed component releases its remaining live resources.
func (r *Registry) Destroy(ctx context.Context, id string) error {
	r.mu.Lock()
	root := r.comps[id]
	if root == nil {
		r.mu.Unlock()
		return fmt.Errorf("destroying %q: %w", id, ErrUnknownComponent)
	}
	r.nextRun++
	run := r.nextRun
	cp := &capture{takenAt: r.now()}
	var mine []*component
	for _, c := range subtree(root) {
		mine = claim(cp, c, run, mine)
		r.captureOwned(cp, c)
	}
	r.mu.Unlock()
	in := r.materialize(cp, true)
	planned, err := r.runPlan(ctx, in, planner.Scope{Component: cp.comps[0].id})
	r.endRun(mine, run, planned)
	return err
}

// claim adds component c to the capture of cleanup run: an alive one is
// claimed (closing, its callbacks captured) and appended to mine; one
// that another cleanup is closing is captured as destroyed, so that this
// run only waits for its resources. r.mu must be held.
func claim(cp *capture, c *component, run uint64, mine []*component) []*component {
	rw := row(c)
	switch c.state {
	case csAlive:
		c.state, c.run = csClosing, run
		mine = append(mine, c)
		cp.cbs = append(cp.cbs, c.cbs...)
	case csClosing:
		rw.state = csDestroyed
	}
	cp.comps = append(cp.comps, rw)
	return mine
}

// CleanupAll cleans up the whole registry as Destroy does for one
// subtree, including the live resources of destroyed components.
func (r *Registry) CleanupAll(ctx context.Context) error {
	r.mu.Lock()
	r.nextRun++
	run := r.nextRun
	cp := &capture{takenAt: r.now()}
	var mine []*component
	for _, c := range r.compTable.items {
		if c != nil {
			mine = claim(cp, c, run, mine)
		}
	}
	cp.items = append(cp.items, r.res.items...)
	cp.sizes = append(cp.sizes, r.res.sizes...)
	cp.states = append(cp.states, r.res.states...)
	r.mu.Unlock()
	in := r.materialize(cp, true)
	planned, err := r.runPlan(ctx, in, planner.Scope{})
	r.endRun(mine, run, planned)
	return err
}

// Release releases the given resources (handles of r) in the order of
// pkg/coordinator's plan, keeps going after a failure, and returns every
// failure joined. It satisfies coordinator.Registry.
func (r *Registry) Release(ctx context.Context, hs ...coordinator.Handle) error {
	handles := make([]*Handle, 0, len(hs))
	var errs []error
	for _, x := range hs {
		h, ok := x.(*Handle)
		switch {
		case x == nil || (ok && h == nil):
		case !ok || h.reg != r:
			errs = append(errs, fmt.Errorf("releasing %v: not a resource of this registry", x.ID()))
		default:
			handles = append(handles, h)
		}
	}
	return errors.Join(append(errs, r.releaseSet(ctx, handles))...)
}

// releaseSet releases hs in plan order.
func (r *Registry) releaseSet(ctx context.Context, hs []*Handle) error {
	switch len(hs) {
	case 0:
		return nil
	case 1:
		return hs[0].Release(ctx)
	}
	in := r.prepareSet(hs)
	if in == nil {
		return nil
	}
	_, err := r.runPlan(ctx, in, planner.Scope{})
	return err
}

// prepareSet captures the live resources among hs for a plan of their
// release, or returns nil when none is live.
func (r *Registry) prepareSet(hs []*Handle) *planInput {
	r.mu.RLock()
	cp := &capture{takenAt: r.now()}
	owners := make(map[*component]bool)
	for _, h := range hs {
		if h.slot < 0 {
			continue
		}
		cp.items = append(cp.items, h)
		cp.sizes = append(cp.sizes, r.res.sizes[h.slot])
		cp.states = append(cp.states, r.res.states[h.slot])
		// Owners and their ancestors give the plan its depths; shown
		// destroyed, they add no callback or component step.
		for c := h.owner; c != nil && !owners[c]; c = c.parent {
			owners[c] = true
			rw := row(c)
			rw.state = csDestroyed
			cp.comps = append(cp.comps, rw)
		}
	}
	sortRows(cp.comps)
	r.mu.RUnlock()
	if len(cp.items) == 0 {
		return nil
	}
	return r.materialize(cp, true)
}

// captureOwned adds the live resources c owns directly. r.mu must be held.
func (r *Registry) captureOwned(cp *capture, c *component) {
	for h := c.res.first; h != nil; h = h.siblings.next {
		cp.items = append(cp.items, h)
		cp.sizes = append(cp.sizes, r.res.sizes[h.slot])
		cp.states = append(cp.states, r.res.states[h.slot])
	}
}

// endRun marks destroyed the components a cleanup run was destroying and
// whose step did not run — or, when no plan could be made, gives them back.
func (r *Registry) endRun(mine []*component, run uint64, planned bool) {
	var evs []DestroyedEvent
	r.mu.Lock()
	for _, c := range mine {
		if c.state != csClosing || c.run != run {
			continue
		}
		if planned {
			evs = append(evs, r.markDestroyed(c, false))
		} else {
			c.state, c.run = csAlive, 0
		}
	}
	r.mu.Unlock()
	r.destroyed(evs...)
}

// plan plans the cleanup of in. When dependencies form a cycle, the cycle
// is reported and its edges dropped until a plan exists.
func (r *Registry) plan(in *planInput, scope planner.Scope) (*planner.Plan, []error) {
	var errs []error
	for try := 0; ; try++ {
		ix, err := snapshot.NewIndex(in.snap)
		if err != nil {
			return nil, append(errs, fmt.Errorf("planning cleanup: %w", err))
		}
		p, err := planner.NewPlan(ix, scope)
		if err == nil {
			return p, errs
		}
		var cyc *planner.CycleError
		if !errors.As(err, &cyc) || try == 8 {
			return nil, append(errs, fmt.Errorf("planning cleanup: %w", err))
		}
		errs = append(errs, err)
		breakCycle(in.snap, cyc, try >= 2)
	}
}

// breakCycle drops the dependencies between the resources of a cycle, or
// every dependency when all is set or the cycle names no resource.
func breakCycle(s *snapshot.Snapshot, cyc *planner.CycleError, all bool) {
	members := make(map[string]bool)
	for _, m := range cyc.Members {
		kind, id, ok := strings.Cut(m, " ")
		if ok && kind == string(planner.KindResource) {
			members[id] = true
		}
	}
	for i := range s.Resources {
		res := &s.Resources[i]
		if all || len(members) == 0 {
			res.DependsOn = nil
			continue
		}
		if !members[res.ID] {
			continue
		}
		kept := res.DependsOn[:0:0]
		for _, d := range res.DependsOn {
			if !members[d] {
				kept = append(kept, d)
			}
		}
		res.DependsOn = kept
	}
}

// runPlan plans and runs the cleanup of in, step after step, recording
// its progress for InProgress and its report for LastCleanup. planned is
// false when no plan could be made (nothing was done).
func (r *Registry) runPlan(ctx context.Context, in *planInput, scope planner.Scope) (planned bool, err error) {
	p, errs := r.plan(in, scope)
	if p == nil {
		return false, errors.Join(errs...)
	}
	run := r.startRun(ctx, scope.Component, p)
	obs := observer(ctx)
	var cutShort *StepResult // the step the budget ran out during
	var skipped []StepResult
	for i, st := range p.Steps {
		if ctx.Err() != nil {
			r.progMu.Lock()
			overran := slices.Clone(run.overran)
			r.progMu.Unlock()
			skip := &SkippedError{Steps: p.Steps[i:], Cause: context.Cause(ctx), During: cutShort, Overran: overran}
			errs = append(errs, skip)
			skipped = make([]StepResult, 0, len(p.Steps)-i)
			for _, s := range p.Steps[i:] {
				skipped = append(skipped, StepResult{Step: s, Err: skip, Skipped: true})
			}
			if obs != nil {
				for _, res := range skipped {
					obs(res)
				}
			}
			break
		}
		start := time.Now()
		r.stepStarted(run, i, start)
		o := r.execStep(ctx, in, st)
		res := StepResult{Step: st, Elapsed: time.Since(start)}
		if o.err != nil {
			res.Err = &StepError{Step: st, Err: o.err, StillRunning: o.stillRunning, Budget: o.budget,
				Timeout: time.Duration(st.TimeoutMS) * time.Millisecond}
			errs = append(errs, res.Err)
			if o.stillRunning {
				res.Waiting, res.WaitingTotal = waitingOn(p.Steps, i, MaxWaiting)
			}
		}
		if ctx.Err() != nil {
			cutShort = &res // the budget ran out while it ran
		}
		r.stepEnded(run, res)
		if r.debugging() {
			attrs := []slog.Attr{slog.Int("order", st.Order), slog.String("kind", string(st.Kind)),
				slog.String("id", st.ID), slog.String("component", st.Component), slog.Duration("elapsed", res.Elapsed)}
			if res.Err != nil {
				attrs = append(attrs, slog.String("error", res.Err.Error()))
			}
			r.debug("cleanup step", attrs...)
		}
		if obs != nil {
			obs(res)
		}
	}
	return true, r.finishRun(run, skipped, errs)
}

// execStep runs one plan step.
func (r *Registry) execStep(ctx context.Context, in *planInput, st planner.Step) outcome {
	timeout := time.Duration(st.TimeoutMS) * time.Millisecond
	switch st.Kind {
	case planner.KindCallback:
		return r.bounded(ctx, timeout, in.cbs[st.Index].fn, nil)
	case planner.KindResource:
		h := in.res[st.Index]
		ok, wait := r.claim(h)
		if ok {
			return r.release(ctx, h, timeout)
		}
		if wait != nil && waitsForItself(ctx, h) {
			return outcome{err: fmt.Errorf("released from its own cleanup: %w", ErrReentrant)}
		}
		if wait != nil {
			// Another goroutine is releasing it: wait for it within the
			// step's time; its failures are its releaser's to report.
			var limit <-chan time.Time
			if timeout > 0 {
				t := time.NewTimer(timeout + r.grace)
				defer t.Stop()
				limit = t.C
			}
			select {
			case <-wait:
			case <-limit:
			case <-ctx.Done():
			}
		}
		return outcome{}
	case planner.KindComponent:
		c := in.comps[st.Index]
		r.mu.Lock()
		if c.state != csClosing {
			r.mu.Unlock()
			return outcome{}
		}
		ev := r.markDestroyed(c, false)
		r.mu.Unlock()
		r.destroyed(ev)
	}
	return outcome{}
}
