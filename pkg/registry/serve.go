package registry

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/planner"
)

// ServeOption configures Handler, Listen and Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	token      string
	cleanup    bool
	address    string
	public     bool
	process    string
	runtimeDir string
	discovery  bool
	metrics    http.Handler
	getenv     func(string) string

	readTimeout  time.Duration
	writeTimeout time.Duration
	idleTimeout  time.Duration
	maxConns     int
	// progressEvery is how often POST /cleanup reports progress.
	progressEvery time.Duration
}

// Defaults of the serving limits; see WithReadTimeout, WithWriteTimeout,
// WithIdleTimeout and WithMaxConnections.
const (
	DefaultReadTimeout    = 10 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultIdleTimeout    = 30 * time.Second
	DefaultMaxConnections = 16
)

// ClientHeader is the header POST /cleanup must carry over TCP (any non-empty
// value; rescoord's client sends "X-Rescoord-Client: rescoord"). A web
// page cannot send it across origins without a CORS preflight, which the
// registry never answers, so a cross-origin form or fetch cannot run a
// cleanup.
const ClientHeader = attach.ClientHeader

// WithToken makes every endpoint require "Authorization: Bearer TOKEN"
// (the scheme in any case), compared in constant time. Default: no token
// (the unix socket's mode 0600 is the protection; over TCP any local user
// can read the snapshot, and the cleanup endpoint is refused).
func WithToken(token string) ServeOption {
	return func(c *serveConfig) { c.token = token }
}

// WithCleanupEndpoint enables POST /cleanup?component=ID, through which
// `rescoord cleanup --attach` destroys a component's subtree in this
// process. Over TCP it requires WithToken: Listen refuses it otherwise, and
// a Handler mounted on a TCP server answers 403. Default: off (the endpoint
// answers 403).
func WithCleanupEndpoint() ServeOption {
	return func(c *serveConfig) { c.cleanup = true }
}

// WithAddress sets where Serve and Listen listen: "unix:///path/to.sock",
// or a TCP "host:port" that must be a loopback address (127.0.0.1:6060,
// localhost:0, [::1]:6060) unless WithPublicAddress is given. Default: a
// unix socket PID.sock in the per-user runtime directory.
func WithAddress(addr string) ServeOption {
	return func(c *serveConfig) { c.address = addr }
}

// WithPublicAddress allows a TCP address that is not loopback, and
// requests whose Host header is not a loopback address or localhost.
// Only use it behind a network you trust, and with WithToken. Default:
// refused (Listen fails; requests naming another host are 421).
func WithPublicAddress() ServeOption {
	return func(c *serveConfig) { c.public = true }
}

// WithProcessName sets the name `rescoord ps` shows and `--attach NAME`
// matches. Default: the executable's base name.
func WithProcessName(name string) ServeOption {
	return func(c *serveConfig) { c.process = name }
}

// WithRuntimeDir sets the directory of the default socket and of the
// discovery file. Default: $XDG_RUNTIME_DIR/rescoord, else rescoord-UID in
// the temporary directory (created with mode 0700).
func WithRuntimeDir(dir string) ServeOption {
	return func(c *serveConfig) { c.runtimeDir = dir }
}

// WithoutDiscovery keeps Listen from writing a discovery file: `rescoord
// ps` will not list the process. Default: a discovery file is written and
// removed when serving stops.
func WithoutDiscovery() ServeOption {
	return func(c *serveConfig) { c.discovery = false }
}

// WithMetrics serves h at GET /metrics: metrics.Handler(reg) from
// pkg/registry/metrics. Without it, /metrics answers 404, and a program
// that does not serve metrics does not link the Prometheus client.
func WithMetrics(h http.Handler) ServeOption {
	return func(c *serveConfig) { c.metrics = h }
}

// WithReadTimeout bounds the time a client may take to send a request,
// headers and body, from the moment it connects or starts it. Default:
// DefaultReadTimeout (10 s).
func WithReadTimeout(d time.Duration) ServeOption {
	return func(c *serveConfig) { setPositive(&c.readTimeout, d) }
}

