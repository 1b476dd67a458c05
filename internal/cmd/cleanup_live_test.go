package cmd

import (
	"context"
	"net/http"
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
	srv := serveReg(t, reg, append([]registry.ServeOption{registry.WithAddress("unix://" + shortTempDir(t) + "/app.sock"), registry.WithoutDiscovery(), registry.WithCleanupEndpoint()}, opts...)...)
	return srv.Address(), reg
}

var registryTestSource = snapshot.Source{Process: "mediaapp", PID: 4242}

func TestCleanupLive_CleansThroughTheEndpoint(t *testing.T) {
	target, reg := liveApp(t, false)
	r := attachCLI(t).run("cleanup", "--attach", target, "--component", "media_tab", "--yes")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	wantContains(t, "output", r.Stdout, "Cleanup plan for media_tab", "Cleaning media_tab in mediaapp (pid 4242)", "✓   1. resource", "done", "3 steps: 3 done, 0 failed, 0 timed out")
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
	srv := serveReg(t, reg, registry.WithAddress("127.0.0.1:0"), registry.WithoutDiscovery())
	r := attachCLI(t).run("cleanup", "--attach", srv.Address(), "--component", "tab", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "not enabled in this process") {
		t.Errorf("exit %d %q", r.Code, r.Stderr)
	}
}

// hostileCleanup serves a snapshot, then answers POST /cleanup with stall.
func hostileCleanup(t *testing.T, stall func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	// A tab holding a file: no step has a timeout of its own.
	snap := []byte(`{"format": "rescoord/v1", "taken_at": "2026-11-27T12:10:00Z",
  "components": [{"id": "tab", "type": "tab", "state": "alive"}],
  "resources": [{"id": "r-2", "type": "file", "owner": "tab", "state": "active"}]}`)
	release := make(chan struct{})
	target := serve(t, "tcp", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			w.Write(snap)
			return
		}
		stall(w, r)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}})
	t.Cleanup(func() { close(release) })
	return target
}

func TestCleanupLive_TimeoutOnAHostileServer(t *testing.T) {
	tests := map[string]func(w http.ResponseWriter, r *http.Request){
		"never answers": func(http.ResponseWriter, *http.Request) {},
		"stalls mid-stream": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Write([]byte(`{"step":{"order":1,"kind":"resource","id":"r-2","component":"tab","status":"done"}}` + "\n"))
			http.NewResponseController(w).Flush()
		},
	}
	for name, stall := range tests {
		t.Run(name, func(t *testing.T) {
			target := hostileCleanup(t, stall)
			var r result
			done := make(chan struct{})
			go func() {
				defer close(done)
				r = attachCLI(t).run("cleanup", "--attach", target, "--component", "tab", "--yes", "--timeout", "400ms")
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("cleanup --attach still waiting after 10s with --timeout 400ms")
			}
			wantRefusal(t, r, "sent nothing for 400ms during the cleanup (--timeout 400ms beyond the longest step's 0s)")
			if name == "stalls mid-stream" && !strings.Contains(r.Stdout, "1. resource") {
				t.Errorf("the step that arrived is not shown:\n%s", r.Stdout)
			}
		})
	}
}

func TestServe_BearerSchemeIsCaseInsensitive(t *testing.T) {
	reg := registry.New()
	srv := serveReg(t, reg, registry.WithAddress("127.0.0.1:0"), registry.WithoutDiscovery(), registry.WithToken("t0k"))
	for auth, want := range map[string]int{"Bearer t0k": 200, "bearer t0k": 200, "BEARER t0k": 200, "Bearer nope": 401, "Basic t0k": 401} {
		req, _ := http.NewRequest(http.MethodGet, srv.Address()+"/stats", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization: %s answered %d, want %d", auth, resp.StatusCode, want)
		}
	}
}

// TestCleanupLive_OverTCPWithAToken: a cleanup over loopback TCP needs the
// token and the client header, which rescoord sends; a form POST from a
// web page, without the header, cleans nothing.
func TestCleanupLive_OverTCPWithAToken(t *testing.T) {
	target, reg := liveApp(t, false, registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"))
	if !strings.HasPrefix(target, "http://127.0.0.1:") {
		t.Fatalf("served at %s", target)
	}
	form, err := http.NewRequest(http.MethodPost, target+"/cleanup?component=media_tab", strings.NewReader("x=1"))
	if err != nil {
		t.Fatal(err)
	}
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || reg.Stats().Live != 1 {
		t.Fatalf("a POST without the client header answered %d, %d live", resp.StatusCode, reg.Stats().Live)
	}
	r := attachCLI(t).run("cleanup", "--attach", target, "--token", "s3cret", "--component", "media_tab", "--yes")
	if r.Code != 0 || reg.Stats().Live != 0 {
		t.Fatalf("exit %d, %d live\n%s%s", r.Code, reg.Stats().Live, r.Stdout, r.Stderr)
	}
}
