package registrytest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/registry/registrytest"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// exampleT stands for the *testing.T of a test named name: it prints its
// failures and runs its cleanups when end is called, as a test ending does.
// (In a real test, pass t itself.)
type exampleT struct {
	testing.TB
	name     string
	cleanups []func()
}

func (t *exampleT) Name() string                   { return t.name }
func (t *exampleT) Helper()                        {}
func (t *exampleT) Cleanup(fn func())              { t.cleanups = append(t.cleanups, fn) }
func (t *exampleT) Error(args ...any)              { fmt.Println(args...) }
func (t *exampleT) Errorf(format string, a ...any) { fmt.Printf(format+"\n", a...) }
func (t *exampleT) Fatalf(format string, a ...any) { fmt.Printf(format+"\n", a...) }

// end runs the cleanups, last registered first.
func (t *exampleT) end() {
	for _, fn := range slices.Backward(t.cleanups) {
		fn()
	}
}

// exampleClock stands still, so the examples print the same every time.
func exampleClock() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }

// decode stands for a worker's loop: it runs until asked to quit.
func decode(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// exampleRegistry is a registry whose snapshots print the same every time.
func exampleRegistry(opts ...registry.Option) *registry.Registry {
	return registry.New(append([]registry.Option{
		registry.WithClock(exampleClock),
		registry.WithStackCapture(false), // creation stacks name this machine's Go
		registry.WithSource(snapshot.Source{Process: "player.test"}),
	}, opts...)...)
}

// A test gives the component Scope registered to the code under test,
// which releases what it tracked: the check at the test's end passes.
func ExampleScope() {
	reg := exampleRegistry()
	t := &exampleT{name: "TestPlayer"} // func TestPlayer(t *testing.T) {

	id := registrytest.Scope(t, reg) // the test's component: "TestPlayer"
	w := coordinator.Go(context.Background(), decode)
	h, _ := reg.Track(id, w, registry.WithName("decoder"))
	_ = h.Release(context.Background()) // the code under test cleans up

	t.end() // }
	fmt.Println(id, "passed; live resources:", reg.Stats().Live)
	// Output:
	// TestPlayer passed; live resources: 0
}

// The code under test forgets its decoder: when the test ends, the check
// of its subtree fails the test with the leak trace `rescoord leaks`
// prints. (Without Deadline(0), it would first retry for a second.)
func ExampleScope_leak() {
	reg := exampleRegistry()
	_ = reg.RegisterComponent("player", registry.WithType("window"))
	t := &exampleT{name: "TestPlayer/seek"}

	id := registrytest.Scope(t, reg, registrytest.Parent("player"), registrytest.Deadline(0))
	w := coordinator.Go(context.Background(), decode)
	_, _ = reg.Track(id, w, registry.WithName("decoder"))

	t.end()
	<-w.Done() // Scope destroyed the test's component after the check
	// Output:
	// registrytest: 1 leak in the subtree of test component TestPlayer/seek (1 attempt):
	//
	// rescoord leaks · test TestPlayer/seek · player.test · taken 2026-12-01 09:00:00Z
	//
	// CRITICAL running-orphan ×1 · worker "decoder" of TestPlayer/seek
	//   worker "decoder" (r-1) is still running, but its owner TestPlayer/seek was destroyed 0ms before the snapshot
	//   leak trace:
	//     player (window)  alive
	//     └─ TestPlayer/seek (test)  destroyed 0ms before the snapshot
	//        └─ decoder (worker, r-1)  active, running, created 0ms before the snapshot
	//   signature ba800217803f5bdb
	//
	// 1 critical, 0 errors, 0 warnings, 0 info · 0 suppressed · fails on error: FAIL (1 finding)
}

// VerifyNone checks the whole registry: here, a component destroyed while
// one of its resources was still being released. Once the release is done,
// the check passes.
func ExampleVerifyNone() {
	reg := exampleRegistry(registry.WithGrace(0))
	_ = reg.RegisterComponent("tab")
	release := make(chan struct{})
	_, _ = reg.Track("tab", nil, registry.WithName("cache"), registry.WithTimeout(time.Millisecond),
		registry.WithCleanup(func(context.Context) error { <-release; return nil }))
	_ = reg.Destroy(context.Background(), "tab") // gives up on the cache after 1 ms

	t := &exampleT{name: "TestTab"}
	go func() { close(release) }()  // the cache's cleanup finishes soon after
	registrytest.VerifyNone(t, reg) // retries until it has
	fmt.Println("passed; live resources:", reg.Stats().Live)
	// Output:
	// passed; live resources: 0
}

// The ignore options take the patterns of a suppressions file's entries.
func ExampleIgnoreName() {
	reg := exampleRegistry()
	t := &exampleT{name: "TestPool"}
	id := registrytest.Scope(t, reg, registrytest.IgnoreName("pooled-*"))
	_, _ = reg.Track(id, new(int), registry.WithName("pooled-conn")) // kept by design
	t.end()
	fmt.Println("passed")
	// Output:
	// passed
}
