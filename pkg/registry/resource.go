package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// TrackOption configures a resource at Track.
type TrackOption interface {
	applyTrack(*trackConfig)
}

type trackConfig struct {
	name, typ, strategy string
	size                int64
	deps                []*Handle
	cleanup             func(ctx context.Context) error
	timeout             time.Duration
	hasTimeout          bool
	meta                any
}

type trackOptionFunc func(*trackConfig)

func (f trackOptionFunc) applyTrack(c *trackConfig) { f(c) }

// WithSize sets the resource's size in bytes, counted toward byte limits.
// Default: 0. Handle.Resize changes it later.
func WithSize(bytes int64) TrackOption {
	return trackOptionFunc(func(c *trackConfig) { c.size = bytes })
}

// WithDependsOn says the resource uses those resources: cleanup releases
// it before them. Default: none.
func WithDependsOn(hs ...*Handle) TrackOption {
	return trackOptionFunc(func(c *trackConfig) { c.deps = append(c.deps, hs...) })
}

// WithCleanup sets the function that releases the resource, instead of the
// strategy its value calls for. It gets a context that ends at the
// resource's timeout. Default: none.
func WithCleanup(fn func(ctx context.Context) error) TrackOption {
	return trackOptionFunc(func(c *trackConfig) { c.cleanup = fn })
}

// WithStrategy names the cleanup strategy the planner uses for the
// resource's position and actions when it is not its type's own (e.g.
// "worker" for a custom type). Default: the type's.
func WithStrategy(name string) TrackOption {
	return trackOptionFunc(func(c *trackConfig) { c.strategy = name })
}

// WithTimeout bounds the resource's cleanup. Default: the planner's
// default for its type (2 s for workers and threads, 5 s for processes,
// none for the others, which only the caller's context bounds).
func WithTimeout(d time.Duration) TrackOption {
	return trackOptionFunc(func(c *trackConfig) { c.timeout, c.hasTimeout = d, true })
}

// WithMetadata attaches v, encoded as JSON, to the resource's snapshot
// entry. Default: for an *os.File, net.Conn, net.Listener, net.PacketConn,
// *os.Process or *exec.Cmd value, what names its OS object (fd and path,
// fd and local/remote addresses, pid) for `rescoord leaks --reconcile`
// (docs/importers.md, "Reconciling"); for other values none.
func WithMetadata(v any) TrackOption {
	return trackOptionFunc(func(c *trackConfig) { c.meta = v })
}

// Handle is a tracked resource. Release it when done with it; Release is
// idempotent, so it is safe to defer it and to release it elsewhere too.
type Handle struct {
	// Set at Track and never changed.
	reg     *Registry
	id      uint64
	owner   *component
	typ     string
	name    string
	created time.Time
	deps    []uint64
	stack   *stack
	spec    *snapshot.CleanupSpec // the override shown in snapshots, or nil
	timeout time.Duration         // the cleanup timeout, when set
	cleanup func(ctx context.Context) error
	value   any
	meta    snapshot.Metadata

	// runner is the goroutine running the resource's cleanup, once it runs.
	runner atomic.Uint64

	// Guarded by reg.mu.
	slot     int           // in reg.res; -1 once released
	siblings link[Handle]  // its place in its owner's res
	done     chan struct{} // made by a waiter, closed at release
}

// Track tracks value as a resource owned by the alive component owner and
// returns its handle.
//
// The type is WithType's, or inferred from the value: coordinator.Worker →
// worker, *os.Process → process, *time.Timer and *time.Ticker → timer,
// *os.File → file, net.Conn, net.Listener and net.PacketConn → socket,
// coordinator.Object → qobject, []byte → memory, anything else → custom.
//
// Releasing it (Handle.Release, Destroy, CleanupAll, a sweep) runs the
// WithCleanup function if there is one, else what the value calls for: a
// coordinator.Worker is stopped with coordinator.StopWorker; an
// *os.Process gets SIGTERM, is waited for, then killed; a timer or any
// value with Stop() is stopped; a coordinator.Object is disconnected and
// deleted later; an io.Closer is closed. Any other value (a buffer, nil)
// is simply forgotten.
//
// A cleanup may call the registry, but not wait for itself: releasing its
// own handle, or destroying (or cleaning up) a component that owns it,
// reports ErrReentrant for that resource instead of waiting forever, and
// does the rest. This is recognized through the ctx the cleanup gets, on
// any goroutine — pass that ctx (or one derived from it) to the registry
// calls it makes — and, for a WithCleanup function, on the goroutine it
// runs on whatever the context.
func (r *Registry) Track(owner string, value any, opts ...TrackOption) (*Handle, error) {
	var cfg trackConfig
	for _, o := range opts {
		if o != nil {
			o.applyTrack(&cfg)
		}
	}
	return r.track(owner, value, &cfg)
}

