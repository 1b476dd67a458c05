package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func TestDestroy_WaitsForAResourceAnotherGoroutineIsReleasing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"tab"})
		h, entered, unblock := trackBlocking(t, r, "tab")
		released := make(chan error)
		go func() { released <- h.Release(context.Background()) }()
		<-entered
		destroyed := make(chan error)
		go func() { destroyed <- r.Destroy(context.Background(), "tab") }()
		synctest.Wait() // everyone is blocked: Destroy waits for the release
		select {
		case err := <-destroyed:
			t.Fatalf("Destroy returned while its resource was still being released: %v", err)
		default:
		}
		close(unblock)
		if err := <-released; err != nil {
			t.Error(err)
		}
		if err := <-destroyed; err != nil {
			t.Error(err)
		}
		if st := r.Stats(); st.Live != 0 || st.AliveComponents != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestWithStrategy_PicksThePlannersStrategyAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newReg(t, []string{"gpu"})
		h := mustTrack(t, r, "gpu", nil, registry.WithType("gpu-context"), registry.WithStrategy("worker"),
			registry.WithCleanup(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
		snap := r.Snapshot()
		res := snap.Resources[0]
		if res.Type != "gpu-context" || res.Cleanup == nil || res.Cleanup.Strategy != "worker" || res.Cleanup.TimeoutMS != nil {
			t.Errorf("resource %+v", res)
		}
		ix, _ := snapshot.NewIndex(snap)
		p, err := planner.NewPlan(ix, planner.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Steps[0]; strings.Join(st.Actions, ",") != "cancel,quit,wait,terminate" || st.TimeoutMS != 2000 {
			t.Errorf("planned %+v", st)
		}
		// Released on its own, it gets the worker strategy's 2s too.
		start := time.Now()
		err = h.Release(context.Background())
		if elapsed := time.Since(start); elapsed != 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("after %v: %v", elapsed, err)
		}
	})
}

func TestAddResource_TheStructFormForCoordinators(t *testing.T) {
	r, _ := newReg(t, []string{"c"})
	if err := r.AddComponent(coordinator.ComponentSpec{ID: "w", Name: "Workers", Type: "coordinator", Parent: "c",
		Labels: map[string]string{"coordinator": "worker"}}); err != nil {
		t.Fatal(err)
	}
	db, err := r.AddResource("w", nil, coordinator.ResourceSpec{Type: "file", Name: "db"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddResource("w", nil, coordinator.ResourceSpec{Name: "q", SizeBytes: 10, Timeout: time.Second,
		DependsOn: []coordinator.Handle{db}, Strategy: "memory"}); err != nil {
		t.Fatal(err)
	}
	snap := r.Snapshot()
	q := resources(snap)["r-2"]
	if strings.Join(q.DependsOn, ",") != "r-1" || q.SizeBytes != 10 || *q.Cleanup.TimeoutMS != 1000 || q.Cleanup.Strategy != "memory" {
		t.Errorf("q: %+v", q)
	}
	if c := component(snap, "w"); c.Name != "Workers" || c.Parent != "c" || c.Labels["coordinator"] != "worker" {
		t.Errorf("w: %+v", c)
	}
	other := registry.New()
	_ = other.RegisterComponent("x")
	foreign, _ := other.Track("x", 1)
	if _, err := r.AddResource("w", nil, coordinator.ResourceSpec{DependsOn: []coordinator.Handle{foreign}}); err == nil {
		t.Error("a dependency on another registry's resource was accepted")
	}
	if _, err := r.AddResource("ghost", nil, coordinator.ResourceSpec{}); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("unknown owner: %v", err)
	}
}

func TestManyComponents_ComeAndGoInOrder(t *testing.T) {
	r := registry.New(registry.WithStackCapture(false))
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("tab%03d", i)
		if err := r.RegisterComponent(id); err != nil {
			t.Fatal(err)
		}
		_ = r.OnCleanup(id, "cleanup", 0, 0, func(context.Context) error { return nil })
		mustTrack(t, r, id, nil)
	}
	for i := 0; i < 300; i++ {
		if i%6 != 0 {
			if err := r.Destroy(ctx, fmt.Sprintf("tab%03d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	snap := r.Snapshot()
	if len(snap.Components) != 50 || len(snap.Resources) != 50 || len(snap.Cleanups) != 50 {
		t.Fatalf("%d components, %d resources, %d cleanups", len(snap.Components), len(snap.Resources), len(snap.Cleanups))
	}
	for k, c := range snap.Components {
		if want := fmt.Sprintf("tab%03d", 6*k); c.ID != want || snap.Resources[k].Owner != want || snap.Cleanups[k].Component != want {
			t.Fatalf("entry %d: %s, want %s (registration order)", k, c.ID, want)
		}
	}
	if err := r.CleanupAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Live != 0 || st.AliveComponents+st.DestroyedComponents != 0 || st.Cleanups != 0 {
		t.Errorf("after CleanupAll: %+v", st)
	}
}

// TestSnapshot_TimeoutsBeyondAWeekAreClamped: a registry whose cleanups
// wait longer than a snapshot may say still serves a valid snapshot.
func TestSnapshot_TimeoutsBeyondAWeekAreClamped(t *testing.T) {
	reg := registry.New()
	if err := reg.RegisterComponent("app"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Track("app", new(int), registry.WithTimeout(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := reg.OnCleanup("app", "save", 0, 400*time.Hour, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Decode(strings.NewReader(string(reg.Snapshot().AppendJSON(nil))), "served")
	if err != nil {
		t.Fatalf("the served snapshot is invalid: %v", err)
	}
	if got := *s.Resources[0].Cleanup.TimeoutMS; got != snapshot.MaxTimeoutMS {
		t.Errorf("resource timeout_ms %d, want %d", got, snapshot.MaxTimeoutMS)
	}
	if got := *s.Cleanups[0].TimeoutMS; got != snapshot.MaxTimeoutMS {
		t.Errorf("cleanup timeout_ms %d, want %d", got, snapshot.MaxTimeoutMS)
	}
}
