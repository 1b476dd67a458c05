package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// stubbornWorker ignores quit: only terminate stops it.
type stubbornWorker struct{ done chan struct{} }

func (w *stubbornWorker) Quit()                 {}
func (w *stubbornWorker) Done() <-chan struct{} { return w.done }
func (w *stubbornWorker) Terminate() error      { close(w.done); return nil }

// liveApp serves a real registry on a unix socket: a tab with a
// well-behaved worker and, when stubborn, one that ignores quit.
func liveApp(t *testing.T, stubborn bool, opts ...registry.ServeOption) (target string, reg *registry.Registry) {
	t.Helper()
	reg = registry.New(registry.WithSource(registryTestSource))
	for _, err := range []error{
		reg.RegisterComponent("main_window", registry.WithType("window")),
		reg.RegisterComponent("media_tab", registry.WithType("tab"), registry.WithParent("main_window")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	workers, err := coordinator.NewWorkers(reg, coordinator.ComponentSpec{ID: "media_workers", Parent: "media_tab"})
	if err != nil {
		t.Fatal(err)
	}
	good := coordinator.Go(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return nil })
	if _, err := workers.TrackWorker(good, coordinator.ResourceSpec{Name: "analysis"}); err != nil {
		t.Fatal(err)
	}
	if stubborn {
		w := &stubbornWorker{done: make(chan struct{})}
		if _, err := workers.TrackWorker(w, coordinator.ResourceSpec{Name: "export", Timeout: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := reg.Listen(append([]registry.ServeOption{registry.WithAddress("unix://" + shortTempDir(t) + "/app.sock"), registry.WithoutDiscovery(), registry.WithCleanupEndpoint()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Address(), reg
}

var registryTestSource = snapshot.Source{Process: "mediaapp", PID: 4242}

func TestCleanupLive_CleansThroughTheEndpoint(t *testing.T) {
	target, reg := liveApp(t, false)
	r := attachCLI(t).run("cleanup", "--attach", target, "--component", "media_tab", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"Cleanup plan for media_tab", "Cleaning media_tab in mediaapp (pid 4242)", "✓   1. resource", "done", "3 steps: 3 done, 0 failed, 0 timed out"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if live := reg.Stats().Live; live != 0 {
		t.Errorf("%d live resources after the cleanup", live)
	}
}

func TestCleanupLive_TimedOutStepFails(t *testing.T) {
	target, _ := liveApp(t, true)
	r := attachCLI(t).run("cleanup", "--attach", target, "--component", "media_tab", "--yes", "-o", "json")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1 when a step timed out\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, `"status": "timed_out"`) || !strings.Contains(r.Stdout, `"timed_out": 1`) {
		t.Errorf("json lacks the timed-out step:\n%s", r.Stdout)
	}
}

func TestCleanupLive_Confirmation(t *testing.T) {
	target, reg := liveApp(t, false)
	c := attachCLI(t)
	r := c.run("cleanup", "--attach", target, "--component", "media_tab")
	if r.Code != 2 || !strings.Contains(r.Stderr, "without confirmation: pass --yes") {
		t.Errorf("no terminal, no --yes: exit %d %q", r.Code, r.Stderr)
	}
	c.tty, c.stdin = true, "n\n"
	r = c.run("cleanup", "--attach", target, "--component", "media_tab")
	if r.Code != 2 || !strings.Contains(r.Stderr, "aborted: nothing was cleaned") || reg.Stats().Live != 1 {
		t.Errorf("answered no: exit %d %q, live %d", r.Code, r.Stderr, reg.Stats().Live)
	}
	c.stdin = "y\n"
	if r = c.run("cleanup", "--attach", target, "--component", "media_tab"); r.Code != 0 || reg.Stats().Live != 0 {
		t.Errorf("answered yes: exit %d %q, live %d", r.Code, r.Stderr, reg.Stats().Live)
	}
	if r = c.run("cleanup", "--attach", target); r.Code != 2 || !strings.Contains(r.Stderr, "needs --component") {
		t.Errorf("without --component: exit %d %q", r.Code, r.Stderr)
	}
}

func TestCleanupLive_EndpointDisabled(t *testing.T) {
	reg := registry.New()
	if err := reg.RegisterComponent("tab"); err != nil {
		t.Fatal(err)
	}
	srv, err := reg.Listen(registry.WithAddress("127.0.0.1:0"), registry.WithoutDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	r := attachCLI(t).run("cleanup", "--attach", srv.Address(), "--component", "tab", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "not enabled in this process") {
		t.Errorf("exit %d %q", r.Code, r.Stderr)
	}
}
