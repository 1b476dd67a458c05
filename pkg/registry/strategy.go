package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rescoord/rescoord/pkg/planner"
)

// ErrKilled is returned (wrapped) when a process did not exit in time
// after SIGTERM and was killed.
var ErrKilled = errors.New("did not exit in time and was killed")

// StepError is the failure of one cleanup step: a callback or a resource
// cleanup that returned an error, panicked, or was still running when its
// time ran out.
type StepError struct {
	// Step is the plan step (Order is 0 for a release outside a plan).
	Step planner.Step
	// Err is what the step returned, or why it was given up on.
	Err error
	// StillRunning is true when the step had not returned when its time
	// (its timeout plus the grace, or the overall budget) ran out; cleanup
	// moved on without it.
	StillRunning bool
	// Budget is true when the overall budget (the caller's context), not
	// the step's own timeout, ran out.
	Budget bool
	// Timeout is the step's own timeout (0: none).
	Timeout time.Duration
}

// Error names the step and says what went wrong: "step 3: resource r-12
// (worker \"analysis\" of tab): did not quit in time and was terminated (…)".
func (e *StepError) Error() string {
	var b strings.Builder
	if e.Step.Order > 0 {
		b.WriteString("step ")
		b.WriteString(strconv.Itoa(e.Step.Order))
		b.WriteString(": ")
	}
	b.WriteString(describeStep(e.Step))
	b.WriteString(": ")
	switch {
	case e.StillRunning && e.Budget:
		b.WriteString("still running when the cleanup budget ran out")
	case e.StillRunning:
		fmt.Fprintf(&b, "still running after its %v timeout", e.Timeout)
	}
	if e.Err != nil {
		if e.StillRunning {
			b.WriteString(" (")
			b.WriteString(e.Err.Error())
			b.WriteString(")")
		} else {
			b.WriteString(e.Err.Error())
		}
	}
	return b.String()
}

// Unwrap returns the step's own error.
func (e *StepError) Unwrap() error { return e.Err }

// SkippedError names the steps a cleanup did not run because its budget
// (the caller's context) ran out before their turn, and why the time was
// gone: the step in progress when it ran out, and the earlier steps that
// ran past their own timeout.
type SkippedError struct {
	Steps []planner.Step
	Cause error
	// During is the step that was running when the budget ran out (nil
	// when it ran out between two steps).
	During *StepResult
	// Overran are the steps before it that ran until their own timeout
	// or longer, in plan order.
	Overran []StepResult
}

// Error names the budget's cause, the step it ran out during, the first
// steps not run and the steps that ran past their timeout.
func (e *SkippedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cleanup budget ran out (%v)", e.Cause)
	if e.During != nil {
		fmt.Fprintf(&b, " during step %d, %s, after %s", e.During.Step.Order, describeStep(e.During.Step), e.During.Elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, ": %d step", len(e.Steps))
	if len(e.Steps) != 1 {
		b.WriteString("s")
	}
	b.WriteString(" not run: ")
	const show = 5
	for i, s := range e.Steps {
		if i == show {
			fmt.Fprintf(&b, ", … and %d more", len(e.Steps)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(s.Kind))
		b.WriteString(" ")
		b.WriteString(s.ID)
	}
	n := 0
	for _, o := range e.Overran {
		if e.During != nil && o.Step.Order == e.During.Step.Order {
			continue
		}
		if n == show {
			b.WriteString(", …")
			break
		}
		if n == 0 {
			b.WriteString("; time lost to steps that reached their timeout: ")
		} else {
			b.WriteString(", ")
		}
		n++
		fmt.Fprintf(&b, "step %d, %s, %s (timeout %s)", o.Step.Order, describeStep(o.Step),
			o.Elapsed.Round(time.Millisecond), time.Duration(o.Step.TimeoutMS)*time.Millisecond)
	}
	return b.String()
}

// Unwrap returns why the budget ran out.
func (e *SkippedError) Unwrap() error { return e.Cause }

// describeStep names what a step acts on, for errors.
func describeStep(s planner.Step) string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	b.WriteString(" ")
	b.WriteString(s.ID)
	switch s.Kind {
	case planner.KindResource:
		b.WriteString(" (")
		b.WriteString(s.Type)
		if s.Name != "" && s.Name != s.ID {
			b.WriteString(" ")
			b.WriteString(strconv.Quote(s.Name))
		}
		b.WriteString(" of ")
		b.WriteString(s.Component)
		b.WriteString(")")
	case planner.KindCallback:
		b.WriteString(" (")
		if s.Name != "" && s.Name != s.ID {
			b.WriteString(strconv.Quote(s.Name))
			b.WriteString(" ")
		}
		b.WriteString("of ")
		b.WriteString(s.Component)
		b.WriteString(")")
	}
	return b.String()
}

// outcome is how a bounded call ended.
type outcome struct {
	err          error
	stillRunning bool
	budget       bool
}

// bounded runs fn in its own goroutine with a context that ends after
// timeout (0: only when parent ends). If fn has not returned when that
// context ends, it gets r.grace more; after that bounded gives up and
// reports it still running. after, if not nil, runs once fn returns,
// even when bounded has given up on it. A panic in fn is an error.
func (r *Registry) bounded(parent context.Context, timeout time.Duration, fn func(context.Context) error, after func()) outcome {
	ctx, cancel := parent, context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(parent, timeout)
	}
	done := make(chan error, 1)
	go func() {
		defer cancel()
		err := call(ctx, fn)
		if after != nil {
			after()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return outcome{err: err}
	case <-ctx.Done():
	}
	grace := time.NewTimer(r.grace)
	defer grace.Stop()
	select {
	case err := <-done:
		return outcome{err: err}
	case <-grace.C:
		return outcome{err: context.Cause(ctx), stillRunning: true, budget: parent.Err() != nil}
	}
}

// call runs fn, turning a panic into an error.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx)
}

// stopProcess runs the process strategy: SIGTERM (a kill where signals are
// not supported) → wait until it exits or ctx ends → kill.
func stopProcess(ctx context.Context, p *os.Process) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return nil
		}
		if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("kill: %w", err)
		}
	}
	waited := make(chan error, 1)
	go func() {
		_, err := p.Wait()
		waited <- err
	}()
	select {
	case err := <-waited:
		return waitError(err)
	case <-ctx.Done():
	}
	cause := context.Cause(ctx)
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("did not exit in time (%v); kill failed: %w", cause, err)
	}
	if err := waitError(<-waited); err != nil {
		return fmt.Errorf("%w (%v); wait: %w", ErrKilled, cause, err)
	}
	return fmt.Errorf("%w (%v)", ErrKilled, cause)
}

// waitError drops the errors of waiting for a process that is not ours to
// wait for (someone else waits for it, or it is not our child).
func waitError(err error) error {
	if err == nil || errors.Is(err, syscall.ECHILD) || errors.Is(err, os.ErrProcessDone) ||
		strings.Contains(err.Error(), "Wait was already called") {
		return nil
	}
	return err
}
