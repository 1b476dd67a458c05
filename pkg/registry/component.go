package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"strconv"
	"time"
	"weak"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// Component states inside the registry. A closing component is being
// destroyed: snapshots show it alive, but nothing new may be added to it.
const (
	csAlive uint8 = iota + 1
	csClosing
	csDestroyed
)

// component is a registered component. Fields above the line are set at
// registration and never change; the others are guarded by Registry.mu.
type component struct {
	name, typ string
	labels    map[string]string
	parent    *component
	created   time.Time
	limit     int64
	alive     func() bool     // nil unless registered with WithObject
	cleanup   runtime.Cleanup // the weak hold's cleanup, when alive != nil

	id           string // changes only when a new component takes the id over
	state        uint8
	run          uint64 // the cleanup run that is destroying it, when closing
	destroyedAt  time.Time
	slot         int
	kids         list[component, *component] // kept children, in registration order
	sib          link[component]             // its place among its parent's kids
	res          list[Handle, *Handle]       // live resources owned directly, in creation order
	live         int
	own, subtree int64 // live bytes owned directly / by the subtree
	tracked      uint64
	released     uint64
	cbs          []*callback
}

func (c *component) slotp() *int { return &c.slot }

// callback is a cleanup callback registered with OnCleanup. It never
// changes after registration, except its slot.
type callback struct {
	id       uint64
	comp     *component
	name     string
	priority int64
	timeout  time.Duration
	fn       func(ctx context.Context) error
	slot     int
}

func (cb *callback) slotp() *int { return &cb.slot }

// ComponentOption configures a component at registration.
type ComponentOption interface {
	applyComponent(*componentConfig)
}

type componentConfig struct {
	name, typ, parent string
	labels            map[string]string
	limit             int64
	hold              func(r *Registry, c *component)
}

type componentOptionFunc func(*componentConfig)

func (f componentOptionFunc) applyComponent(c *componentConfig) { f(c) }

// Attr is an option that applies to components and resources alike.
type Attr struct {
	name, typ *string
}

func (a Attr) applyComponent(c *componentConfig) {
	if a.name != nil {
		c.name = *a.name
	}
	if a.typ != nil {
		c.typ = *a.typ
	}
}

func (a Attr) applyTrack(c *trackConfig) {
	if a.name != nil {
		c.name = *a.name
	}
	if a.typ != nil {
		c.typ = *a.typ
	}
}

// WithName sets the human-readable name of a component or resource.
// Default: none (displays fall back to the id).
func WithName(name string) Attr { return Attr{name: &name} }

// WithType sets the type of a component (window, tab, controller,
// coordinator…) or of a resource (worker, thread, timer, process, file,
// socket, qobject, memory, pool, custom, or any other string). Default
// for a component: none; for a resource: inferred from its value (see
// Track).
func WithType(typ string) Attr { return Attr{typ: &typ} }

// WithParent makes the component a child of the component with that id,
// which must be registered and alive. Default: a root component.
func WithParent(id string) ComponentOption {
	return componentOptionFunc(func(c *componentConfig) { c.parent = id })
}

// WithLabels attaches free-form labels, shown in snapshots. Default: none.
func WithLabels(labels map[string]string) ComponentOption {
	return componentOptionFunc(func(c *componentConfig) { c.labels = maps.Clone(labels) })
}

// WithLimit sets a byte limit on the live resources of the component's
// subtree (its own and its descendants'). Default: none. See WithOnLimit.
func WithLimit(bytes int64) ComponentOption {
	return componentOptionFunc(func(c *componentConfig) { c.limit = bytes })
}

// WithObject ties the component to a Go value, held weakly: when obj is
// garbage-collected without an explicit Destroy, the registry marks the
// component and its alive descendants destroyed (calling the
// WithOnDestroyed hook for each, children first), as a GUI toolkit's
// "destroyed" signal would. Their live resources become orphans that
// snapshots and the sweep see; nothing is cleaned up until a sweep,
// Destroy or CleanupAll. obj must not be reachable from
// anything the registry holds (a resource value or a cleanup function of
// its own), or it is never collected. Default: none.
func WithObject[T any](obj *T) ComponentOption {
	return componentOptionFunc(func(cfg *componentConfig) {
		if obj == nil {
			return
		}
		cfg.hold = func(r *Registry, c *component) {
			wp := weak.Make(obj)
			c.alive = func() bool { return wp.Value() != nil }
			c.cleanup = runtime.AddCleanup(obj, r.collected, c)
		}
	})
}

// RegisterComponent registers a component under id, unique among the
// registered components. An id held by a destroyed component that is
// still kept (it owns live resources) is taken over: the old one is
// renamed id#2 (#3, …) so its leaks stay visible.
func (r *Registry) RegisterComponent(id string, opts ...ComponentOption) error {
	var cfg componentConfig
	for _, o := range opts {
		if o != nil {
			o.applyComponent(&cfg)
		}
	}
	return r.register(id, &cfg)
}

// AddComponent registers the component c describes: the struct form of
// RegisterComponent, for pkg/coordinator.
func (r *Registry) AddComponent(c coordinator.ComponentSpec) error {
	return r.register(c.ID, &componentConfig{
		name: c.Name, typ: c.Type, parent: c.Parent, labels: maps.Clone(c.Labels),
	})
}

