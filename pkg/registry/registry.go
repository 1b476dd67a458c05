package registry

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Errors returned by the registry; match them with errors.Is.
var (
	// ErrUnknownComponent: no component is registered under that id.
	ErrUnknownComponent = errors.New("unknown component")
	// ErrDestroyed: the component is destroyed or being destroyed.
	ErrDestroyed = errors.New("component is destroyed")
	// ErrExists: an alive component is already registered under that id.
	ErrExists = errors.New("component already registered")
	// ErrReleased: the resource has been released.
	ErrReleased = errors.New("resource already released")
	// ErrScopeClosed: the scope has been closed.
	ErrScopeClosed = errors.New("scope is closed")
	// ErrReentrant: a cleanup function (or what it called) would wait for
	// that very cleanup to end — it released its own resource, or
	// destroyed a component that owns it. See Track.
	ErrReentrant = errors.New("a cleanup cannot wait for itself")
)

// The registry satisfies what coordinators need of it.
var _ coordinator.Registry = (*Registry)(nil)

// Registry is a live, thread-safe registry of components and the
// resources they own. Create one with New; all methods are safe for
// concurrent use.
type Registry struct {
	now         func() time.Time
	log         *slog.Logger
	stacks      bool
	sweepEvery  time.Duration
	grace       time.Duration
	globalLimit int64
	onLimit     func(LimitEvent)
	onSweep     func(SweepReport)
	onDestroyed func(DestroyedEvent)
	source      snapshot.Source

	// Signal handling, replaced by tests of EmergencyCleanup.
	notify     func(c chan<- os.Signal, sig ...os.Signal)
	stopNotify func(c chan<- os.Signal)
	// lockHeld, set by benchmarks, gets how long each snapshot held the lock.
	lockHeld func(time.Duration)

	mu        sync.RWMutex
	comps     map[string]*component
	compTable table[*component]
	res       resTable
	cbTable   table[*callback]
	byType    map[string]*typeCounters
	liveBytes int64
	nextRes   uint64
	nextCB    uint64
	nextRun   uint64

	// Cleanups in progress and the last one's report (progress.go).
	progMu sync.Mutex
	runs   []*runState
	last   *CleanupReport

	stackCache sync.Map // hash of the program counters → *stack
	stackCount atomic.Int64
}

// typeCounters are the counts of one resource type. Guarded by Registry.mu.
type typeCounters struct {
	active, releasing int
	bytes             int64
	created, released uint64
}

// Option configures a Registry.
type Option func(*Registry)

// WithClock sets the clock that stamps creation and destruction times.
// Default: time.Now. Timeouts always use real (or synctest) time.
func WithClock(now func() time.Time) Option {
	return func(r *Registry) {
		if now != nil {
			r.now = now
		}
	}
}

// WithLogger sets where the registry logs. At slog.LevelDebug (debug
// mode) every lifecycle event (component registered, destroyed or
// collected; resource tracked, resized or released; cleanup step; limit;
// sweep); at slog.LevelWarn the errors of the server Listen starts (a
// failing accept, a handler that panicked). Default: no logging — the
// registry never writes to the standard error.
func WithLogger(l *slog.Logger) Option {
	return func(r *Registry) { r.log = l }
}

// WithStackCapture turns the capture of each resource's creation stack on
// or off. Default: on. The stack costs about a microsecond per Track;
// frames are symbolized only when a snapshot is taken, once per distinct
// stack.
func WithStackCapture(on bool) Option {
	return func(r *Registry) { r.stacks = on }
}

// setPositive sets *field to v when v is above zero: an option given zero
// or less keeps the default.
func setPositive[T time.Duration | int](field *T, v T) {
	if v > 0 {
		*field = v
	}
}

// WithSweepInterval sets how often the background sweep started by
// StartSweep runs. Default: 60 s.
func WithSweepInterval(d time.Duration) Option {
	return func(r *Registry) { setPositive(&r.sweepEvery, d) }
}

// WithGrace sets how long a cleanup step may still run after its timeout
// (or the overall budget) has run out — time for a worker's terminate or a
// process's kill to complete — before it is reported as still running and
// cleanup moves on. Default: 1 s.
func WithGrace(d time.Duration) Option {
	return func(r *Registry) {
		if d >= 0 {
			r.grace = d
		}
	}
}

// WithGlobalLimit sets a byte limit on the live resources of the whole
// registry. Default: none. See WithOnLimit.
func WithGlobalLimit(bytes int64) Option {
	return func(r *Registry) { r.globalLimit = bytes }
}