// AddResource tracks value as described by spec: the struct form of
// Track, for pkg/coordinator. Dependencies must be handles of r.
func (r *Registry) AddResource(owner string, value any, spec coordinator.ResourceSpec) (coordinator.Handle, error) {
	cfg := trackConfig{
		name: spec.Name, typ: spec.Type, strategy: spec.Strategy, size: spec.SizeBytes,
		cleanup: spec.Cleanup, timeout: spec.Timeout, hasTimeout: spec.Timeout != 0,
	}
	for _, d := range spec.DependsOn {
		h, ok := d.(*Handle)
		if !ok || h.reg != r {
			return nil, fmt.Errorf("tracking resource of %q: dependency %v is not a resource of this registry", owner, d)
		}
		cfg.deps = append(cfg.deps, h)
	}
	h, err := r.track(owner, value, &cfg)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (r *Registry) track(owner string, value any, cfg *trackConfig) (*Handle, error) {
	if cfg.size < 0 {
		return nil, fmt.Errorf("tracking resource of %q: negative size %d", owner, cfg.size)
	}
	if cfg.timeout < 0 {
		return nil, fmt.Errorf("tracking resource of %q: negative timeout %v", owner, cfg.timeout)
	}
	h := &Handle{
		reg: r, typ: cfg.typ, name: cfg.name, cleanup: cfg.cleanup, value: value,
		timeout: cfg.timeout, created: r.now(),
	}
	if h.typ == "" {
		h.typ = inferType(value)
	}
	if cfg.strategy != "" || cfg.hasTimeout {
		h.spec = &snapshot.CleanupSpec{Strategy: cfg.strategy}
		if cfg.hasTimeout {
			ms := clampTimeoutMS(cfg.timeout)
			h.spec.TimeoutMS = &ms
		}
	}
	meta := cfg.meta
	if meta == nil {
		if md := osMetadata(value); md != nil {
			meta = md
		}
	}
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			return nil, fmt.Errorf("tracking resource of %q: metadata: %w", owner, err)
		}
		h.meta = snapshot.NewMetadata(b)
	}
	if len(cfg.deps) > 0 {
		h.deps = make([]uint64, 0, len(cfg.deps))
		for _, d := range cfg.deps {
			if d != nil {
				h.deps = append(h.deps, d.id)
			}
		}
	}
	if r.stacks {
		h.stack = r.captureStack(3)
	}

	r.mu.Lock()
	c := r.comps[owner]
	switch {
	case c == nil:
		r.mu.Unlock()
		return nil, fmt.Errorf("tracking resource: owner %q: %w", owner, ErrUnknownComponent)
	case c.state != csAlive:
		r.mu.Unlock()
		return nil, fmt.Errorf("tracking resource: owner %q: %w", owner, ErrDestroyed)
	}
	r.nextRes++
	h.id = r.nextRes
	h.owner = c
	r.res.add(h, cfg.size)
	c.res.pushBack(h)
	c.live++
	c.tracked++
	tc := r.counters(h.typ)
	tc.active++
	tc.created++
	tc.bytes += cfg.size
	events := r.addBytes(c, cfg.size, h)
	r.mu.Unlock()

	if r.debugging() {
		r.debug("resource tracked", slog.String("id", h.ID()), slog.String("type", h.typ),
			slog.String("name", h.name), slog.String("owner", owner), slog.Int64("size", cfg.size))
	}
	r.fireLimits(events)
	return h, nil
}

// inferType is the resource type a value calls for.
func inferType(v any) string {
	switch v.(type) {
	case coordinator.Worker:
		return snapshot.TypeWorker
	case *os.Process:
		return snapshot.TypeProcess
	case *time.Timer, *time.Ticker:
		return snapshot.TypeTimer
	case *os.File:
		return snapshot.TypeFile
	case net.Conn, net.Listener, net.PacketConn:
		return snapshot.TypeSocket
	case coordinator.Object:
		return snapshot.TypeQObject
	case []byte:
		return snapshot.TypeMemory
	}
	return snapshot.TypeCustom
}

