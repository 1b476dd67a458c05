package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// fakeRegistry is an in-memory coordinator.Registry: it records what the
// coordinators ask and runs each resource's Cleanup with its timeout.
type fakeRegistry struct {
	mu        sync.Mutex
	comps     map[string]coordinator.ComponentSpec
	handles   []*fakeHandle
	batches   [][]string // ids passed to each Release call
	destroyed []string
	addErr    error
	// released receives the id of each resource as its release completes.
	released chan string
}

func newFake() *fakeRegistry {
	return &fakeRegistry{
		comps:    map[string]coordinator.ComponentSpec{},
		released: make(chan string, 100),
	}
}

type fakeHandle struct {
	f     *fakeRegistry
	id    string
	owner string
	value any
	spec  coordinator.ResourceSpec

	once sync.Once
	err  error
}

func (f *fakeRegistry) AddComponent(c coordinator.ComponentSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return f.addErr
	}
	if _, dup := f.comps[c.ID]; dup {
		return fmt.Errorf("component %q already registered", c.ID)
	}
	f.comps[c.ID] = c
	return nil
}

func (f *fakeRegistry) AddResource(owner string, value any, r coordinator.ResourceSpec) (coordinator.Handle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.comps[owner]; !ok {
		return nil, fmt.Errorf("unknown component %q", owner)
	}
	h := &fakeHandle{f: f, id: fmt.Sprintf("r-%d", len(f.handles)+1), owner: owner, value: value, spec: r}
	f.handles = append(f.handles, h)
	return h, nil
}

func (f *fakeRegistry) Release(ctx context.Context, hs ...coordinator.Handle) error {
	ids := make([]string, len(hs))
	for i, h := range hs {
		ids[i] = h.ID()
	}
	f.mu.Lock()
	f.batches = append(f.batches, ids)
	f.mu.Unlock()
	var errs []error
	for i := len(hs) - 1; i >= 0; i-- { // newest first, like the planner
		errs = append(errs, hs[i].Release(ctx))
	}
	return errors.Join(errs...)
}

func (f *fakeRegistry) Destroy(ctx context.Context, id string) error {
	f.mu.Lock()
	var hs []coordinator.Handle
	for _, h := range f.handles {
		if h.owner == id {
			hs = append(hs, h)
		}
	}
	f.destroyed = append(f.destroyed, id)
	f.mu.Unlock()
	var errs []error
	for i := len(hs) - 1; i >= 0; i-- {
		errs = append(errs, hs[i].Release(ctx))
	}
	return errors.Join(errs...)
}

func (h *fakeHandle) ID() string { return h.id }

func (h *fakeHandle) Release(ctx context.Context) error {
	h.once.Do(func() {
		timeout := h.spec.Timeout
		if timeout == 0 {
			timeout = 2 * time.Second
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if h.spec.Cleanup != nil {
			h.err = h.spec.Cleanup(ctx)
		}
		if h.err != nil {
			h.err = fmt.Errorf("resource %s: %w", h.id, h.err)
		}
		h.f.released <- h.id
	})
	return h.err
}

// waitReleased waits until the fake reports resource id released.
func waitReleased(t *testing.T, f *fakeRegistry, id string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-f.released:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("resource %s was never released", id)
		}
	}
}

func TestBase_UnboundIsAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	var b coordinator.Base
	var nilBase *coordinator.Base
	var w coordinator.Workers
	var u coordinator.UI
	checks := map[string]error{
		"Track":               func() error { _, err := b.Track(1, coordinator.ResourceSpec{}); return err }(),
		"Release":             b.Release(ctx, nil),
		"ReleaseAll":          b.ReleaseAll(ctx),
		"Close":               b.Close(ctx),
		"nil Track":           func() error { _, err := nilBase.Track(1, coordinator.ResourceSpec{}); return err }(),
		"nil ReleaseAll":      nilBase.ReleaseAll(ctx),
		"Workers.TrackWorker": func() error { _, err := w.TrackWorker(newFakeWorker(false), coordinator.ResourceSpec{}); return err }(),
		"Workers.ReleaseAll":  w.ReleaseAll(ctx),
		"Workers.Close":       w.Close(ctx),
		"UI.TrackObject":      func() error { _, err := u.TrackObject(&fakeObject{}, coordinator.ResourceSpec{}); return err }(),
		"Bind nil registry":   b.Bind(nil, coordinator.ComponentSpec{ID: "x"}),
	}
	for name, err := range checks {
		if !errors.Is(err, coordinator.ErrNotBound) {
			t.Errorf("%s: got %v, want ErrNotBound", name, err)
		}
	}
	if b.Len() != 0 || nilBase.Len() != 0 || b.ID() != "" || w.Active() != 0 {
		t.Error("an unbound coordinator reports tracked resources")
	}
}