func (r *Registry) register(id string, cfg *componentConfig) error {
	if id == "" {
		return errors.New("registering component: empty id")
	}
	if cfg.limit < 0 {
		return fmt.Errorf("registering component %q: negative limit %d", id, cfg.limit)
	}
	c := &component{
		id: id, name: cfg.name, typ: cfg.typ, labels: cfg.labels,
		limit: cfg.limit, created: r.now(), state: csAlive,
	}
	r.mu.Lock()
	if cfg.parent != "" {
		p := r.comps[cfg.parent]
		switch {
		case p == nil:
			r.mu.Unlock()
			return fmt.Errorf("registering component %q: parent %q: %w", id, cfg.parent, ErrUnknownComponent)
		case p.state != csAlive:
			r.mu.Unlock()
			return fmt.Errorf("registering component %q: parent %q: %w", id, cfg.parent, ErrDestroyed)
		}
		c.parent = p
	}
	if old := r.comps[id]; old != nil {
		if old.state != csDestroyed {
			r.mu.Unlock()
			return fmt.Errorf("registering component %q: %w", id, ErrExists)
		}
		for n := 2; ; n++ {
			alias := id + "#" + strconv.Itoa(n)
			if r.comps[alias] == nil {
				old.id = alias
				r.comps[alias] = old
				break
			}
		}
	}
	r.comps[id] = c
	r.compTable.add(c)
	if p := c.parent; p != nil {
		p.kids.pushBack(c)
	}
	if cfg.hold != nil {
		cfg.hold(r, c)
	}
	r.mu.Unlock()
	if r.debugging() {
		r.debug("component registered", slog.String("id", id), slog.String("type", c.typ), slog.String("parent", cfg.parent))
	}
	return nil
}

// OnCleanup registers fn as a cleanup callback of an alive component. When
// the component is destroyed (Destroy, CleanupAll), its callbacks run
// first, higher priority first, each bounded by its timeout (0: 5 s); a
// failing one does not stop the others.
func (r *Registry) OnCleanup(component, name string, priority int, timeout time.Duration, fn func(ctx context.Context) error) error {
	if fn == nil {
		return fmt.Errorf("cleanup %q of %q: nil function", name, component)
	}
	if timeout < 0 {
		return fmt.Errorf("cleanup %q of %q: negative timeout", name, component)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.comps[component]
	switch {
	case c == nil:
		return fmt.Errorf("cleanup %q: component %q: %w", name, component, ErrUnknownComponent)
	case c.state != csAlive:
		return fmt.Errorf("cleanup %q: component %q: %w", name, component, ErrDestroyed)
	}
	r.nextCB++
	cb := &callback{id: r.nextCB, comp: c, name: name, priority: int64(priority), timeout: timeout, fn: fn}
	c.cbs = append(c.cbs, cb)
	r.cbTable.add(cb)
	return nil
}

// markDestroyed marks c destroyed at the registry's clock. r.mu must be
// held. It returns the event to report once the lock is released.
func (r *Registry) markDestroyed(c *component, collected bool) DestroyedEvent {
	c.state = csDestroyed
	c.run = 0
	c.destroyedAt = r.now()
	if c.alive != nil && !collected {
		c.cleanup.Stop()
	}
	for _, cb := range c.cbs {
		r.cbTable.remove(cb)
	}
	c.cbs = nil
	ev := DestroyedEvent{ID: c.id, At: c.destroyedAt, Collected: collected}
	r.maybePrune(c)
	return ev
}

// destroyed reports destruction events, without the lock held.
func (r *Registry) destroyed(evs ...DestroyedEvent) {
	for _, ev := range evs {
		if r.debugging() {
			msg := "component destroyed"
			if ev.Collected {
				msg = "component collected without Destroy"
			}
			r.debug(msg, slog.String("id", ev.ID))
		}
		if r.onDestroyed != nil {
			r.onDestroyed(ev)
		}
	}
}

// collected is the cleanup the runtime runs when a component's Go value
// has been garbage-collected.
func (r *Registry) collected(c *component) {
	r.mu.Lock()
	evs := r.collect(c, nil)
	r.mu.Unlock()
	r.destroyed(evs...)
}

// collect marks a component whose Go value was collected destroyed, with
// its alive descendants — as a GUI toolkit destroys a widget's children
// with it — children first, and appends the events to evs. r.mu must be
// held.
func (r *Registry) collect(c *component, evs []DestroyedEvent) []DestroyedEvent {
	if c.state != csAlive {
		// Already destroyed, or being destroyed: that run marks it.
		return evs
	}
	sub := subtree(c)
	for i := len(sub) - 1; i >= 0; i-- {
		if sub[i].state == csAlive {
			evs = append(evs, r.markDestroyed(sub[i], true))
		}
	}
	return evs
}

// maybePrune forgets c once it is destroyed and nothing refers to it any
// more (no live resources, no kept children), then its parent likewise.
// r.mu must be held.
func (r *Registry) maybePrune(c *component) {
	for c != nil && c.state == csDestroyed && c.live == 0 && c.kids.first == nil && c.slot >= 0 {
		if r.comps[c.id] == c {
			delete(r.comps, c.id)
		}
		r.compTable.remove(c)
		p := c.parent
		if p != nil {
			p.kids.remove(c)
		}
		c = p
	}
}

func (c *component) links() *link[component] { return &c.sib }

// subtree returns root and its kept descendants, parents before children.
// r.mu must be held.
func subtree(root *component) []*component {
	out := []*component{root}
	for i := 0; i < len(out); i++ {
		for k := out[i].kids.first; k != nil; k = k.sib.next {
			out = append(out, k)
		}
	}
	return out
}