// WithWriteTimeout bounds each write of a response: a client that reads
// nothing for that long is disconnected. It is renewed as the response
// progresses, so a long snapshot or a cleanup streamed for minutes is not
// cut. Default: DefaultWriteTimeout (30 s).
func WithWriteTimeout(d time.Duration) ServeOption {
	return func(c *serveConfig) { setPositive(&c.writeTimeout, d) }
}

// WithIdleTimeout sets how long a keep-alive connection may wait for its
// next request before the server closes it. Default: DefaultIdleTimeout
// (30 s).
func WithIdleTimeout(d time.Duration) ServeOption {
	return func(c *serveConfig) { setPositive(&c.idleTimeout, d) }
}

// WithMaxConnections caps the connections served at once; further clients
// wait in the kernel's listen backlog, holding no file descriptor of the
// process, until one closes. Default: DefaultMaxConnections (16).
func WithMaxConnections(n int) ServeOption {
	return func(c *serveConfig) { setPositive(&c.maxConns, n) }
}

// DefaultProgressInterval is how often POST /cleanup reports progress; see
// WithProgressInterval.
const DefaultProgressInterval = time.Second

// WithProgressInterval sets how often POST /cleanup reports where the
// cleanup stands while a step runs (DefaultProgressInterval, which is also
// the longest: clients count on a report at least once a second).
func WithProgressInterval(d time.Duration) ServeOption {
	return func(c *serveConfig) {
		if d > 0 && d <= DefaultProgressInterval {
			c.progressEvery = d
		}
	}
}

func newServeConfig(opts []ServeOption) *serveConfig {
	c := &serveConfig{
		discovery: true, getenv: os.Getenv,
		readTimeout: DefaultReadTimeout, writeTimeout: DefaultWriteTimeout,
		idleTimeout: DefaultIdleTimeout, maxConns: DefaultMaxConnections,
		progressEvery: DefaultProgressInterval,
	}
	for _, o := range opts {
		o(c)
	}
	if c.process == "" {
		c.process = "go-app"
		if len(os.Args) > 0 {
			c.process = filepath.Base(os.Args[0])
		}
	}
	if c.runtimeDir == "" {
		c.runtimeDir = discovery.Dir(c.getenv)
	}
	return c
}

// Handler returns an http.Handler that serves the registry, as
// net/http/pprof serves a profile:
//
//	GET  /snapshot                 the snapshot, format v1 (gzip when the client accepts it)
//	GET  /stats                    Stats as JSON
//	GET  /metrics                  Prometheus metrics
//	POST /cleanup?component=ID     destroy ID's subtree, streaming each step's
//	                               result as a line of JSON (WithCleanupEndpoint only)
//
// Whatever the transport, a request a browser sends for a web page (one
// with an Origin header, or a Sec-Fetch-Site other than "none") is 403,
// and with WithToken a request without the token is 401. Over TCP a
// cleanup needs WithToken and must carry ClientHeader (403 otherwise).
// Refusals close the connection. Listen adds the Host check and the
// timeouts; a Handler mounted on a server of your own gets that server's.
//
// Mount it on a mux of your own, or let Serve listen for you.
func (r *Registry) Handler(opts ...ServeOption) http.Handler {
	return r.handler(newServeConfig(opts))
}

func (r *Registry) handler(cfg *serveConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+attach.PathSnapshot, r.serveSnapshot)
	mux.HandleFunc("GET "+attach.PathStats, r.serveStats)
	mux.HandleFunc("GET "+attach.PathMetrics, func(w http.ResponseWriter, req *http.Request) {
		if cfg.metrics == nil {
			writeError(w, http.StatusNotFound, "this process does not serve metrics (the program must serve with registry.WithMetrics(metrics.Handler(reg)))")
			return
		}
		cfg.metrics.ServeHTTP(w, req)
	})
	mux.HandleFunc("POST "+attach.PathCleanup, func(w http.ResponseWriter, req *http.Request) {
		r.serveCleanup(w, req, cfg)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "not found: this endpoint serves GET /snapshot, /stats, /metrics and POST /cleanup")
	})
	want := []byte(cfg.token)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if msg := attach.FromWebPage(req); msg != "" {
			refuse(w, http.StatusForbidden, msg)
			return
		}
		if cfg.token != "" && !hasBearer(req, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rescoord"`)
			refuse(w, http.StatusUnauthorized, "unauthorized: a valid bearer token is required")
			return
		}
		mux.ServeHTTP(w, req)
	})
}

