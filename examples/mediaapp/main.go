// Command mediaapp is a small media application that embeds rescoord's
// registry: a main window opens and closes tabs, each with a controller, a
// worker coordinator running an analysis worker, a UI coordinator, buffers
// and a temporary file. It serves its registry so rescoord can attach:
//
//	go run ./examples/mediaapp -leak &
//	rescoord ps
//	rescoord leaks --attach mediaapp
//	rescoord cleanup --attach mediaapp --component media_tab_2 --yes
//
// With -leak, every second tab is closed by dropping it without Destroy: once
// the garbage collector has taken it, the registry marks it destroyed while
// its worker still runs — a running-orphan that rescoord leaks reports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/registry/metrics"
)

// config holds the flags.
type config struct {
	leak      bool
	tabs      int
	every     time.Duration
	resources int
	addr      string
	token     string
	debug     bool
	logFile   string
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.leak, "leak", false, "leak on purpose: drop every second tab without destroying it")
	flag.IntVar(&cfg.tabs, "tabs", 3, "how many tabs are open at once")
	flag.DurationVar(&cfg.every, "every", 2*time.Second, "how often a tab is closed and another opened")
	flag.IntVar(&cfg.resources, "resources", 0, "also track this many small buffers (to try rescoord on a large registry)")
	flag.StringVar(&cfg.addr, "addr", "", "serve on this address (unix:///path.sock or 127.0.0.1:PORT; default: a unix socket in the runtime directory)")
	flag.StringVar(&cfg.token, "token", "", "require this bearer token (over TCP, needed for cleanup through the endpoint)")
	flag.BoolVar(&cfg.debug, "debug", false, "log every lifecycle event (to -log, or standard error)")
	flag.StringVar(&cfg.logFile, "log", "", "write what the app does (tabs opened, closed, dropped) to this file; default: only say where it serves")
	flag.Parse()

	// Quiet by default, so that it does not scribble over `rescoord watch`
	// run in the same terminal.
	var events io.Writer = io.Discard
	switch {
	case cfg.logFile != "":
		f, err := os.OpenFile(cfg.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mediaapp:", err)
			os.Exit(2)
		}
		defer f.Close()
		events = f
	case cfg.debug:
		events = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stderr, events); err != nil {
		fmt.Fprintln(os.Stderr, "mediaapp:", err)
		os.Exit(1)
	}
}

// app is the application: a registry, a main window and its open tabs.
type app struct {
	cfg    config
	reg    *registry.Registry
	tabs   []*mediaTab
	opened int
	log    io.Writer
}

// mediaTab stands for a tab object of a GUI toolkit; the registry holds it
// weakly, as a toolkit's destroyed signal would tell it.
type mediaTab struct {
	id         string
	controller *mediaController
}

// mediaController owns the tab's coordinators.
type mediaController struct {
	workers *coordinator.Workers
	ui      *coordinator.UI
	base    *coordinator.Base
}

