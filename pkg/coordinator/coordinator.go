package coordinator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Registry is what a coordinator needs of a resource registry. The live
// registry in pkg/registry satisfies it; tests use fakes.
type Registry interface {
	// AddComponent registers a component.
	AddComponent(c ComponentSpec) error
	// AddResource tracks value as a resource owned by component owner and
	// returns the handle that releases it.
	AddResource(owner string, value any, r ResourceSpec) (Handle, error)
	// Release releases the given resources, in cleanup-plan order, keeping
	// going after a failure and returning every failure joined.
	// Releasing a resource twice is not an error.
	Release(ctx context.Context, hs ...Handle) error
	// Destroy cleans up component id and its subtree (callbacks, resources,
	// child components) and marks them destroyed.
	Destroy(ctx context.Context, id string) error
}

// Handle is one tracked resource.
type Handle interface {
	// ID is the resource's id in snapshots.
	ID() string
	// Release cleans the resource up and stops tracking it. It is
	// idempotent: releasing a released resource does nothing.
	Release(ctx context.Context) error
}

// ComponentSpec describes a component to register.
type ComponentSpec struct {
	// ID identifies the component in its registry; required.
	ID string
	// Name is a human-readable name (e.g. the Go type's name).
	Name string
	// Type is the kind of component: window, tab, controller, coordinator…
	Type string
	// Parent is the id of the component that owns this one ("" for a root).
	Parent string
	// Labels are free-form key/value pairs shown in snapshots.
	Labels map[string]string
}

// ResourceSpec describes a resource to track.
type ResourceSpec struct {
	// Type is the resource type (worker, timer, file, socket, qobject,
	// memory, …); "" lets the registry infer it from the value.
	Type string
	// Name is a human-readable name.
	Name string
	// SizeBytes is the resource's size, counted toward byte limits.
	SizeBytes int64
	// DependsOn lists resources this one uses: it is released before them.
	DependsOn []Handle
	// Strategy names the cleanup strategy when it is not the type's own
	// (e.g. "worker" for a custom type that behaves like one).
	Strategy string
	// Timeout bounds the cleanup; 0 means the default for the type
	// (2 s for workers and threads, 5 s for processes).
	Timeout time.Duration
	// Cleanup, when set, releases the resource instead of the strategy of
	// its type. It must return by the time ctx is done.
	Cleanup func(ctx context.Context) error
}

// Errors returned by coordinators.
var (
	// ErrNotBound is returned by a coordinator used before Bind (or a
	// constructor) initialized it.
	ErrNotBound = errors.New("coordinator used before it was bound to a registry")
	// ErrClosed is returned by a coordinator used after Close.
	ErrClosed = errors.New("coordinator is closed")
)

// Base is a coordinator bound to one component of a registry: it tracks
// resources on the component's behalf and releases everything it tracked.
// The zero value is usable after Bind; before, every method returns
// ErrNotBound. A Base is safe for concurrent use.
type Base struct {
	mu      sync.Mutex
	reg     Registry
	id      string
	seq     uint64
	handles map[Handle]uint64 // tracked handle → tracking order
	closed  bool
}

// NewBase registers component c in reg and returns a coordinator bound to it.
func NewBase(reg Registry, c ComponentSpec) (*Base, error) {
	return newBound[Base](reg, c)
}

// newBound returns a new coordinator of type C bound to component c of
// reg: what NewBase, NewUI and NewWorkers do.
func newBound[C any, P interface {
	*C
	Bind(Registry, ComponentSpec) error
}](reg Registry, c ComponentSpec) (*C, error) {
	co := P(new(C))
	if err := co.Bind(reg, c); err != nil {
		return nil, err
	}
	return co, nil
}

// Bind registers component c in reg (type "coordinator" and label
// coordinator=base unless c says otherwise) and binds b to it.
func (b *Base) Bind(reg Registry, c ComponentSpec) error {
	return b.bind(reg, c, "base")
}

