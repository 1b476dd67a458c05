package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// The registry is what coordinators need.
var _ coordinator.Registry = (*registry.Registry)(nil)

// t0 is the fake clock's time.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newReg returns a registry on a fake clock with the components given as
// "id" or "id<parent".
func newReg(t testing.TB, comps []string, opts ...registry.Option) (*registry.Registry, *clock) {
	t.Helper()
	clk := newClock()
	r := registry.New(append([]registry.Option{registry.WithClock(clk.Now)}, opts...)...)
	for _, c := range comps {
		id, parent, _ := strings.Cut(c, "<")
		var o []registry.ComponentOption
		if parent != "" {
			o = append(o, registry.WithParent(parent))
		}
		if err := r.RegisterComponent(id, o...); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	return r, clk
}

// trackBlocking tracks a resource of owner whose cleanup closes entered
// when it starts and returns once unblock is closed.
func trackBlocking(t testing.TB, r *registry.Registry, owner string) (h *registry.Handle, entered, unblock chan struct{}) {
	t.Helper()
	entered, unblock = make(chan struct{}), make(chan struct{})
	h = mustTrack(t, r, owner, nil, registry.WithCleanup(func(context.Context) error {
		close(entered)
		<-unblock
		return nil
	}))
	return h, entered, unblock
}

func mustTrack(t testing.TB, r *registry.Registry, owner string, v any, opts ...registry.TrackOption) *registry.Handle {
	t.Helper()
	h, err := r.Track(owner, v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// resources returns the snapshot's resources by id.
func resources(s *snapshot.Snapshot) map[string]snapshot.Resource {
	m := make(map[string]snapshot.Resource, len(s.Resources))
	for _, r := range s.Resources {
		m[r.ID] = r
	}
	return m
}

func component(s *snapshot.Snapshot, id string) *snapshot.Component {
	for i := range s.Components {
		if s.Components[i].ID == id {
			return &s.Components[i]
		}
	}
	return nil
}

func TestHandle_ReleaseIsIdempotent(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	closed := 0
	h := mustTrack(t, r, "tab", nil, registry.WithCleanup(func(context.Context) error { closed++; return nil }), registry.WithSize(10))
	if h.ID() != "r-1" || h.Released() {
		t.Fatalf("ID %q, released %v", h.ID(), h.Released())
	}
	for i := 0; i < 3; i++ {
		if err := h.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if closed != 1 || !h.Released() {
		t.Errorf("cleanup ran %d times, released %v", closed, h.Released())
	}
	var nilHandle *registry.Handle
	if err := nilHandle.Release(context.Background()); err != nil {
		t.Error(err)
	}
	st := r.Stats()
	if st.Live != 0 || st.LiveBytes != 0 || st.ByType["custom"].Created != 1 || st.ByType["custom"].Released != 1 {
		t.Errorf("stats %+v", st)
	}
	if err := h.Resize(20); !errors.Is(err, registry.ErrReleased) {
		t.Errorf("Resize after release: %v", err)
	}
}

func TestTrack_OwnerMustBeAliveAndKnown(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	if _, err := r.Track("nope", 1); !errors.Is(err, registry.ErrUnknownComponent) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown owner: %v", err)
	}
	if _, err := r.Track("tab", 1, registry.WithSize(-1)); err == nil {
		t.Error("negative size: no error")
	}
	if _, err := r.Track("tab", 1, registry.WithMetadata(func() {})); err == nil {
		t.Error("unencodable metadata: no error")
	}
	if err := r.Destroy(context.Background(), "tab"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Track("tab", 1); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("destroyed and forgotten owner: %v", err)
	}
}

func TestRegisterComponent_Errors(t *testing.T) {
	r, _ := newReg(t, []string{"win"})
	cases := []struct {
		id   string
		opts []registry.ComponentOption
		want error
		msg  string
	}{
		{id: "", msg: "empty id"},
		{id: "win", want: registry.ErrExists},
		{id: "tab", opts: []registry.ComponentOption{registry.WithParent("ghost")}, want: registry.ErrUnknownComponent},
		{id: "tab", opts: []registry.ComponentOption{registry.WithLimit(-5)}, msg: "negative limit"},
	}
	for _, c := range cases {
		err := r.RegisterComponent(c.id, c.opts...)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("RegisterComponent(%q): %v", c.id, err)
		}
	}
	if err := r.OnCleanup("ghost", "x", 0, 0, func(context.Context) error { return nil }); !errors.Is(err, registry.ErrUnknownComponent) {
		t.Errorf("OnCleanup of unknown component: %v", err)
	}
	if err := r.OnCleanup("win", "x", 0, 0, nil); err == nil {
		t.Error("OnCleanup with nil func: no error")
	}
}

func TestTrack_InfersTheTypeFromTheValue(t *testing.T) {
	r, _ := newReg(t, []string{"c"})
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer b.Close()
	timer := time.NewTimer(time.Hour)
	cases := []struct {
		v    any
		want string
	}{
		{newWorker(false), "worker"},
		{&os.Process{}, "process"},
		{timer, "timer"},
		{time.NewTicker(time.Hour), "timer"},
		{f, "file"},
		{a, "socket"},
		{&object{}, "qobject"},
		{make([]byte, 4), "memory"},
		{42, "custom"},
		{nil, "custom"},
	}
	for _, c := range cases {
		h := mustTrack(t, r, "c", c.v)
		if got := resources(r.Snapshot())[h.ID()].Type; got != c.want {
			t.Errorf("%T: type %q, want %q", c.v, got, c.want)
		}
	}
	h := mustTrack(t, r, "c", f, registry.WithType("pool"))
	if got := resources(r.Snapshot())[h.ID()].Type; got != "pool" {
		t.Errorf("WithType: %q", got)
	}
}

func TestRelease_UsesWhatTheValueCallsFor(t *testing.T) {
	r, _ := newReg(t, []string{"c"}, registry.WithStackCapture(false))
	ctx := context.Background()
	f, _ := os.CreateTemp(t.TempDir(), "x")
	a, b := net.Pipe()
	defer b.Close()
	obj := &object{}
	timer := time.NewTimer(time.Hour)
	stopper := &stopper{}
	for _, v := range []any{f, a, obj, timer, stopper} {
		if err := mustTrack(t, r, "c", v).Release(ctx); err != nil {
			t.Errorf("%T: %v", v, err)
		}
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("file not closed: %v", err)
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("socket not closed")
	}
	if obj.String() != "disconnect deleteLater" {
		t.Errorf("object: %v", obj.String())
	}
	if timer.Stop() {
		t.Error("timer still running")
	}
	if !stopper.stopped {
		t.Error("Stop not called")
	}
	// Closing what the program closed already is not a failure.
	g, _ := os.CreateTemp(t.TempDir(), "y")
	h := mustTrack(t, r, "c", g)
	g.Close()
	if err := h.Release(ctx); err != nil {
		t.Errorf("already closed file: %v", err)
	}
}

func TestRelease_ReportsFailuresAndPanics(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	boom := errors.New("flush failed")
	h := mustTrack(t, r, "tab", nil, registry.WithName("index"), registry.WithType("file"),
		registry.WithCleanup(func(context.Context) error { return boom }))
	err := h.Release(context.Background())
	var se *registry.StepError
	if !errors.Is(err, boom) || !errors.As(err, &se) || err.Error() != `resource r-1 (file "index" of tab): flush failed` {
		t.Errorf("err = %v", err)
	}
	if !h.Released() {
		t.Error("a resource whose cleanup failed stays tracked")
	}
	p := mustTrack(t, r, "tab", nil, registry.WithCleanup(func(context.Context) error { panic("nil map") }))
	if err := p.Release(context.Background()); err == nil || !strings.Contains(err.Error(), "panic: nil map") {
		t.Errorf("panic: %v", err)
	}
}

func TestRelease_WaitsForAConcurrentRelease(t *testing.T) {
	r, _ := newReg(t, []string{"tab"})
	h, entered, unblock := trackBlocking(t, r, "tab")
	first := make(chan error)
	go func() { first <- h.Release(context.Background()) }()
	<-entered
	second := make(chan error)
	go func() { second <- h.Release(context.Background()) }()
	if snap := r.Snapshot(); snap.Resources[0].State != snapshot.StateReleasing {
		t.Errorf("state during release: %s", snap.Resources[0].State)
	}
	select {
	case <-second:
		t.Fatal("second Release returned before the first finished")
	default:
	}
	close(unblock)
	if err := <-first; err != nil {
		t.Error(err)
	}
	if err := <-second; err != nil {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	entered2, unblock2 := make(chan struct{}), make(chan struct{})
	h2 := mustTrack(t, r, "tab", nil, registry.WithCleanup(func(context.Context) error { close(entered2); <-unblock2; return nil }))
	go func() { first <- h2.Release(context.Background()) }()
	<-entered2
	if err := h2.Release(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with a cancelled context: %v", err)
	}
	close(unblock2)
	<-first
}

func TestLimits_CheckedOnTrackAndResize(t *testing.T) {
	var mu sync.Mutex
	var events []registry.LimitEvent
	r := registry.New(registry.WithGlobalLimit(1000), registry.WithOnLimit(func(e registry.LimitEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	if err := r.RegisterComponent("tab", registry.WithLimit(100)); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterComponent("ctl", registry.WithParent("tab")); err != nil {
		t.Fatal(err)
	}
	h := mustTrack(t, r, "ctl", nil, registry.WithSize(60))
	if len(events) != 0 {
		t.Fatalf("events under the limit: %v", events)
	}
	if err := h.Resize(120); err != nil {
		t.Fatal(err)
	}
	want := registry.LimitEvent{Component: "tab", Limit: 100, Bytes: 120, Resource: "r-1"}
	if len(events) != 1 || events[0] != want {
		t.Fatalf("events %+v, want %+v", events, want)
	}
	st := r.Stats()
	if cs := st.ByComponent["tab"]; !cs.OverLimit() || cs.SubtreeBytes != 120 || cs.Bytes != 0 || cs.Limit != 100 {
		t.Errorf("tab stats %+v", cs)
	}
	if cs := st.ByComponent["ctl"]; cs.Bytes != 120 || cs.Live != 1 {
		t.Errorf("ctl stats %+v", cs)
	}
	mustTrack(t, r, "tab", nil, registry.WithSize(900))
	if n := len(events); n != 3 || events[2] != (registry.LimitEvent{Limit: 1000, Bytes: 1020, Resource: "r-2"}) {
		t.Errorf("global limit events: %+v", events)
	}
	if !r.Stats().OverLimit() {
		t.Error("Stats.OverLimit false")
	}
	snap := r.Snapshot()
	if snap.Limits.GlobalBytes != 1000 || snap.Limits.Components["tab"] != 100 {
		t.Errorf("snapshot limits %+v", snap.Limits)
	}
	// Shrinking fires nothing.
	events = nil
	if err := h.Resize(10); err != nil || len(events) != 0 {
		t.Errorf("shrink: %v %v", err, events)
	}
}

func TestSnapshot_IsReadByTheDecoderUnchanged(t *testing.T) {
	r, clk := newReg(t, nil, registry.WithSource(snapshot.Source{Process: "media-app", PID: 7}), registry.WithGlobalLimit(1<<30))
	if err := r.RegisterComponent("main_window", registry.WithName("MainWindow"), registry.WithType("window")); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterComponent("tab", registry.WithName("MediaTab"), registry.WithType("tab"),
		registry.WithParent("main_window"), registry.WithLabels(map[string]string{"plugin": "media"}), registry.WithLimit(1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := r.OnCleanup("tab", "MediaTab.cleanup", 10, 3*time.Second, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	db := mustTrack(t, r, "tab", nil, registry.WithType("file"), registry.WithName("db"))
	w := newWorker(false)
	if _, err := r.Track("tab", w, registry.WithName("analysis"), registry.WithSize(4096), registry.WithDependsOn(db),
		registry.WithTimeout(1500*time.Millisecond), registry.WithMetadata(map[string]int{"files": 312})); err != nil {
		t.Fatal(err)
	}

	snap := r.Snapshot()
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	back, err := snapshot.Parse(data, "registry")
	if err != nil {
		t.Fatalf("rescoord cannot read the snapshot: %v\n%s", err, data)
	}
	ix, err := snapshot.NewIndex(back)
	if err != nil {
		t.Fatal(err)
	}
	if back.Format != "rescoord/v1" || !back.TakenAt.Equal(t0.Add(time.Minute)) || back.Source.Process != "media-app" {
		t.Errorf("header: %s %v %+v", back.Format, back.TakenAt, back.Source)
	}
	tab := ix.Component("tab")
	if tab == nil || tab.Parent != "main_window" || tab.Labels["plugin"] != "media" || tab.State != "alive" ||
		!tab.CreatedAt.Equal(t0) || tab.Type != "tab" || tab.Name != "MediaTab" {
		t.Errorf("tab: %+v", tab)
	}
	if back.Limits.GlobalBytes != 1<<30 || back.Limits.Components["tab"] != 1<<20 {
		t.Errorf("limits: %+v", back.Limits)
	}
	wr := ix.Resource("r-2")
	if wr == nil || wr.Type != "worker" || wr.Owner != "tab" || wr.Name != "analysis" || wr.State != snapshot.StateActive || !wr.Running ||
		wr.SizeBytes != 4096 || strings.Join(wr.DependsOn, ",") != "r-1" || wr.Cleanup == nil || *wr.Cleanup.TimeoutMS != 1500 ||
		string(wr.Metadata.Raw()) != `{"files":312}` || !wr.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("worker: %+v", wr)
	}
	if wr.CreatedBy.Len() == 0 || !strings.HasPrefix(wr.CreatedBy.Top(), "pkg/registry/registry_test.go:") ||
		!strings.HasSuffix(wr.CreatedBy.Top(), " registry_test.TestSnapshot_IsReadByTheDecoderUnchanged") {
		t.Errorf("created_by %q: want this test, by its path in the module, as the innermost frame", wr.CreatedBy.Frames())
	}
	if len(back.Cleanups) != 1 || back.Cleanups[0].ID != "c-1" || back.Cleanups[0].Component != "tab" ||
		back.Cleanups[0].Priority != 10 || *back.Cleanups[0].TimeoutMS != 3000 {
		t.Errorf("cleanups: %+v", back.Cleanups)
	}
	if ix.TotalLiveBytes() != 4096 || ix.SubtreeLiveBytes(0) != 4096 {
		t.Errorf("live bytes %d", ix.TotalLiveBytes())
	}
	w.finish()
	if resources(r.Snapshot())["r-2"].Running {
		t.Error("a finished worker shows running")
	}
}

func TestSnapshot_EmptyRegistryHasEmptyLists(t *testing.T) {
	data, err := json.Marshal(registry.New().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"components":[]`, `"resources":[]`, `"cleanups":[]`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("%s missing from %s", want, data)
		}
	}
}

func TestStackCapture_CanBeTurnedOff(t *testing.T) {
	r, _ := newReg(t, []string{"c"}, registry.WithStackCapture(false))
	mustTrack(t, r, "c", 1)
	if got := r.Snapshot().Resources[0].CreatedBy; !got.IsZero() {
		t.Errorf("created_by %v with capture off", got.Frames())
	}
}

func TestDebugMode_LogsLifecycleEvents(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, _ := newReg(t, nil, registry.WithLogger(log), registry.WithGlobalLimit(1))
	if err := r.RegisterComponent("tab"); err != nil {
		t.Fatal(err)
	}
	h := mustTrack(t, r, "tab", nil, registry.WithSize(2))
	_ = h.Resize(3)
	_ = h.Release(context.Background())
	mustTrack(t, r, "tab", nil)
	if err := r.Destroy(context.Background(), "tab"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`msg="component registered" id=tab`,
		`msg="resource tracked" id=r-1 type=custom`,
		`msg="limit exceeded" component="" limit=1 bytes=2`,
		`msg="resource resized" id=r-1 size=3`,
		`msg="resource released" id=r-1`,
		`msg="cleanup step" order=1 kind=resource id=r-2 component=tab`,
		`msg="cleanup step" order=2 kind=component id=tab`,
		`msg="component destroyed" id=tab`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	// Without a logger, or above debug level, nothing is logged.
	buf.Reset()
	quiet := registry.New(registry.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	_ = quiet.RegisterComponent("x")
	if buf.Len() != 0 {
		t.Errorf("logged at info level: %s", buf.String())
	}
}

// worker is a fake coordinator.Worker; a stubborn one ignores Quit. Its
// journal records the calls.
type worker struct {
	journal
	stubborn bool
	once     sync.Once
	done     chan struct{}
}

func newWorker(stubborn bool) *worker { return &worker{stubborn: stubborn, done: make(chan struct{})} }

func (w *worker) finish()               { w.once.Do(func() { close(w.done) }) }
func (w *worker) Done() <-chan struct{} { return w.done }
func (w *worker) Quit() {
	w.add("quit")
	if !w.stubborn {
		w.finish()
	}
}
func (w *worker) Terminate() error { w.add("terminate"); w.finish(); return nil }

// object is a fake GUI object; its journal records the calls.
type object struct{ journal }

func (o *object) Disconnect()  { o.add("disconnect") }
func (o *object) DeleteLater() { o.add("deleteLater") }

type stopper struct{ stopped bool }

func (s *stopper) Stop() { s.stopped = true }