// hasBearer reports whether req carries "Authorization: Bearer want"; the
// scheme is case-insensitive (RFC 9110, section 11.1), the token compared
// in constant time.
func hasBearer(req *http.Request, want []byte) bool {
	cred, ok := attach.BearerToken(req.Header.Get("Authorization"))
	return ok && subtle.ConstantTimeCompare([]byte(cred), want) == 1
}

// overUnix reports whether req came through a unix socket, which no web
// page can reach.
func overUnix(req *http.Request) bool {
	_, ok := req.Context().Value(http.LocalAddrContextKey).(*net.UnixAddr)
	return ok
}

// checkHost refuses requests whose Host is not a loopback address or
// localhost: a web page whose name was rebound to 127.0.0.1 (DNS
// rebinding) sends its own name.
func checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !attach.LoopbackHost(req.Host) {
			refuse(w, http.StatusMisdirectedRequest, "misdirected request: host "+strconv.Quote(attach.Clip(req.Host))+
				" is not a loopback address or localhost (the program must serve with registry.WithPublicAddress to accept it)")
			return
		}
		next.ServeHTTP(w, req)
	})
}

// refuse answers an error and closes the connection, so that a client
// refused does not keep a connection of the process open.
func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Connection", "close")
	writeError(w, code, msg)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func acceptsGzip(req *http.Request) bool {
	for _, part := range strings.Split(req.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

// serveSnapshot streams the snapshot (WriteSnapshot), gzip-compressed when
// the client accepts it. A write that fails (the client went away, or the
// write timeout) ends the response cut short: the client's decoder sees a
// truncated document, never a partial one called whole.
func (r *Registry) serveSnapshot(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Vary", "Accept-Encoding")
	if !acceptsGzip(req) {
		if r.WriteSnapshot(w) == nil {
			io.WriteString(w, "\n")
		}
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(w)
	if r.WriteSnapshot(zw) == nil {
		io.WriteString(zw, "\n")
		zw.Close()
	}
	zw.Reset(io.Discard)
	gzipWriters.Put(zw)
}

// gzipWriters are reused across requests: each holds about a megabyte of
// compression state.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// statsJSON is the JSON form of Stats served at /stats.
type statsJSON struct {
	TakenAt             time.Time                    `json:"taken_at"`
	AliveComponents     int                          `json:"alive_components"`
	DestroyedComponents int                          `json:"destroyed_components"`
	Live                int                          `json:"live_resources"`
	Releasing           int                          `json:"releasing_resources"`
	LiveBytes           int64                        `json:"live_bytes"`
	GlobalLimit         int64                        `json:"global_limit_bytes"`
	Cleanups            int                          `json:"cleanups"`
	ByType              map[string]typeStatsJSON     `json:"by_type"`
	ByComponent         map[string]componentStatJSON `json:"by_component"`
	attach.CleanupState
}

type typeStatsJSON struct {
	Active    int    `json:"active"`
	Releasing int    `json:"releasing"`
	Bytes     int64  `json:"live_bytes"`
	Created   uint64 `json:"created"`
	Released  uint64 `json:"released"`
}

type componentStatJSON struct {
	Destroyed    bool   `json:"destroyed"`
	Live         int    `json:"live_resources"`
	Bytes        int64  `json:"live_bytes"`
	SubtreeBytes int64  `json:"subtree_live_bytes"`
	Limit        int64  `json:"limit_bytes,omitempty"`
	Created      uint64 `json:"created"`
	Released     uint64 `json:"released"`
}

func (r *Registry) serveStats(w http.ResponseWriter, req *http.Request) {
	st := r.Stats()
	out := statsJSON{
		TakenAt: st.TakenAt, AliveComponents: st.AliveComponents, DestroyedComponents: st.DestroyedComponents,
		Live: st.Live, Releasing: st.Releasing, LiveBytes: st.LiveBytes, GlobalLimit: st.GlobalLimit, Cleanups: st.Cleanups,
		ByType:       make(map[string]typeStatsJSON, len(st.ByType)),
		ByComponent:  make(map[string]componentStatJSON, len(st.ByComponent)),
		CleanupState: r.cleanupState(),
	}
	for k, v := range st.ByType {
		out.ByType[k] = typeStatsJSON(v)
	}
	for k, v := range st.ByComponent {
		out.ByComponent[k] = componentStatJSON(v)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// serveCleanup destroys the subtree of ?component=ID and streams each
// step's result as {"step": …} lines, then {"summary": …}. The cleanup runs
// to its end even if the client goes away; ?timeout=DURATION bounds it.
func (r *Registry) serveCleanup(w http.ResponseWriter, req *http.Request, cfg *serveConfig) {
	if !cfg.cleanup {
		writeError(w, http.StatusForbidden, "cleanup through the endpoint is not enabled in this process (the program must serve with registry.WithCleanupEndpoint)")
		return
	}
	if !overUnix(req) {
		// No web page can reach a unix socket; over TCP, a page can send
		// a "simple" POST without asking: the token and a header it
		// cannot add without a CORS preflight stop it.
		if cfg.token == "" {
			refuse(w, http.StatusForbidden, "cleanup over TCP requires a token: the program must serve with registry.WithToken")
			return
		}
		if req.Header.Get(ClientHeader) == "" {
			refuse(w, http.StatusForbidden, "forbidden: a cleanup over TCP must carry the "+ClientHeader+" header")
			return
		}
	}
	id := req.URL.Query().Get("component")
	if id == "" {
		writeError(w, http.StatusBadRequest, "missing ?component=ID")
		return
	}
	r.mu.RLock()
	_, known := r.comps[id]
	r.mu.RUnlock()
	if !known {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no component %q in the registry", id))
		return
	}
	ctx := context.WithoutCancel(req.Context())
	if t := req.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid timeout %q", t))
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush() // the client knows the cleanup started
	enc := json.NewEncoder(w)
	sum := attach.CleanupSummary{}
	start := time.Now()
	var mu sync.Mutex // steps come from the cleanup, progress from the ticker
	emit := func(ev attach.CleanupEvent) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(ev) // a client that went away does not stop the cleanup
		rc.Flush()
	}
	runs := make(chan *runState, 1)
	ctx = withRunHook(ctx, func(run *runState) {
		select {
		case runs <- run:
		default:
		}
	})
	stop := make(chan struct{})
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		r.reportProgress(runs, stop, cfg.progressEvery, emit)
	}()
	ctx = ObserveSteps(ctx, func(sr StepResult) {
		res := stepResult(sr)
		sum.Steps++
		switch res.Status {
		case attach.StatusDone:
			sum.Done++
		case attach.StatusTimedOut:
			sum.TimedOut++
		case attach.StatusSkipped:
			sum.Skipped++
			if sum.SkippedBecause == "" {
				sum.SkippedBecause = sr.Err.Error()
			}
		default:
			sum.Failed++
		}
		emit(attach.CleanupEvent{Step: &res})
	})
	err := r.Destroy(ctx, id)
	close(stop)
	<-ticking
	sum.ElapsedMS = time.Since(start).Milliseconds()
	if err != nil && sum.Failed+sum.TimedOut+sum.Skipped == 0 {
		sum.Error = err.Error() // a failure outside any step
	}
	emit(attach.CleanupEvent{Summary: &sum})
}

// reportProgress emits where the cleanup run it gets from runs stands,
// every interval, until stop is closed.
func (r *Registry) reportProgress(runs <-chan *runState, stop <-chan struct{}, every time.Duration, emit func(attach.CleanupEvent)) {
	var run *runState
	select {
	case run = <-runs:
	case <-stop:
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p := progressJSON(r.progressOf(run))
			emit(attach.CleanupEvent{Progress: &p})
		}
	}
}

// progressJSON is the wire form of a cleanup's progress.
func progressJSON(p CleanupProgress) attach.CleanupProgress {
	out := attach.CleanupProgress{Component: p.Scope, Steps: p.Steps, Done: p.Done, ElapsedMS: p.Elapsed.Milliseconds()}
	if p.Running != nil {
		out.Running = &attach.RunningStep{StepRef: stepRef(*p.Running), ElapsedMS: p.RunningFor.Milliseconds(),
			TimeoutMS: p.Running.TimeoutMS, Waiting: stepRefs(p.Waiting), WaitingTotal: p.WaitingTotal}
	}
	return out
}

func stepRef(s planner.Step) attach.StepRef {
	return attach.StepRef{Order: s.Order, Kind: string(s.Kind), ID: s.ID, Component: s.Component}
}

func stepRefs(steps []planner.Step) []attach.StepRef {
	out := make([]attach.StepRef, len(steps))
	for i, s := range steps {
		out[i] = stepRef(s)
	}
	return out
}

// maxUnfinished is how many unfinished steps /stats lists.
const maxUnfinished = 50

// cleanupState is the cleanup part of /stats.
func (r *Registry) cleanupState() attach.CleanupState {
	var st attach.CleanupState
	for _, p := range r.InProgress() {
		st.InProgress = append(st.InProgress, progressJSON(p))
	}
	if last, ok := r.LastCleanup(); ok {
		rep := &attach.CleanupReport{Component: last.Scope, Steps: last.Steps, Done: last.Done,
			ElapsedMS: last.Elapsed.Milliseconds(), UnfinishedTotal: len(last.Unfinished),
			Unfinished: make([]attach.StepResult, 0, min(len(last.Unfinished), maxUnfinished))}
		for _, u := range last.Unfinished[:min(len(last.Unfinished), maxUnfinished)] {
			rep.Unfinished = append(rep.Unfinished, stepResult(u))
		}
		st.Last = rep
	}
	return st
}

// stepResult turns a step's outcome into its wire form.
func stepResult(sr StepResult) attach.StepResult {
	res := attach.StepResult{
		Order: sr.Step.Order, Kind: string(sr.Step.Kind), ID: sr.Step.ID, Component: sr.Step.Component,
		Status: attach.StatusDone, ElapsedMS: sr.Elapsed.Milliseconds(),
	}
	if sr.Err == nil {
		return res
	}
	res.Error = sr.Err.Error()
	if len(sr.Waiting) > 0 {
		res.Waiting, res.WaitingTotal = stepRefs(sr.Waiting), sr.WaitingTotal
	}
	res.Status = attach.StatusFailed
	var se *StepError
	switch {
	case sr.Skipped:
		res.Status = attach.StatusSkipped
	case errors.As(sr.Err, &se) && (se.StillRunning || errors.Is(se.Err, context.DeadlineExceeded) || errors.Is(se.Err, coordinator.ErrTerminated)):
		res.Status = attach.StatusTimedOut
	}
	return res
}

// Server is a listening endpoint made by Listen.
type Server struct {
	ln        net.Listener
	lim       *limitListener
	srv       *http.Server
	address   string
	socket    string
	discovery string
}

// Address is where the server listens: unix:///path.sock or http://host:port,
// as `rescoord --attach` takes it.
func (s *Server) Address() string { return s.address }

// Listen opens the endpoint (a unix socket with mode 0600 in the per-user
// runtime directory unless WithAddress says otherwise) and writes the
// discovery file that `rescoord ps` reads. Call Serve to answer requests.
//
// Over TCP, Listen refuses WithCleanupEndpoint without WithToken, and the
// server answers 421 to a request whose Host is not a loopback address or
// localhost, unless WithPublicAddress. On every transport it applies the
// read, write and idle timeouts and the connection cap, and reports its
// errors (a failing accept, a panicking handler) to the registry's
// WithLogger at slog.LevelWarn — never to the standard error.
func (r *Registry) Listen(opts ...ServeOption) (*Server, error) {
	cfg := newServeConfig(opts)
	h := r.handler(cfg)
	s := &Server{}
	addr := cfg.address
	switch {
	case addr == "" || strings.HasPrefix(addr, "unix://"):
		path := strings.TrimPrefix(addr, "unix://")
		if path == "" {
			if err := discovery.EnsureDir(cfg.runtimeDir); err != nil {
				return nil, err
			}
			path = filepath.Join(cfg.runtimeDir, strconv.Itoa(os.Getpid())+".sock")
		}
		if err := removeStaleSocket(path); err != nil {
			return nil, err
		}
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(path, 0o600); err != nil {
			ln.Close()
			return nil, err
		}
		s.ln, s.socket, s.address = ln, path, "unix://"+path
	default:
		if err := checkLoopback(addr, cfg.public); err != nil {
			return nil, err
		}
		if cfg.cleanup && cfg.token == "" {
			return nil, fmt.Errorf("refusing to serve the cleanup endpoint on %q without a token: any local user could destroy components (use registry.WithToken, or a unix socket)", addr)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		s.ln, s.address = ln, "http://"+ln.Addr().String()
		if !cfg.public {
			h = checkHost(h)
		}
	}
	s.lim = newLimitListener(s.ln, cfg.maxConns)
	s.ln = s.lim
	s.srv = &http.Server{
		Handler:           renewWriteDeadline(h, cfg.writeTimeout),
		ReadHeaderTimeout: cfg.readTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          r.serverLog(),
	}
	if cfg.discovery {
		path, err := discovery.Write(cfg.runtimeDir, discovery.Entry{
			PID: os.Getpid(), Process: cfg.process, Address: s.address, StartedAt: r.now(), Token: cfg.token != "",
		})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("writing the discovery file: %w", err)
		}
		s.discovery = path
	}
	return s, nil
}

// removeStaleSocket removes a socket file left by a process that is gone;
// it refuses to remove one that answers, or anything that is not a socket.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("%s is in use by another process", path)
	}
	return os.Remove(path)
}

