package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// exampleClock stands still, so the examples print the same every time.
func exampleClock() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }

// analyse stands for a worker's loop: it runs until asked to quit.
func analyse(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// A tab whose controller owns a worker coordinator: destroying the tab
// stops its worker, in the order pkg/coordinator's planner gives.
func Example() {
	ctx := context.Background()
	reg := registry.New(registry.WithClock(exampleClock))
	_ = reg.RegisterComponent("main_window", registry.WithType("window"))
	_ = reg.RegisterComponent("media_tab", registry.WithType("tab"), registry.WithParent("main_window"))
	_ = reg.RegisterComponent("media_controller", registry.WithType("controller"), registry.WithParent("media_tab"))
	_ = reg.OnCleanup("media_tab", "MediaTab.saveState", 10, time.Second, func(context.Context) error { return nil })

	workers, err := coordinator.NewWorkers(reg, coordinator.ComponentSpec{ID: "media_workers", Parent: "media_controller"})
	if err != nil {
		fmt.Println(err)
		return
	}
	worker := coordinator.Go(ctx, analyse)
	if _, err := workers.TrackWorker(worker, coordinator.ResourceSpec{Name: "analysis"}); err != nil {
		fmt.Println(err)
		return
	}

	steps := registry.ObserveSteps(ctx, func(s registry.StepResult) {
		fmt.Printf("%d. %s %s: %s\n", s.Step.Order, s.Step.Kind, s.Step.ID, strings.Join(s.Step.Actions, " → "))
	})
	if err := reg.Destroy(steps, "media_tab"); err != nil {
		fmt.Println(err)
	}
	<-worker.Done()
	fmt.Println("worker stopped; live resources:", reg.Stats().Live)
	// Output:
	// 1. resource r-1: cancel → quit → wait → terminate
	// 2. component media_workers: mark destroyed
	// 3. component media_controller: mark destroyed
	// 4. callback c-1: call
	// 5. component media_tab: mark destroyed
	// worker stopped; live resources: 0
}

// mediaTab and mediaController stand for an application's objects.
type mediaTab struct{ controller *mediaController }

type mediaController struct{ workers *coordinator.Workers }

// openMediaTab opens a tab, tied to its Go value, with a running worker.
func openMediaTab(reg *registry.Registry) *mediaTab {
	tab := &mediaTab{controller: &mediaController{}}
	_ = reg.RegisterComponent("media_tab", registry.WithType("tab"), registry.WithParent("main_window"), registry.WithObject(tab))
	_ = reg.RegisterComponent("media_controller", registry.WithType("controller"), registry.WithParent("media_tab"))
	tab.controller.workers, _ = coordinator.NewWorkers(reg, coordinator.ComponentSpec{ID: "media_workers", Parent: "media_controller"})
	_, _ = tab.controller.workers.TrackWorker(coordinator.Go(context.Background(), analyse), coordinator.ResourceSpec{Name: "analysis"})
	return tab
}

// Forgetting to destroy the tab: once its Go value is garbage-collected,
// the registry marks it (and its subtree) destroyed, and the worker that
// still runs shows up as a leak — what `rescoord leaks` reports from the
// snapshot. The sweep then stops it.
func Example_forgottenTab() {
	collected := make(chan registry.DestroyedEvent, 10)
	reg := registry.New(registry.WithClock(exampleClock), registry.WithStackCapture(false),
		registry.WithOnDestroyed(func(e registry.DestroyedEvent) { collected <- e }))
	_ = reg.RegisterComponent("main_window", registry.WithType("window"))

	openMediaTab(reg) // ... and the tab is dropped without Destroy.
	for i := 0; i < 1000 && len(collected) < 3; i++ {
		runtime.GC()
		runtime.Gosched()
	}

	ix, err := snapshot.NewIndex(reg.Snapshot())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range leaks.FindLeaks(ix, leaks.LeakOptions{}) {
		fmt.Println(f.Severity, f.Rule, strings.Join(f.Path, " > "))
	}
	rep, err := reg.Sweep(context.Background())
	fmt.Println("swept:", len(rep.Released), err)
	// Output:
	// critical running-orphan main_window > media_tab > media_controller > media_workers > r-1
	// swept: 1 <nil>
}

// A handle's Release is idempotent: defer it, and release early when done.
func ExampleRegistry_Track() {
	reg := registry.New()
	_ = reg.RegisterComponent("thumbnail_tab", registry.WithLimit(64<<20))
	buf := make([]byte, 0, 1<<20)
	h, err := reg.Track("thumbnail_tab", buf, registry.WithName("thumbnail-cache"), registry.WithSize(int64(cap(buf))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Release(context.Background())

	buf = append(buf, make([]byte, 2<<20)...) // the buffer grows
	_ = h.Resize(int64(cap(buf)))
	fmt.Println(h.ID(), reg.Stats().ByType["memory"].Bytes>>20, "MiB")
	// Output: r-1 2 MiB
}

// A Scope releases everything tracked through it when closed.
func ExampleScope() {
	reg := registry.New()
	_ = reg.RegisterComponent("export_dialog")
	export := func() error {
		sc := reg.NewScope("export_dialog")
		defer sc.Close()
		f, err := os.CreateTemp("", "export")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if _, err := sc.Track(f, registry.WithName("export file")); err != nil {
			return err
		}
		_, err = sc.Track(time.NewTicker(time.Second), registry.WithName("progress"))
		return err
	}
	fmt.Println(export(), reg.Stats().Live)
	// Output: <nil> 0
}

// Run CleanupAll once, on SIGINT/SIGTERM or at the end of main.
func ExampleRegistry_EmergencyCleanup() {
	reg := registry.New()
	ctx, exit := reg.EmergencyCleanup(context.Background(), 10*time.Second)
	defer func() {
		if err := exit(); err != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", err)
		}
	}()
	<-ctx.Done() // run the application until it ends or a signal comes
}

// A snapshot is what rescoord reads: write it to a file and run
// `rescoord leaks snap.json`.
func ExampleRegistry_Snapshot() {
	reg := registry.New(registry.WithClock(exampleClock), registry.WithStackCapture(false),
		registry.WithSource(snapshot.Source{Process: "media-app"}))
	_ = reg.RegisterComponent("main_window", registry.WithType("window"))
	_, _ = reg.Track("main_window", nil, registry.WithType("socket"), registry.WithName("ipc"))
	out, _ := json.MarshalIndent(reg.Snapshot(), "", " ")
	fmt.Println(string(out))
	// Output:
	// {
	//  "format": "rescoord/v1",
	//  "taken_at": "2026-11-27T12:00:00Z",
	//  "source": {
	//   "process": "media-app"
	//  },
	//  "limits": {},
	//  "components": [
	//   {
	//    "id": "main_window",
	//    "type": "window",
	//    "state": "alive",
	//    "created_at": "2026-11-27T12:00:00Z"
	//   }
	//  ],
	//  "resources": [
	//   {
	//    "id": "r-1",
	//    "type": "socket",
	//    "owner": "main_window",
	//    "name": "ipc",
	//    "state": "active",
	//    "created_at": "2026-11-27T12:00:00Z"
	//   }
	//  ],
	//  "cleanups": []
	// }
}

// A cleanup that destroys its own owner is told so instead of waiting for
// itself forever; the rest of the cleanup is done.
func ExampleErrReentrant() {
	reg := registry.New()
	_ = reg.RegisterComponent("tab")
	_, _ = reg.Track("tab", nil, registry.WithCleanup(func(ctx context.Context) error {
		return reg.Destroy(ctx, "tab") // waits for this very cleanup
	}))
	err := reg.Destroy(context.Background(), "tab")
	fmt.Println(errors.Is(err, registry.ErrReentrant))
	fmt.Println(err)
	fmt.Println("live:", reg.Stats().Live)
	// Output:
	// true
	// step 1: resource r-1 (custom of tab): step 1: resource r-1 (custom of tab): released from its own cleanup: a cleanup cannot wait for itself
	// live: 0
}