func newApp(cfg config, log io.Writer, extra ...registry.Option) (*app, error) {
	opts := append([]registry.Option{registry.WithGlobalLimit(512 << 20)}, extra...)
	if cfg.debug {
		opts = append(opts, registry.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	}
	a := &app{cfg: cfg, reg: registry.New(opts...), log: log}
	if err := a.reg.RegisterComponent("main_window", registry.WithName("MainWindow"), registry.WithType("window")); err != nil {
		return nil, err
	}
	if err := a.reg.OnCleanup("main_window", "MainWindow.saveLayout", 0, time.Second, func(context.Context) error { return nil }); err != nil {
		return nil, err
	}
	if cfg.resources > 0 {
		if err := a.reg.RegisterComponent("thumbnail_cache", registry.WithName("ThumbnailCache"), registry.WithType("cache"), registry.WithParent("main_window")); err != nil {
			return nil, err
		}
		for i := range cfg.resources {
			if _, err := a.reg.Track("thumbnail_cache", make([]byte, 0), registry.WithName(fmt.Sprintf("thumb-%d", i)), registry.WithSize(64<<10)); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// openTab opens a tab with a controller, a running analysis worker, a
// progress timer, a results view, a buffer and a cache file.
func (a *app) openTab() error {
	a.opened++
	id := fmt.Sprintf("media_tab_%d", a.opened)
	tab := &mediaTab{id: id, controller: &mediaController{}}
	reg := a.reg
	if err := reg.RegisterComponent(id, registry.WithName("MediaAnalysisTab"), registry.WithType("tab"),
		registry.WithParent("main_window"), registry.WithLimit(64<<20), registry.WithObject(tab)); err != nil {
		return err
	}
	ctrl := id + "_controller"
	if err := reg.RegisterComponent(ctrl, registry.WithName("MediaAnalysisController"), registry.WithType("controller"), registry.WithParent(id)); err != nil {
		return err
	}
	if err := reg.OnCleanup(id, "MediaAnalysisTab.cleanup_all", 10, 2*time.Second, func(context.Context) error { return nil }); err != nil {
		return err
	}
	var err error
	c := tab.controller
	if c.base, err = coordinator.NewBase(reg, coordinator.ComponentSpec{ID: ctrl + "_resources", Name: "ResourceCoordinator", Parent: ctrl}); err != nil {
		return err
	}
	if c.workers, err = coordinator.NewWorkers(reg, coordinator.ComponentSpec{ID: ctrl + "_workers", Name: "WorkerCoordinator", Parent: ctrl}); err != nil {
		return err
	}
	if c.ui, err = coordinator.NewUI(reg, coordinator.ComponentSpec{ID: ctrl + "_ui", Name: "UICoordinator", Parent: ctrl}); err != nil {
		return err
	}
	f, err := os.CreateTemp("", "mediaapp-cache-*")
	if err != nil {
		return err
	}
	cache, err := c.base.Track(f, coordinator.ResourceSpec{Type: "file", Name: "analysis-cache",
		Cleanup: func(context.Context) error { f.Close(); return os.Remove(f.Name()) }})
	if err != nil {
		return err
	}
	buf, err := c.base.Track(make([]byte, 0), coordinator.ResourceSpec{Type: "memory", Name: "frame-buffer", SizeBytes: 8 << 20})
	if err != nil {
		return err
	}
	worker := coordinator.Go(context.Background(), analyse)
	if _, err := c.workers.TrackWorker(worker, coordinator.ResourceSpec{Name: "analysis-worker", SizeBytes: 2 << 20, DependsOn: []coordinator.Handle{cache, buf}}); err != nil {
		return err
	}
	ticker := time.NewTicker(time.Second)
	if _, err := c.workers.Track(ticker, coordinator.ResourceSpec{Type: "timer", Name: "progress-timer"}); err != nil {
		return err
	}
	if _, err := c.ui.TrackObject(&resultsView{}, coordinator.ResourceSpec{Name: "ResultsView"}); err != nil {
		return err
	}
	a.tabs = append(a.tabs, tab)
	fmt.Fprintf(a.log, "opened %s\n", id)
	return nil
}

// closeOldest closes the oldest tab: by destroying it, or, when leak is
// set, by dropping it as a buggy application would.
func (a *app) closeOldest(ctx context.Context, leak bool) error {
	if len(a.tabs) == 0 {
		return nil
	}
	tab := a.tabs[0]
	a.tabs[0] = nil
	a.tabs = a.tabs[1:]
	if leak {
		fmt.Fprintf(a.log, "dropped %s without destroying it (leak)\n", tab.id)
		return nil
	}
	fmt.Fprintf(a.log, "closed %s\n", tab.id)
	return a.reg.Destroy(ctx, tab.id)
}

// tick closes the oldest tab once the window holds cfg.tabs, then opens one.
func (a *app) tick(ctx context.Context) error {
	var errs []error
	if len(a.tabs) >= a.cfg.tabs {
		leak := a.cfg.leak && a.opened%2 == 0
		errs = append(errs, a.closeOldest(ctx, leak))
		if leak {
			runtime.GC() // let the registry see the dropped tab soon
		}
	}
	errs = append(errs, a.openTab())
	return errors.Join(errs...)
}

// run serves the app's registry and runs it until ctx ends: where it
// serves goes to stderr, what it does to events.
func run(ctx context.Context, cfg config, stderr, events io.Writer) error {
	log := stderr
	a, err := newApp(cfg, events)
	if err != nil {
		return err
	}
	ctx, exit := a.reg.EmergencyCleanup(ctx, 10*time.Second)
	defer exit()
	srv, err := a.reg.Listen(append(serveOptions(cfg, log), registry.WithMetrics(metrics.Handler(a.reg)))...)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "mediaapp (pid %d) serving its registry on %s\n", os.Getpid(), srv.Address())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	for range cfg.tabs {
		if err := a.openTab(); err != nil {
			return err
		}
	}
	t := time.NewTicker(cfg.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-served
		case <-t.C:
			if err := a.tick(ctx); err != nil {
				fmt.Fprintln(log, "mediaapp:", err)
			}
		}
	}
}

// serveOptions serves the registry with the cleanup endpoint — over TCP
// only with a token, which the registry requires there: without -token a
// TCP address serves snapshots, stats and metrics, and says so.
func serveOptions(cfg config, log io.Writer) []registry.ServeOption {
	opts := []registry.ServeOption{registry.WithProcessName("mediaapp")}
	if cfg.addr != "" {
		opts = append(opts, registry.WithAddress(cfg.addr))
	}
	if cfg.token != "" {
		opts = append(opts, registry.WithToken(cfg.token))
	}
	if cfg.token == "" && cfg.addr != "" && !strings.HasPrefix(cfg.addr, "unix://") {
		fmt.Fprintln(log, "mediaapp: cleanup through the endpoint is off: over TCP it needs -token")
		return opts
	}
	return append(opts, registry.WithCleanupEndpoint())
}

// analyse stands for the analysis loop: it works until asked to quit.
func analyse(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// resultsView stands for a GUI object.
type resultsView struct{ disconnected, deleted bool }

// Disconnect disconnects the view's signals.
func (v *resultsView) Disconnect() { v.disconnected = true }

// DeleteLater schedules the view's deletion.
func (v *resultsView) DeleteLater() { v.deleted = true }