func (b *Base) bind(reg Registry, c ComponentSpec, kind string) error {
	if b == nil {
		return ErrNotBound
	}
	if reg == nil {
		return fmt.Errorf("binding coordinator %q: %w", c.ID, ErrNotBound)
	}
	if c.ID == "" {
		return errors.New("binding coordinator: the component id is empty")
	}
	if c.Type == "" {
		c.Type = "coordinator"
	}
	if _, ok := c.Labels["coordinator"]; !ok {
		labels := make(map[string]string, len(c.Labels)+1)
		for k, v := range c.Labels {
			labels[k] = v
		}
		labels["coordinator"] = kind
		c.Labels = labels
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reg != nil {
		return fmt.Errorf("binding coordinator %q: already bound to component %q", c.ID, b.id)
	}
	if err := reg.AddComponent(c); err != nil {
		return fmt.Errorf("binding coordinator %q: %w", c.ID, err)
	}
	b.reg, b.id = reg, c.ID
	b.handles = make(map[Handle]uint64)
	return nil
}

// ID is the id of the component b is bound to ("" before Bind).
func (b *Base) ID() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.id
}

// ready returns the registry, or the error saying why b cannot be used.
// b.mu must be held.
func (b *Base) ready() (Registry, error) {
	switch {
	case b.reg == nil:
		return nil, ErrNotBound
	case b.closed:
		return nil, fmt.Errorf("coordinator %q: %w", b.id, ErrClosed)
	}
	return b.reg, nil
}

// lockBound locks b.mu and returns b's registry; false (and b.mu not
// held) when b is nil or not bound.
func (b *Base) lockBound() (Registry, bool) {
	if b == nil {
		return nil, false
	}
	b.mu.Lock()
	if b.reg == nil {
		b.mu.Unlock()
		return nil, false
	}
	return b.reg, true
}

// trackAs tracks value as Track does, with type typ and cleanup unless r
// sets its own.
func (b *Base) trackAs(value any, r ResourceSpec, typ string, cleanup func(context.Context) error) (Handle, error) {
	if r.Type == "" {
		r.Type = typ
	}
	if r.Cleanup == nil {
		r.Cleanup = cleanup
	}
	return b.Track(value, r)
}

// Track tracks value as a resource of b's component, as described by r.
func (b *Base) Track(value any, r ResourceSpec) (Handle, error) {
	if b == nil {
		return nil, ErrNotBound
	}
	b.mu.Lock()
	reg, err := b.ready()
	id := b.id
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// The registry is called without b.mu held: its hooks may use b.
	h, err := reg.AddResource(id, value, r)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.Join(fmt.Errorf("coordinator %q: %w", id, ErrClosed), reg.Release(context.Background(), h))
	}
	b.seq++
	b.handles[h] = b.seq
	b.mu.Unlock()
	return h, nil
}

// Release releases one resource tracked through b and forgets it.
func (b *Base) Release(ctx context.Context, h Handle) error {
	reg, ok := b.lockBound()
	if !ok {
		return ErrNotBound
	}
	delete(b.handles, h)
	b.mu.Unlock()
	return reg.Release(ctx, h)
}

// ReleaseAll releases every resource tracked through b, in cleanup-plan
// order, keeps going after a failure and returns every failure joined. The
// component stays alive and b stays usable.
func (b *Base) ReleaseAll(ctx context.Context) error {
	if b == nil {
		return ErrNotBound
	}
	b.mu.Lock()
	reg, err := b.ready()
	if err != nil {
		b.mu.Unlock()
		return err
	}
	hs := b.takeAll()
	b.mu.Unlock()
	if len(hs) == 0 {
		return nil
	}
	return reg.Release(ctx, hs...)
}

// takeAll empties b's handle set, returning it in tracking order. b.mu
// must be held.
func (b *Base) takeAll() []Handle {
	type entry struct {
		h   Handle
		seq uint64
	}
	es := make([]entry, 0, len(b.handles))
	for h, seq := range b.handles {
		es = append(es, entry{h, seq})
	}
	slices.SortFunc(es, func(x, y entry) int { return cmp.Compare(x.seq, y.seq) })
	hs := make([]Handle, len(es))
	for i, e := range es {
		hs[i] = e.h
	}
	clear(b.handles)
	return hs
}

// Len is the number of resources tracked through b and not released
// through it.
func (b *Base) Len() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.handles)
}

// Close destroys b's component through the registry (its callbacks,
// resources and child components, in plan order) and closes b: later
// calls return ErrClosed. Closing twice does nothing.
func (b *Base) Close(ctx context.Context) error {
	if _, ok := b.lockBound(); !ok {
		return ErrNotBound
	}
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	clear(b.handles)
	reg, id := b.reg, b.id
	b.mu.Unlock()
	return reg.Destroy(ctx, id)
}
