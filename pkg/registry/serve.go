package registry

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/pkg/coordinator"
)

// ServeOption configures Handler, Listen and Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	token       string
	cleanup     bool
	address     string
	public      bool
	process     string
	runtimeDir  string
	discovery   bool
	leakOptions coordinator.LeakOptions
	getenv      func(string) string
}

// WithToken makes every endpoint require "Authorization: Bearer TOKEN",
// compared in constant time. Default: no token (the unix socket's mode 0600
// and the loopback address are the protection).
func WithToken(token string) ServeOption {
	return func(c *serveConfig) { c.token = token }
}

// WithCleanupEndpoint enables POST /cleanup?component=ID, through which
// `rescoord cleanup --attach` destroys a component's subtree in this
// process. Default: off (the endpoint answers 403).
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

// WithPublicAddress allows a TCP address that is not loopback. Only use it
// behind a network you trust, and with WithToken. Default: refused.
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

// WithMetricsLeaks sets the leak options of the rescoord_leak_findings
// metric. Default: the zero LeakOptions (no grace, no max age).
func WithMetricsLeaks(opts coordinator.LeakOptions) ServeOption {
	return func(c *serveConfig) { c.leakOptions = opts }
}

func newServeConfig(opts []ServeOption) *serveConfig {
	c := &serveConfig{discovery: true, getenv: os.Getenv}
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
// Mount it on a mux of your own, or let Serve listen for you.
func (r *Registry) Handler(opts ...ServeOption) http.Handler {
	return r.handler(newServeConfig(opts))
}

func (r *Registry) handler(cfg *serveConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+attach.PathSnapshot, r.serveSnapshot)
	mux.HandleFunc("GET "+attach.PathStats, r.serveStats)
	mux.Handle("GET "+attach.PathMetrics, r.metricsHandler(cfg))
	mux.HandleFunc("POST "+attach.PathCleanup, func(w http.ResponseWriter, req *http.Request) {
		r.serveCleanup(w, req, cfg)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "not found: this endpoint serves GET /snapshot, /stats, /metrics and POST /cleanup")
	})
	if cfg.token == "" {
		return mux
	}
	want := []byte(cfg.token)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, ok := attach.BearerToken(req.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rescoord"`)
			writeError(w, http.StatusUnauthorized, "unauthorized: a valid bearer token is required")
			return
		}
		mux.ServeHTTP(w, req)
	})
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

func (r *Registry) serveSnapshot(w http.ResponseWriter, req *http.Request) {
	body := r.Snapshot().AppendJSON(nil)
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Vary", "Accept-Encoding")
	if !acceptsGzip(req) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	zw.Write(body)
	zw.Close()
}

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
		ByType:      make(map[string]typeStatsJSON, len(st.ByType)),
		ByComponent: make(map[string]componentStatJSON, len(st.ByComponent)),
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
	enc := json.NewEncoder(w)
	sum := attach.CleanupSummary{}
	start := time.Now()
	emit := func(ev attach.CleanupEvent) {
		enc.Encode(ev) // a client that went away does not stop the cleanup
		rc.Flush()
	}
	ctx = ObserveSteps(ctx, func(sr StepResult) {
		res := stepResult(sr)
		sum.Steps++
		switch res.Status {
		case attach.StatusDone:
			sum.Done++
		case attach.StatusTimedOut:
			sum.TimedOut++
		default:
			sum.Failed++
		}
		emit(attach.CleanupEvent{Step: &res})
	})
	err := r.Destroy(ctx, id)
	sum.ElapsedMS = time.Since(start).Milliseconds()
	if err != nil && sum.Failed+sum.TimedOut == 0 {
		sum.Error = err.Error() // a failure outside any step
	}
	emit(attach.CleanupEvent{Summary: &sum})
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
func (r *Registry) Listen(opts ...ServeOption) (*Server, error) {
	cfg := newServeConfig(opts)
	s := &Server{srv: &http.Server{Handler: r.handler(cfg), ReadHeaderTimeout: 10 * time.Second}}
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
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		s.ln, s.address = ln, "http://"+ln.Addr().String()
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
