package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/registry"
)

// within runs fn and fails the test if it has not returned after a
// generous bound: a deadlock fails the test instead of hanging it.
func within(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: still waiting after 10 s")
	}
}

// TestCleanup_ReentrantReturnsAnError: a WithCleanup function, with no
// timeout, that releases its own handle or destroys its owner gets
// ErrReentrant for it instead of waiting for itself forever — with the ctx
// it was given or without it — and the resource ends up released.
func TestCleanup_ReentrantReturnsAnError(t *testing.T) {
	type reenter func(ctx context.Context, reg *registry.Registry, h *registry.Handle) error
	releaseOwn := func(ctx context.Context, _ *registry.Registry, h *registry.Handle) error { return h.Release(ctx) }
	destroyOwner := func(ctx context.Context, reg *registry.Registry, _ *registry.Handle) error {
		return reg.Destroy(ctx, "tab")
	}
	destroyParent := func(ctx context.Context, reg *registry.Registry, _ *registry.Handle) error {
		return reg.Destroy(ctx, "window")
	}
	cleanupAll := func(ctx context.Context, reg *registry.Registry, _ *registry.Handle) error {
		return reg.CleanupAll(ctx)
	}
	releaseSet := func(ctx context.Context, reg *registry.Registry, h *registry.Handle) error {
		other, err := reg.Track("window", nil)
		if err != nil {
			return err
		}
		return reg.Release(ctx, h, other)
	}
	// The cleanup waits for a goroutine of its own that re-enters with its ctx.
	fromGoroutine := func(ctx context.Context, _ *registry.Registry, h *registry.Handle) error {
		errc := make(chan error, 1)
		go func() { errc <- h.Release(ctx) }()
		return <-errc
	}
	ways := map[string]reenter{
		"release own handle": releaseOwn, "destroy owner": destroyOwner, "destroy owner's parent": destroyParent,
		"cleanup all": cleanupAll, "release a set holding it": releaseSet, "from a goroutine it waits for": fromGoroutine,
	}
	outer := map[string]func(reg *registry.Registry, h *registry.Handle) error{
		"Release": func(_ *registry.Registry, h *registry.Handle) error { return h.Release(context.Background()) },
		"Destroy": func(reg *registry.Registry, _ *registry.Handle) error {
			return reg.Destroy(context.Background(), "tab")
		},
	}
	for way, fn := range ways {
		for _, own := range []bool{true, false} {
			if way == "from a goroutine it waits for" && !own {
				continue // another goroutine, an unrelated context: nothing ties it to the cleanup
			}
			for by, start := range outer {
				name := way + "/" + by
				if !own {
					name += "/context.Background"
				}
				t.Run(name, func(t *testing.T) {
					reg := registry.New()
					must(t, reg.RegisterComponent("window"))
					must(t, reg.RegisterComponent("tab", registry.WithParent("window")))
					var h *registry.Handle
					var inner error
					var err error
					h, err = reg.Track("tab", nil, registry.WithType("custom"), registry.WithCleanup(func(ctx context.Context) error {
						if !own {
							ctx = context.Background()
						}
						inner = fn(ctx, reg, h)
						return inner
					}))
					must(t, err)
					var got error
					within(t, func() { got = start(reg, h) })
					if !errors.Is(inner, registry.ErrReentrant) {
						t.Errorf("the re-entrant call returned %v, want ErrReentrant", inner)
					}
					if !errors.Is(got, registry.ErrReentrant) {
						t.Errorf("%s returned %v, want the cleanup's ErrReentrant", by, got)
					}
					if !h.Released() {
						t.Error("the resource was not released")
					}
				})
			}
		}
	}
}

// TestCleanup_CallbackMayDestroyItsOwnComponent: a cleanup callback that
// destroys its own component waits for nothing of its own: it returns,
// and the component ends up destroyed with its resources released.
func TestCleanup_CallbackMayDestroyItsOwnComponent(t *testing.T) {
	reg := registry.New()
	must(t, reg.RegisterComponent("tab"))
	h, err := reg.Track("tab", nil, registry.WithCleanup(func(context.Context) error { return nil }))
	must(t, err)
	must(t, reg.OnCleanup("tab", "Tab.close", 0, 0, func(ctx context.Context) error { return reg.Destroy(ctx, "tab") }))
	within(t, func() { must(t, reg.Destroy(context.Background(), "tab")) })
	if st := reg.Stats(); !h.Released() || st.AliveComponents != 0 {
		t.Errorf("released %v, %d alive components", h.Released(), st.AliveComponents)
	}
}