// ID is the resource's id in snapshots ("r-N").
func (h *Handle) ID() string {
	if h == nil {
		return ""
	}
	return "r-" + strconv.FormatUint(h.id, 10)
}

// Released reports whether the resource has been released (a nil handle
// has nothing to release).
func (h *Handle) Released() bool {
	if h == nil {
		return true
	}
	h.reg.mu.RLock()
	defer h.reg.mu.RUnlock()
	return h.slot < 0
}

// Resize sets the resource's size in bytes (a growing buffer), checking
// byte limits as Track does.
func (h *Handle) Resize(bytes int64) error {
	if h == nil {
		return fmt.Errorf("resizing: %w", ErrReleased)
	}
	if bytes < 0 {
		return fmt.Errorf("resizing %s: negative size %d", h.ID(), bytes)
	}
	r := h.reg
	r.mu.Lock()
	if h.slot < 0 {
		r.mu.Unlock()
		return fmt.Errorf("resizing %s: %w", h.ID(), ErrReleased)
	}
	delta := bytes - r.res.sizes[h.slot]
	r.res.sizes[h.slot] = bytes
	r.counters(h.typ).bytes += delta
	events := r.addBytes(h.owner, delta, h)
	r.mu.Unlock()
	if r.debugging() {
		r.debug("resource resized", slog.String("id", h.ID()), slog.Int64("size", bytes))
	}
	r.fireLimits(events)
	return nil
}

// Release cleans the resource up (see Track) and stops tracking it. The
// cleanup is bounded by the resource's timeout and by ctx. Releasing a
// released resource does nothing; releasing one that another goroutine is
// releasing waits for it (or for ctx).
func (h *Handle) Release(ctx context.Context) error {
	if h == nil {
		return nil
	}
	r := h.reg
	ok, wait := r.claim(h)
	if !ok {
		if wait == nil {
			return nil
		}
		if waitsForItself(ctx, h) {
			return fmt.Errorf("releasing %s from its own cleanup: %w", h.ID(), ErrReentrant)
		}
		select {
		case <-wait:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("releasing %s: %w", h.ID(), context.Cause(ctx))
		}
	}
	timeout := h.cleanupTimeout()
	if o := r.release(ctx, h, timeout); o.err != nil {
		return &StepError{Step: h.step(), Err: o.err, StillRunning: o.stillRunning, Budget: o.budget, Timeout: timeout}
	}
	return nil
}

// step describes a single release as a cleanup step.
func (h *Handle) step() planner.Step {
	return planner.Step{Kind: planner.KindResource, ID: h.ID(), Component: h.ownerID(), Type: h.typ, Name: h.name}
}

// ownerID is the owner's current id.
func (h *Handle) ownerID() string {
	h.reg.mu.RLock()
	defer h.reg.mu.RUnlock()
	return h.owner.id
}

// cleanupTimeout is the resource's cleanup timeout outside a plan: its
// own, else its strategy's default, as the planner reads them.
func (h *Handle) cleanupTimeout() time.Duration {
	if h.spec != nil && h.spec.TimeoutMS != nil {
		return h.timeout
	}
	typ := h.typ
	if h.spec != nil && planner.KnownStrategy(h.spec.Strategy) {
		typ = h.spec.Strategy
	}
	_, ms := planner.DefaultStrategy(typ)
	return time.Duration(ms) * time.Millisecond
}

// claim marks h as being released by the caller. When it cannot (h is
// released, or another goroutine is releasing it) it returns false and,
// in the second case, a channel closed once that release is done.
func (r *Registry) claim(h *Handle) (ok bool, wait <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h.slot < 0 {
		return false, nil
	}
	if r.res.states[h.slot] == stReleasing {
		if h.done == nil {
			h.done = make(chan struct{})
		}
		return false, h.done
	}
	r.res.states[h.slot] = stReleasing
	tc := r.counters(h.typ)
	tc.active--
	tc.releasing++
	return true, nil
}

func (h *Handle) links() *link[Handle] { return &h.siblings }