// checkLoopback refuses TCP addresses outside the loopback interface unless public.
func checkLoopback(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: want unix:///path.sock or host:port", addr)
	}
	if public {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve the registry on %q: not a loopback address (use 127.0.0.1, or registry.WithPublicAddress with a token)", addr)
}

// Serve answers requests until ctx is done, then shuts down and removes the
// socket and the discovery file.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		s.close()
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(shut)
	s.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) close() {
	s.ln.Close()
	if s.socket != "" {
		os.Remove(s.socket)
	}
	if s.discovery != "" {
		os.Remove(s.discovery)
	}
}

// Serve listens (see Listen) and answers requests until ctx is done.
func (r *Registry) Serve(ctx context.Context, opts ...ServeOption) error {
	s, err := r.Listen(opts...)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// serverLog is the http.Server's error log: the registry's logger at
// slog.LevelWarn, or nowhere.
func (r *Registry) serverLog() *log.Logger {
	if r.log == nil {
		return log.New(io.Discard, "", 0)
	}
	return slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)
}

// renewWriteDeadline makes WriteTimeout bound each write rather than the
// whole response: a cleanup may stream for minutes, a large snapshot take
// long to send, but a client that stops reading is dropped.
func renewWriteDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}, req)
	})
}

// deadlineWriter renews the connection's write deadline before each
// chunk it writes. http.ResponseController reaches Flush through Unwrap.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

const deadlineChunk = 256 << 10

func (w *deadlineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), deadlineChunk)]
		w.rc.SetWriteDeadline(time.Now().Add(w.d))
		m, err := w.ResponseWriter.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// limitListener accepts at most cap(sem) connections at once: it takes a
// slot before accepting, so that clients beyond the cap wait in the
// kernel's backlog, and gives it back when the connection closes.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	open      atomic.Int64 // connections accepted and not yet closed
	peak      atomic.Int64 // the most open at once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	open := l.open.Add(1)
	for p := l.peak.Load(); open > p && !l.peak.CompareAndSwap(p, open); p = l.peak.Load() {
	}
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed.
type limitConn struct {
	net.Conn
	once sync.Once
	l    *limitListener
}

// CloseWrite half-closes, as the server does before closing a connection
// it refused, so that the client reads the answer instead of a reset.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		<-c.l.sem
	})
	return err
}