// WithOnLimit sets the hook called when a Track or Resize leaves the
// registry, or a component's subtree, over its byte limit. Limits are
// budgets the registry watches, not an allocator: Track and Resize still
// succeed, and the hook decides what to do (drop caches, refuse work,
// destroy a component). It runs on the goroutine that tracked, without
// the registry's lock held. Default: none.
func WithOnLimit(fn func(LimitEvent)) Option {
	return func(r *Registry) { r.onLimit = fn }
}

// WithOnSweep sets the hook that receives each sweep's report, from Sweep
// and the background sweep alike. Default: none.
func WithOnSweep(fn func(SweepReport)) Option {
	return func(r *Registry) { r.onSweep = fn }
}

// WithOnDestroyed sets the hook called when a component is destroyed —
// by Destroy or CleanupAll, or because the Go value it was registered
// with was garbage-collected (Collected set). It must not block: for a
// collected value it runs on the runtime's cleanup goroutine. Default: none.
func WithOnDestroyed(fn func(DestroyedEvent)) Option {
	return func(r *Registry) { r.onDestroyed = fn }
}

// WithSource sets the source block of snapshots. Default: this process's
// executable name and pid, the host name, the Go version, and producer
// "rescoord/pkg/registry".
func WithSource(s snapshot.Source) Option {
	return func(r *Registry) { r.source = s }
}

// New returns an empty registry configured by opts.
func New(opts ...Option) *Registry {
	r := &Registry{
		now:        time.Now,
		stacks:     true,
		sweepEvery: 60 * time.Second,
		grace:      time.Second,
		notify:     signalNotify,
		stopNotify: signalStop,
		comps:      make(map[string]*component),
		byType:     make(map[string]*typeCounters),
	}
	host, _ := os.Hostname()
	exe := ""
	if len(os.Args) > 0 {
		exe = filepath.Base(os.Args[0])
	}
	r.source = snapshot.Source{
		Process:  exe,
		PID:      int64(os.Getpid()),
		Host:     host,
		Runtime:  runtime.Version(),
		Producer: "rescoord/pkg/registry",
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// LimitEvent says that a byte limit is exceeded.
type LimitEvent struct {
	// Component is the component whose subtree is over its limit; "" for
	// the registry's global limit.
	Component string
	// Limit and Bytes are the limit and the live bytes now counted against it.
	Limit, Bytes int64
	// Resource is the id of the resource whose Track or Resize crossed it.
	Resource string
}

// DestroyedEvent says that a component was destroyed.
type DestroyedEvent struct {
	// ID is the component's id.
	ID string
	// At is when it was destroyed, by the registry's clock.
	At time.Time
	// Collected is true when its Go value was garbage-collected without an
	// explicit Destroy: its live resources are now orphans.
	Collected bool
}

// debug logs a lifecycle event in debug mode.
func (r *Registry) debug(msg string, attrs ...slog.Attr) {
	if r.log == nil {
		return
	}
	ctx := context.Background()
	if !r.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	r.log.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
}

// debugging reports whether debug logging is on, so callers can skip
// building attributes.
func (r *Registry) debugging() bool {
	return r.log != nil && r.log.Enabled(context.Background(), slog.LevelDebug)
}

// counters returns the counters of resource type typ. r.mu must be held.
func (r *Registry) counters(typ string) *typeCounters {
	tc := r.byType[typ]
	if tc == nil {
		tc = new(typeCounters)
		r.byType[typ] = tc
	}
	return tc
}

// addBytes adds delta live bytes to c, its ancestors and the registry,
// and returns the limits now exceeded when delta is positive. r.mu must
// be held.
func (r *Registry) addBytes(c *component, delta int64, h *Handle) []LimitEvent {
	if delta == 0 {
		return nil
	}
	var events []LimitEvent
	r.liveBytes += delta
	c.own += delta
	for x := c; x != nil; x = x.parent {
		x.subtree += delta
		if delta > 0 && x.limit > 0 && x.subtree > x.limit {
			events = append(events, LimitEvent{Component: x.id, Limit: x.limit, Bytes: x.subtree, Resource: h.ID()})
		}
	}
	if delta > 0 && r.globalLimit > 0 && r.liveBytes > r.globalLimit {
		events = append(events, LimitEvent{Limit: r.globalLimit, Bytes: r.liveBytes, Resource: h.ID()})
	}
	return events
}

// fireLimits reports exceeded limits, without the lock held.
func (r *Registry) fireLimits(events []LimitEvent) {
	for _, e := range events {
		if r.debugging() {
			r.debug("limit exceeded", slog.String("component", e.Component), slog.Int64("limit", e.Limit),
				slog.Int64("bytes", e.Bytes), slog.String("resource", e.Resource))
		}
		if r.onLimit != nil {
			r.onLimit(e)
		}
	}
}