// finish forgets a claimed resource once its cleanup has returned.
func (r *Registry) finish(h *Handle) {
	r.mu.Lock()
	size := r.res.sizes[h.slot]
	r.res.remove(h)
	c := h.owner
	c.res.remove(h)
	c.live--
	c.released++
	tc := r.counters(h.typ)
	tc.releasing--
	tc.released++
	tc.bytes -= size
	r.addBytes(c, -size, h)
	if h.done != nil {
		close(h.done)
	}
	r.maybePrune(c)
	r.mu.Unlock()
	if r.debugging() {
		r.debug("resource released", slog.String("id", h.ID()), slog.String("type", h.typ), slog.String("name", h.name))
	}
}

// release runs the cleanup of a claimed resource, bounded by timeout (0:
// by ctx only) plus the grace, and forgets the resource once the cleanup
// returns — later, if it is still running when release gives up.
func (r *Registry) release(ctx context.Context, h *Handle, timeout time.Duration) outcome {
	switch v := h.value.(type) {
	case *time.Timer:
		if h.cleanup == nil {
			v.Stop()
			r.finish(h)
			return outcome{}
		}
	case *time.Ticker:
		if h.cleanup == nil {
			v.Stop()
			r.finish(h)
			return outcome{}
		}
	}
	fn := releaser(h)
	if fn == nil {
		r.finish(h)
		return outcome{}
	}
	run := func(ctx context.Context) error {
		if h.cleanup != nil {
			// A WithCleanup function may call the registry with
			// another context; the strategies' own code does not.
			h.runner.Store(goid())
		}
		return fn(context.WithValue(ctx, releasingKey{}, &releasing{h: h, up: releasingOf(ctx)}))
	}
	return r.bounded(ctx, timeout, run, func() { r.finish(h) })
}

// releasingKey is the key of the context a cleanup function gets: it
// names the resource being released, and the releases that wait for it.
type releasingKey struct{}

// releasing is a resource whose cleanup is running, in the chain of the
// cleanups waiting for it (up).
type releasing struct {
	h  *Handle
	up *releasing
}

func releasingOf(ctx context.Context) *releasing {
	x, _ := ctx.Value(releasingKey{}).(*releasing)
	return x
}

// waitsForItself reports whether a caller about to wait for the release of
// h, with ctx, is that release itself — its goroutine, or a call made with
// the context it gave its cleanup: the wait would never end.
func waitsForItself(ctx context.Context, h *Handle) bool {
	for x := releasingOf(ctx); x != nil; x = x.up {
		if x.h == h {
			return true
		}
	}
	g := h.runner.Load()
	return g != 0 && g == goid()
}

// goid is the id of the calling goroutine, read from the first line of its
// stack trace ("goroutine 42 [running]:"), or 0. Go does not expose it on
// purpose; the registry uses it for one thing only, to tell a WithCleanup
// function that waits for itself (as the HTTP/2 code of net/http uses it
// for its debug checks), and pays for it (a few microseconds) once per
// such cleanup.
func goid() uint64 {
	var buf [64]byte
	b, ok := bytes.CutPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if !ok {
		return 0
	}
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return 0
	}
	id, err := strconv.ParseUint(string(b[:i]), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// releaser returns the function that cleans h up, or nil when there is
// nothing to run. Timers are stopped by release itself.
func releaser(h *Handle) func(ctx context.Context) error {
	if h.cleanup != nil {
		return h.cleanup
	}
	switch v := h.value.(type) {
	case nil:
		return nil
	case coordinator.Worker:
		return func(ctx context.Context) error { return coordinator.StopWorker(ctx, v) }
	case *os.Process:
		return func(ctx context.Context) error { return stopProcess(ctx, v) }
	case coordinator.Object:
		return func(context.Context) error { coordinator.ReleaseObject(v); return nil }
	case io.Closer:
		return func(context.Context) error { return closeQuietly(v) }
	case interface{ Stop() }:
		return func(context.Context) error { v.Stop(); return nil }
	}
	return nil
}

// closeQuietly closes c; closing what is already closed is not a failure.
func closeQuietly(c io.Closer) error {
	err := c.Close()
	if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// clampTimeoutMS is d in milliseconds as a snapshot may give it: from 0 to
// snapshot.MaxTimeoutMS (a week), so that what the registry serves is
// always a valid snapshot (docs/snapshot-format.md, "Limits").
func clampTimeoutMS(d time.Duration) int64 {
	return min(max(d.Milliseconds(), 0), snapshot.MaxTimeoutMS)
}
