package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/registry"
)

func stepNames(steps []planner.Step) []string {
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		out = append(out, string(s.Kind)+" "+s.ID)
	}
	return out
}

func TestInProgress_NamesTheRunningStepAndWhatWaitsOnIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"window", "tab<window", "pane<tab", "other<window"}, registry.WithGrace(0), registry.WithStackCapture(false))
		if got := r.InProgress(); len(got) != 0 {
			t.Fatalf("before any cleanup: %+v", got)
		}
		started, unblock := make(chan struct{}), make(chan struct{})
		_ = r.OnCleanup("pane", "Pane.flush", 0, 5*time.Second, func(context.Context) error {
			close(started)
			<-unblock
			return nil
		})
		mustTrack(t, r, "other", nil)
		done := make(chan error)
		go func() { done <- r.Destroy(context.Background(), "window") }()
		<-started
		time.Sleep(1500 * time.Millisecond) // fake time: the step has run 1.5s
		got := r.InProgress()
		if len(got) != 1 {
			t.Fatalf("InProgress = %+v", got)
		}
		p := got[0]
		if p.Scope != "window" || p.Running == nil || p.Running.ID != "c-1" || p.RunningFor != 1500*time.Millisecond || p.Elapsed != 1500*time.Millisecond {
			t.Fatalf("progress = %+v", p)
		}
		// The pane, and above it the tab and the window, wait on the
		// callback; the other component's resource does not.
		if want := []string{"component pane", "component tab", "component window"}; !slices.Equal(stepNames(p.Waiting), want) || p.WaitingTotal != 3 {
			t.Errorf("waiting = %v (%d), want %v", stepNames(p.Waiting), p.WaitingTotal, want)
		}
		if p.Done >= p.Steps {
			t.Errorf("done %d of %d", p.Done, p.Steps)
		}
		close(unblock)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := r.InProgress(); len(got) != 0 {
			t.Errorf("after the cleanup: %+v", got)
		}
		last, ok := r.LastCleanup()
		if !ok || last.Scope != "window" || last.Done != last.Steps || len(last.Unfinished) != 0 {
			t.Errorf("LastCleanup = %+v, %v", last, ok)
		}
	})
}

func TestInProgress_WaitingIsBoundedAndCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A chain of 30 components: every ancestor of the deepest waits
		// for its resource's cleanup.
		comps := []string{"c00"}
		for i := 1; i < 30; i++ {
			comps = append(comps, fmt.Sprintf("c%02d<c%02d", i, i-1))
		}
		r, _ := newReg(t, comps, registry.WithStackCapture(false))
		started, unblock := make(chan struct{}), make(chan struct{})
		blocker := mustTrack(t, r, "c29", nil, registry.WithCleanup(func(context.Context) error {
			close(started)
			<-unblock
			return nil
		}))
		done := make(chan error)
		go func() { done <- r.CleanupAll(context.Background()) }()
		<-started
		p := r.InProgress()[0]
		if p.Scope != "" || p.Running == nil || p.Running.ID != blocker.ID() {
			t.Fatalf("progress = %+v", p)
		}
		want := []string{"component c29", "component c28", "component c27"}
		if len(p.Waiting) != registry.MaxWaiting || p.WaitingTotal != 30 || !slices.Equal(stepNames(p.Waiting[:3]), want) {
			t.Errorf("waiting %v, %d in all; want %d listed starting %v, and 30", stepNames(p.Waiting), p.WaitingTotal, registry.MaxWaiting, want)
		}
		close(unblock)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestSkippedError_NamesTheTimeLostPastATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"tab"}, registry.WithGrace(0), registry.WithStackCapture(false))
		unblock := make(chan struct{})
		defer close(unblock)
		_ = r.OnCleanup("tab", "Tab.slow", 10, time.Second, func(context.Context) error { <-unblock; return nil })
		_ = r.OnCleanup("tab", "Tab.hang", 5, 0, func(context.Context) error { <-unblock; return nil })
		_ = r.OnCleanup("tab", "Tab.save", 1, 0, func(context.Context) error { return nil })
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err := r.Destroy(ctx, "tab")
		var skip *registry.SkippedError
		if !errors.As(err, &skip) {
			t.Fatalf("err = %v", err)
		}
		msg := skip.Error()
		for _, want := range []string{
			`during step 2, callback c-2 ("Tab.hang" of tab), after 2s`,
			`2 steps not run: callback c-3, component tab`,
			`time lost to steps that reached their timeout: step 1, callback c-1 ("Tab.slow" of tab), 1s (timeout 1s)`,
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("skip error lacks %q:\n%s", want, msg)
			}
		}
		if len(skip.Overran) != 1 || skip.Overran[0].Step.ID != "c-1" {
			t.Errorf("overran = %+v", skip.Overran)
		}
	})
}
