package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry/metrics"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// MetricsOptions are the flags of `rescoord metrics`.
type MetricsOptions struct {
	Attach string
	AttachOptions
	Listen       string
	Public       bool
	ComponentIDs bool
	Grace        time.Duration
	MaxAge       time.Duration
}

// NewCmdMetrics builds `rescoord metrics`. A non-nil runF replaces the run, for tests.
func NewCmdMetrics(f *Factory, runF func(*MetricsOptions) error) *cobra.Command {
	opts := &MetricsOptions{}
	c := &cobra.Command{
		Use:   "metrics --attach TARGET --listen 127.0.0.1:PORT",
		Short: "Serve a live process's metrics to Prometheus, fetching its snapshot on each scrape",
		Long: `metrics serves GET /metrics for Prometheus on a loopback address. Each scrape
fetches the target's snapshot (bounded by --timeout) and exposes the same
metrics a Go program serves with registry.WithMetrics(metrics.Handler(reg)):
live resources and bytes by component type and name and resource type,
limits, components, and the findings of every leak rule (docs/attach.md,
"Prometheus metrics"). Any target works: a Go or Python registry, or a
process read without instrumentation (proc:PID, pprof:URL). A failed fetch
answers 503 (up == 0 in Prometheus). Requests from web pages and with a
Host that is not a loopback address are refused. Ctrl-C stops it.`,
		Example: `  rescoord metrics --attach mediaapp --listen 127.0.0.1:9464
  rescoord metrics --attach proc:4242 --listen 127.0.0.1:9464 --timeout 10s`,
		Args: cobra.NoArgs,
		RunE: runner(f, opts, nil, runF, runMetrics),
	}
	fl := c.Flags()
	opts.AttachOptions.addTargetFlags(c, &opts.Attach)
	opts.MaxBytes = snapshot.DefaultMaxBytes
	fl.Var((*sizeFlag)(&opts.MaxBytes), "max-input", "refuse a snapshot larger than this once decompressed, such as 512MB or 4GiB")
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:9464", "serve /metrics on this host:port (a loopback address unless --public; port 0 picks one)")
	fl.BoolVar(&opts.Public, "public", false, "allow a --listen address outside the loopback interface, and requests for any Host")
	fl.BoolVar(&opts.ComponentIDs, "component-ids", false, "label the live and limit series with component ids too: one series per component, unbounded")
	fl.DurationVar(&opts.Grace, "grace", 0, "report a resource whose owner was destroyed less than this before the snapshot as info, not as a leak")
	fl.DurationVar(&opts.MaxAge, "max-age", 0, "count live resources older than this as stale-resource; off by default")
	return c
}

func runMetrics(ctx context.Context, f *Factory, opts *MetricsOptions) error {
	if err := needTarget("metrics", opts.Attach); err != nil {
		return err
	}
	if opts.Grace < 0 || opts.MaxAge < 0 {
		return usageError("--grace and --max-age must not be negative")
	}
	if err := listenAllowed(opts.Listen, opts.Public); err != nil {
		return err
	}
	src, err := opts.source(f, opts.Attach)
	if err != nil {
		return err
	}
	defer src.Close()
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("--listen: %w", err)}
	}
	var errMu sync.Mutex
	logf := func(format string, args ...any) {
		errMu.Lock()
		defer errMu.Unlock()
		fmt.Fprintf(f.HumanErr(), format, args...)
	}
	target := attach.Redact(opts.Attach)
	fetch := func(ctx context.Context) (*snapshot.Snapshot, error) {
		ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
		s, err := src.Snapshot(ctx)
		if err != nil {
			// The target's error is untrusted text: escaped for the
			// terminal and for the body Prometheus keeps.
			msg := render.Escape(err.Error())
			logf("rescoord metrics: %s: %s\n", render.Escape(target), msg)
			return nil, errors.New(msg)
		}
		return s, nil
	}
	var mopts []metrics.Option
	mopts = append(mopts, metrics.WithLeakOptions(leaks.LeakOptions{Grace: opts.Grace, MaxAge: opts.MaxAge}))
	if opts.ComponentIDs {
		mopts = append(mopts, metrics.WithComponentIDs())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.FetchHandler(fetch, mopts...))
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		http.Error(w, "not found: rescoord metrics serves GET /metrics", http.StatusNotFound)
	})
	srv := &http.Server{
		Handler:           exporterGuard(mux, opts.Public),
		ReadHeaderTimeout: 10 * time.Second,
		// A scrape may wait up to --timeout for the target.
		WriteTimeout: opts.Timeout + 10*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     log.New(io.Discard, "", 0), // connection errors are the client's, not ours to print
	}
	fmt.Fprintf(f.HumanOut(), "serving the metrics of %s at http://%s/metrics (Ctrl-C stops)\n", target, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return &exitError{code: ExitError, err: fmt.Errorf("serving metrics: %w", err)}
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	<-errc
	return nil
}

// listenAllowed refuses a --listen address outside the loopback
// interface unless public, as a registry's server does (docs/attach.md,
// "Security model").
func listenAllowed(addr string, public bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return usageError("invalid --listen %q: want host:port, such as 127.0.0.1:9464", addr)
	}
	if public || strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usageError("refusing to serve metrics on %q: not a loopback address (use 127.0.0.1, or --public)", addr)
}

// exporterGuard refuses what a web page sends (an Origin header, or a
// Sec-Fetch-Site other than "none": 403) and, unless public, a Host that
// is not a loopback address or localhost (421: DNS rebinding), the checks
// of a registry's server (pkg/registry/serve.go; docs/attach.md).
func exporterGuard(next http.Handler, public bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		refuse := func(code int, msg string) {
			w.Header().Set("Connection", "close")
			http.Error(w, msg, code)
		}
		if msg := attach.FromWebPage(req); msg != "" {
			refuse(http.StatusForbidden, msg)
			return
		}
		if !public && !attach.LoopbackHost(req.Host) {
			refuse(http.StatusMisdirectedRequest, "misdirected request: host "+strconv.Quote(attach.Clip(req.Host))+" is not a loopback address or localhost (serve with --public to accept it)")
			return
		}
		next.ServeHTTP(w, req)
	})
}