func TestBase_BindRegistersTheCoordinatorComponent(t *testing.T) {
	f := newFake()
	if _, err := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "res", Parent: "ctl"}); err != nil {
		t.Fatal(err)
	}
	if _, err := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "workers", Labels: map[string]string{"plugin": "media"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coordinator.NewUI(f, coordinator.ComponentSpec{ID: "ui", Type: "view"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]coordinator.ComponentSpec{
		"res":     {ID: "res", Type: "coordinator", Parent: "ctl", Labels: map[string]string{"coordinator": "base"}},
		"workers": {ID: "workers", Type: "coordinator", Labels: map[string]string{"coordinator": "worker", "plugin": "media"}},
		"ui":      {ID: "ui", Type: "view", Labels: map[string]string{"coordinator": "ui"}},
	}
	for id, w := range want {
		got := f.comps[id]
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("component %s: got %+v, want %+v", id, got, w)
		}
	}
}

func TestBase_BindErrors(t *testing.T) {
	f := newFake()
	b, err := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Bind(f, coordinator.ComponentSpec{ID: "b"}); err == nil || !strings.Contains(err.Error(), `already bound to component "a"`) {
		t.Errorf("second Bind: %v", err)
	}
	if _, err := coordinator.NewBase(f, coordinator.ComponentSpec{}); err == nil {
		t.Error("empty id: no error")
	}
	if _, err := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "a"}); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("duplicate component: %v", err)
	}
	f.addErr = errors.New("registry is full")
	if _, err := coordinator.NewWorkers(f, coordinator.ComponentSpec{ID: "c"}); err == nil || !strings.Contains(err.Error(), "registry is full") {
		t.Errorf("registry error not returned: %v", err)
	}
}

func TestBase_ReleaseAllReleasesEverythingItTracked(t *testing.T) {
	f := newFake()
	b, err := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "res"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var cleaned []string
	for _, name := range []string{"index", "cache", "log"} {
		_, err := b.Track(name, coordinator.ResourceSpec{Type: "file", Name: name, Cleanup: func(context.Context) error {
			mu.Lock()
			cleaned = append(cleaned, name)
			mu.Unlock()
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 3 {
		t.Fatalf("Len = %d, want 3", b.Len())
	}
	if err := b.ReleaseAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The coordinator hands the whole set to the registry in one call, in
	// tracking order; the registry decides the cleanup order.
	if want := [][]string{{"r-1", "r-2", "r-3"}}; !slices.EqualFunc(f.batches, want, slices.Equal) {
		t.Errorf("Release calls %v, want %v", f.batches, want)
	}
	if want := []string{"log", "cache", "index"}; !slices.Equal(cleaned, want) {
		t.Errorf("cleaned %v, want %v", cleaned, want)
	}
	if b.Len() != 0 {
		t.Errorf("Len after ReleaseAll = %d", b.Len())
	}
	// Still usable: the component stays alive.
	if _, err := b.Track("again", coordinator.ResourceSpec{}); err != nil {
		t.Errorf("Track after ReleaseAll: %v", err)
	}
}

func TestBase_ReleaseOneForgetsIt(t *testing.T) {
	f := newFake()
	b, _ := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "res"})
	h1, _ := b.Track("a", coordinator.ResourceSpec{})
	if _, err := b.Track("b", coordinator.ResourceSpec{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(context.Background(), h1); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 1 {
		t.Errorf("Len = %d, want 1", b.Len())
	}
}

func TestBase_ReleaseAllReportsEveryFailure(t *testing.T) {
	f := newFake()
	b, _ := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "res"})
	boom := errors.New("disk gone")
	_, _ = b.Track("a", coordinator.ResourceSpec{Cleanup: func(context.Context) error { return boom }})
	ran := false
	_, _ = b.Track("b", coordinator.ResourceSpec{Cleanup: func(context.Context) error { ran = true; return nil }})
	err := b.ReleaseAll(context.Background())
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap %v", err, boom)
	}
	if !ran {
		t.Error("the other resource was not released")
	}
}

func TestBase_CloseDestroysTheComponent(t *testing.T) {
	f := newFake()
	b, _ := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "res"})
	h, _ := b.Track("a", coordinator.ResourceSpec{})
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.destroyed, []string{"res"}) {
		t.Errorf("destroyed %v", f.destroyed)
	}
	waitReleased(t, f, h.ID())
	if _, err := b.Track("b", coordinator.ResourceSpec{}); !errors.Is(err, coordinator.ErrClosed) {
		t.Errorf("Track after Close: %v, want ErrClosed", err)
	}
	if err := b.ReleaseAll(context.Background()); !errors.Is(err, coordinator.ErrClosed) {
		t.Errorf("ReleaseAll after Close: %v, want ErrClosed", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if len(f.destroyed) != 1 {
		t.Errorf("destroyed twice: %v", f.destroyed)
	}
}

func TestBase_ConcurrentTrackAndRelease(t *testing.T) {
	f := newFake()
	f.released = make(chan string, 1000)
	b, _ := coordinator.NewBase(f, coordinator.ComponentSpec{ID: "res"})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				h, err := b.Track(i, coordinator.ResourceSpec{})
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := b.Release(context.Background(), h); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if b.Len() != 8*25 {
		t.Errorf("Len = %d, want %d", b.Len(), 8*25)
	}
}
