package registry_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// tabValue stands for an application's tab object.
type tabValue struct {
	title string
	ctl   *controllerValue
}

type controllerValue struct {
	owner *tabValue
	data  []byte
}

// openTab registers a tab and its controller, tied to Go values that
// nothing keeps once it returns, with a running worker under the
// controller.
func openTab(t *testing.T, r *registry.Registry, id string, w coordinator.Worker) {
	t.Helper()
	tab := &tabValue{title: id}
	tab.ctl = &controllerValue{owner: tab, data: make([]byte, 64)}
	if err := r.RegisterComponent(id, registry.WithType("tab"), registry.WithParent("main"), registry.WithObject(tab)); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterComponent(id+".ctl", registry.WithType("controller"), registry.WithParent(id), registry.WithObject(tab.ctl)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Track(id+".ctl", w, registry.WithName("analysis")); err != nil {
		t.Fatal(err)
	}
}

// collectUntil runs the garbage collector until ch delivers n events, a
// bounded number of times.
func collectUntil(t *testing.T, ch <-chan registry.DestroyedEvent, n int) []registry.DestroyedEvent {
	t.Helper()
	var evs []registry.DestroyedEvent
	for i := 0; i < 1000 && len(evs) < n; i++ {
		runtime.GC()
		for more := true; more; {
			select {
			case ev := <-ch:
				evs = append(evs, ev)
			default:
				more = false
			}
		}
		runtime.Gosched()
	}
	if len(evs) < n {
		t.Fatalf("after 1000 collections: %d of %d components reported collected", len(evs), n)
	}
	return evs
}

func TestWithObject_DroppedValueBecomesDestroyedAfterGC(t *testing.T) {
	events := make(chan registry.DestroyedEvent, 10)
	r, clk := newReg(t, []string{"main"}, registry.WithOnDestroyed(func(e registry.DestroyedEvent) { events <- e }))
	w := newWorker(false)
	openTab(t, r, "tab", w)
	clk.Advance(time.Minute)

	evs := collectUntil(t, events, 2)
	for _, ev := range evs {
		if !ev.Collected || !ev.At.Equal(t0.Add(time.Minute+time.Second)) {
			t.Errorf("event %+v", ev)
		}
	}
	snap := r.Snapshot()
	for _, id := range []string{"tab", "tab.ctl"} {
		c := component(snap, id)
		if c == nil || c.State != snapshot.StateDestroyed || !c.DestroyedAt.Equal(t0.Add(time.Minute+time.Second)) {
			t.Errorf("%s after GC: %+v", id, c)
		}
	}
	// The worker was not stopped: it is a running orphan.
	if len(snap.Resources) != 1 || !snap.Resources[0].Running || snap.Resources[0].Owner != "tab.ctl" {
		t.Fatalf("resources %+v", snap.Resources)
	}
	select {
	case <-w.Done():
		t.Fatal("collection stopped the worker: only a sweep or a cleanup may")
	default:
	}

	// The sweep cleans the orphan up, and the destroyed components go.
	rep, err := r.Sweep(context.Background())
	if err != nil || len(rep.Released) != 1 || rep.Released[0].ID != "r-1" {
		t.Fatalf("sweep: %+v, %v", rep, err)
	}
	<-w.Done()
	if st := r.Stats(); st.Live != 0 || st.DestroyedComponents != 0 || st.AliveComponents != 1 {
		t.Errorf("after the sweep: %+v", st)
	}
}

func TestWithObject_NewComponentTakesOverTheIDOfALeakedOne(t *testing.T) {
	events := make(chan registry.DestroyedEvent, 10)
	r, _ := newReg(t, []string{"main"}, registry.WithOnDestroyed(func(e registry.DestroyedEvent) { events <- e }))
	openTab(t, r, "tab", newWorker(false))
	collectUntil(t, events, 2)
	if err := r.RegisterComponent("tab", registry.WithParent("main")); err != nil {
		t.Fatal(err)
	}
	snap := r.Snapshot()
	if c := component(snap, "tab#2"); c == nil || c.State != "destroyed" {
		t.Errorf("the leaked tab is not kept as tab#2: %+v", snap.Components)
	}
	if c := component(snap, "tab"); c == nil || c.State != "alive" {
		t.Errorf("the new tab: %+v", c)
	}
	if c := component(snap, "tab.ctl"); c == nil || c.Parent != "tab#2" {
		t.Errorf("the leaked controller's parent: %+v", c)
	}
}

func TestWithObject_DestroyStopsTheWeakHold(t *testing.T) {
	events := make(chan registry.DestroyedEvent, 10)
	r, _ := newReg(t, []string{"main"}, registry.WithOnDestroyed(func(e registry.DestroyedEvent) { events <- e }))
	func() {
		tab := &tabValue{title: "x"}
		if err := r.RegisterComponent("tab", registry.WithObject(tab)); err != nil {
			t.Fatal(err)
		}
		if err := r.Destroy(context.Background(), "tab"); err != nil {
			t.Fatal(err)
		}
	}()
	if ev := <-events; ev.Collected {
		t.Fatalf("explicit Destroy reported as collected: %+v", ev)
	}
	for i := 0; i < 5; i++ {
		runtime.GC()
	}
	select {
	case ev := <-events:
		t.Errorf("collected after Destroy: %+v", ev)
	default:
	}
}

func TestSweep_RunsInTheBackgroundEveryInterval(t *testing.T) {
	for _, tc := range []struct {
		opts []registry.Option
		want time.Duration
	}{
		{nil, 60 * time.Second},
		{[]registry.Option{registry.WithSweepInterval(5 * time.Second)}, 5 * time.Second},
	} {
		synctest.Test(t, func(t *testing.T) {
			reports := make(chan registry.SweepReport, 1)
			opts := append([]registry.Option{registry.WithOnSweep(func(rep registry.SweepReport) { reports <- rep })}, tc.opts...)
			r, _ := newReg(t, []string{"tab"}, opts...)
			var j journal
			mustTrack(t, r, "tab", nil, registry.WithName("buffer"), registry.WithCleanup(j.note("free")))
			// Destroyed with no time to clean up: the buffer is an orphan.
			done, cancel := context.WithCancel(context.Background())
			cancel()
			_ = r.Destroy(done, "tab")

			ctx, stop := context.WithCancel(context.Background())
			start := time.Now()
			r.StartSweep(ctx)
			rep := <-reports
			if elapsed := time.Since(start); elapsed != tc.want {
				t.Errorf("first sweep after %v, want %v", elapsed, tc.want)
			}
			if len(rep.Released) != 1 || rep.Released[0].Name != "buffer" || rep.Err != nil || j.String() != "free" {
				t.Errorf("report %+v, ran %q", rep, j.String())
			}
			if rep2 := <-reports; len(rep2.Released) != 0 {
				t.Errorf("second sweep released %+v", rep2.Released)
			}
			stop()
			synctest.Wait()
		})
	}
}

func TestSweep_LeavesAliveComponentsAlone(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	h := mustTrack(t, r, "tab", nil)
	rep, err := r.Sweep(context.Background())
	if err != nil || len(rep.Released) != 0 || len(rep.Collected) != 0 || h.Released() {
		t.Errorf("sweep of a healthy registry: %+v %v", rep, err)
	}
	if !strings.Contains(rep.At.String(), "2026-11-27") {
		t.Errorf("At %v", rep.At)
	}
}
