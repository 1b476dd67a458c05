package registry

import (
	"context"
	"errors"
	"time"

	"github.com/rescoord/rescoord/pkg/planner"
)

// CleanupProgress is where a running cleanup stands: the step in progress,
// how long it has run, and the steps that wait on it (docs/library.md,
// "What blocks exit right now").
type CleanupProgress struct {
	// Scope is the root component of a Destroy (or Scope.Close), "" for
	// CleanupAll, a sweep or a release of several handles.
	Scope string
	// Started is when the cleanup began; Elapsed how long it has run.
	Started time.Time
	Elapsed time.Duration
	// Steps is the plan's length, Done how many steps have ended.
	Steps, Done int
	// Running is the step in progress, nil between two steps.
	Running *planner.Step
	// RunningFor is how long Running has run.
	RunningFor time.Duration
	// Waiting are the first steps (at most MaxWaiting, in plan order) that
	// follow Running by the plan's hard constraints — dependents, owners,
	// ancestors — and so wait for it; WaitingTotal counts them all.
	Waiting      []planner.Step
	WaitingTotal int
}

// MaxWaiting is how many waiting steps CleanupProgress lists.
const MaxWaiting = 10

// CleanupReport is what a finished cleanup did not finish, and why.
type CleanupReport struct {
	// Scope is as in CleanupProgress.
	Scope   string
	Started time.Time
	Elapsed time.Duration
	// Steps is the plan's length, Done how many steps succeeded.
	Steps, Done int
	// Unfinished are the steps that failed, were given up on at their
	// timeout (Err a *StepError with StillRunning), or never ran because
	// the budget ran out (Skipped, Err the *SkippedError naming the step
	// during which it ran out), in plan order.
	Unfinished []StepResult
}

// CleanupError is the error of a cleanup that did not finish everything:
// Error and Unwrap are those of the joined step errors (*StepError,
// *SkippedError, *planner.CycleError), and Report says, step by step,
// what was left and why.
type CleanupError struct {
	Report CleanupReport
	errs   error
}

func (e *CleanupError) Error() string   { return e.errs.Error() }
func (e *CleanupError) Unwrap() []error { return []error{e.errs} }

// InProgress returns where each cleanup running now stands, in the order
// they started. It is safe to call from any goroutine, at any time.
func (r *Registry) InProgress() []CleanupProgress {
	now := time.Now()
	r.progMu.Lock()
	defer r.progMu.Unlock()
	out := make([]CleanupProgress, 0, len(r.runs))
	for _, run := range r.runs {
		out = append(out, run.progress(now))
	}
	return out
}

// progress is where run stands at now. Registry.progMu must be held.
func (run *runState) progress(now time.Time) CleanupProgress {
	p := CleanupProgress{Scope: run.scope, Started: run.started, Elapsed: now.Sub(run.started),
		Steps: len(run.plan.Steps), Done: run.done}
	if run.cur >= 0 {
		st := run.plan.Steps[run.cur]
		p.Running, p.RunningFor = &st, now.Sub(run.curStart)
		p.Waiting, p.WaitingTotal = waitingOn(run.plan.Steps, run.cur, MaxWaiting)
	}
	return p
}

// runKey carries a function that gets the run a cleanup started, for the
// server to report its progress.
type runKey struct{}

func withRunHook(ctx context.Context, fn func(*runState)) context.Context {
	return context.WithValue(ctx, runKey{}, fn)
}

// progressOf is where run stands now.
func (r *Registry) progressOf(run *runState) CleanupProgress {
	now := time.Now()
	r.progMu.Lock()
	defer r.progMu.Unlock()
	return run.progress(now)
}

// LastCleanup returns the report of the cleanup that ended last, if any.
func (r *Registry) LastCleanup() (CleanupReport, bool) {
	r.progMu.Lock()
	defer r.progMu.Unlock()
	if r.last == nil {
		return CleanupReport{}, false
	}
	rep := *r.last
	return rep, true
}

// waitingOn returns the first limit steps after steps[i] that follow it,
// directly or through others, by the hard constraints (Step.After), and
// how many there are.
func waitingOn(steps []planner.Step, i, limit int) ([]planner.Step, int) {
	reached := make([]bool, len(steps)-i)
	reached[0] = true
	var first []planner.Step
	total := 0
	for j := i + 1; j < len(steps); j++ {
		for _, o := range steps[j].After {
			if k := o - 1 - i; k >= 0 && k < len(reached) && reached[k] {
				reached[j-i] = true
				break
			}
		}
		if reached[j-i] {
			total++
			if len(first) < limit {
				first = append(first, steps[j])
			}
		}
	}
	return first, total
}

// runState is a cleanup run in progress. Its fields are guarded by
// Registry.progMu.
type runState struct {
	scope    string
	started  time.Time
	plan     *planner.Plan
	cur      int // the step in progress, -1 between steps
	curStart time.Time
	done     int
	report   CleanupReport
	overran  []StepResult
}

// startRun records a cleanup that is about to run p.
func (r *Registry) startRun(ctx context.Context, scope string, p *planner.Plan) *runState {
	run := &runState{scope: scope, started: time.Now(), plan: p, cur: -1}
	run.report = CleanupReport{Scope: scope, Started: run.started, Steps: len(p.Steps)}
	r.progMu.Lock()
	r.runs = append(r.runs, run)
	r.progMu.Unlock()
	if fn, _ := ctx.Value(runKey{}).(func(*runState)); fn != nil {
		fn(run)
	}
	return run
}

// stepStarted records that step i of run started at t.
func (r *Registry) stepStarted(run *runState, i int, t time.Time) {
	r.progMu.Lock()
	run.cur, run.curStart = i, t
	r.progMu.Unlock()
}

// stepEnded records a step's result.
func (r *Registry) stepEnded(run *runState, res StepResult) {
	r.progMu.Lock()
	run.cur = -1
	run.done++
	if res.Err == nil {
		run.report.Done++
	} else {
		run.report.Unfinished = append(run.report.Unfinished, res)
	}
	if res.Step.TimeoutMS > 0 && res.Elapsed >= time.Duration(res.Step.TimeoutMS)*time.Millisecond {
		run.overran = append(run.overran, res)
	}
	r.progMu.Unlock()
}

// finishRun removes run from those in progress, keeps its report as the last
// one, and returns the cleanup's error: nil, or a *CleanupError carrying
// the report.
func (r *Registry) finishRun(run *runState, skipped []StepResult, errs []error) error {
	r.progMu.Lock()
	run.report.Unfinished = append(run.report.Unfinished, skipped...)
	run.report.Elapsed = time.Since(run.started)
	for i, x := range r.runs {
		if x == run {
			r.runs = append(r.runs[:i], r.runs[i+1:]...)
			break
		}
	}
	rep := run.report
	r.last = &rep
	r.progMu.Unlock()
	if len(errs) == 0 {
		return nil
	}
	return &CleanupError{Report: rep, errs: errors.Join(errs...)}
}
