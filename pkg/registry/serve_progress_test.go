package registry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/pkg/registry"
)

func refNames(refs []attach.StepRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Kind+" "+r.ID)
	}
	return out
}

// TestServe_CleanupReportsWhatBlocksIt: while a step runs, the /cleanup
// stream and /stats say which step it is, for how long it has run and
// what waits on it; afterwards /stats keeps the report.
func TestServe_CleanupReportsWhatBlocksIt(t *testing.T) {
	a := serveApp(t, registry.WithCleanupEndpoint(), registry.WithProgressInterval(5*time.Millisecond))
	started, release := make(chan struct{}), make(chan struct{})
	must(t, a.reg.OnCleanup("media_tab", "MediaTab.save", 0, time.Minute, func(context.Context) error {
		close(started)
		<-release
		return nil
	}))
	progress := make(chan attach.CleanupProgress, 64)
	type result struct {
		sum *attach.CleanupSummary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := client(t, a.srv.Address(), "").RunCleanup(context.Background(), attach.CleanupRequest{
			Component: "media_tab", LongestStep: time.Minute,
			Progress: func(p attach.CleanupProgress) {
				select {
				case progress <- p:
				default:
				}
			},
		}, nil)
		done <- result{sum, err}
	}()
	<-started
	var p attach.CleanupProgress
	for p = range progress {
		if p.Running != nil && p.Running.Kind == "callback" {
			break
		}
	}
	if p.Component != "media_tab" || p.Running.TimeoutMS != 60000 || p.Done == 0 || p.Steps <= p.Done {
		t.Errorf("progress = %+v, running %+v", p, p.Running)
	}
	if want := []string{"component media_tab"}; !slices.Equal(refNames(p.Running.Waiting), want) || p.Running.WaitingTotal != 1 {
		t.Errorf("waiting = %v (%d), want %v", refNames(p.Running.Waiting), p.Running.WaitingTotal, want)
	}

	st, err := client(t, a.srv.Address(), "").Cleanups(context.Background())
	must(t, err)
	if len(st.InProgress) != 1 || st.InProgress[0].Running == nil || st.InProgress[0].Running.ID != p.Running.ID {
		t.Errorf("/stats during the cleanup: %+v", st)
	}

	close(release)
	res := <-done
	must(t, res.err)
	if res.sum.Done != res.sum.Steps || res.sum.Skipped != 0 {
		t.Errorf("summary %+v", res.sum)
	}
	st, err = client(t, a.srv.Address(), "").Cleanups(context.Background())
	must(t, err)
	if len(st.InProgress) != 0 || st.Last == nil || st.Last.Component != "media_tab" || st.Last.Done != st.Last.Steps || len(st.Last.Unfinished) != 0 {
		t.Errorf("/stats after the cleanup: %+v, last %+v", st, st.Last)
	}
}

// TestServe_CleanupSaysWhatATimeoutCost: a step given up on at its timeout
// names what waited on it; a budget that runs out names the step it ran
// out during and every step it skipped, in the stream and in /stats.
func TestServe_CleanupSaysWhatATimeoutCost(t *testing.T) {
	a := serveAppWith(t, []registry.Option{registry.WithGrace(0)}, registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"), registry.WithCleanupEndpoint())
	hang := make(chan struct{})
	defer close(hang)
	must(t, a.reg.OnCleanup("media_tab", "MediaTab.slow", 10, 20*time.Millisecond, func(context.Context) error { <-hang; return nil }))
	must(t, a.reg.OnCleanup("media_tab", "MediaTab.hang", 5, 0, func(context.Context) error { <-hang; return nil }))
	req, err := http.NewRequest(http.MethodPost, a.srv.Address()+"/cleanup?component=media_tab&timeout=300ms", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set(attach.ClientHeader, "test")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var steps []attach.StepResult
	var sum *attach.CleanupSummary
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev attach.CleanupEvent
		must(t, json.Unmarshal(sc.Bytes(), &ev))
		if ev.Step != nil {
			steps = append(steps, *ev.Step)
		}
		if ev.Summary != nil {
			sum = ev.Summary
		}
	}
	if sum == nil {
		t.Fatal("no summary")
	}
	var slow *attach.StepResult
	for i := range steps {
		if steps[i].ID == "c-1" {
			slow = &steps[i]
		}
	}
	if slow == nil || slow.Status != attach.StatusTimedOut || !slices.Contains(refNames(slow.Waiting), "component media_tab") {
		t.Errorf("the timed-out step: %+v", slow)
	}
	if sum.Skipped == 0 || sum.Skipped+sum.Done+sum.Failed+sum.TimedOut != sum.Steps {
		t.Errorf("summary %+v", sum)
	}
	for _, want := range []string{`during step`, `("MediaTab.hang" of media_tab)`, `time lost to steps that reached their timeout`, `("MediaTab.slow" of media_tab)`, `component media_tab`} {
		if !strings.Contains(sum.SkippedBecause, want) {
			t.Errorf("skipped_because lacks %q: %s", want, sum.SkippedBecause)
		}
	}
	st, err := client(t, a.srv.Address(), "s3cret").Cleanups(context.Background())
	must(t, err)
	// c-1 is among the unfinished steps; the worker's step before it
	// finishes at once, but on a loaded machine it too may be given up on.
	if st.Last == nil || st.Last.UnfinishedTotal != sum.Skipped+sum.TimedOut+sum.Failed ||
		!slices.ContainsFunc(st.Last.Unfinished, func(u attach.StepResult) bool { return u.ID == "c-1" && u.Status == attach.StatusTimedOut }) {
		t.Errorf("last cleanup %+v", st.Last)
	}
}
