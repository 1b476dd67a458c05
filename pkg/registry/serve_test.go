package registry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/registry/metrics"
)

// shortDir is a temporary directory short enough for a unix socket path.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// servedApp is a registry with a tab whose worker runs, served on a real listener.
type servedApp struct {
	reg    *registry.Registry
	srv    *registry.Server
	worker *coordinator.Goroutine
	dir    string
	done   chan error
	cancel context.CancelFunc
}

func serveApp(t *testing.T, opts ...registry.ServeOption) *servedApp {
	t.Helper()
	return serveAppWith(t, nil, opts...)
}

// serveAppWith is serveApp with options for the registry too.
func serveAppWith(t *testing.T, regOpts []registry.Option, opts ...registry.ServeOption) *servedApp {
	t.Helper()
	reg := registry.New(append([]registry.Option{registry.WithGlobalLimit(1 << 20)}, regOpts...)...)
	must(t, reg.RegisterComponent("main_window", registry.WithType("window")))
	must(t, reg.RegisterComponent("media_tab", registry.WithType("tab"), registry.WithParent("main_window")))
	workers, err := coordinator.NewWorkers(reg, coordinator.ComponentSpec{ID: "media_workers", Parent: "media_tab"})
	must(t, err)
	w := coordinator.Go(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return nil })
	_, err = workers.TrackWorker(w, coordinator.ResourceSpec{Name: "analysis", SizeBytes: 4096})
	must(t, err)
	dir := shortDir(t)
	srv, err := reg.Listen(append([]registry.ServeOption{registry.WithRuntimeDir(dir), registry.WithProcessName("mediaapp")}, opts...)...)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	a := &servedApp{reg: reg, srv: srv, worker: w, dir: dir, done: make(chan error, 1), cancel: cancel}
	go func() { a.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { a.stop(t) })
	return a
}

func (a *servedApp) stop(t *testing.T) {
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	if err := <-a.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func client(t *testing.T, address, token string) *attach.Client {
	t.Helper()
	tg, err := attach.Resolve(address, nil)
	must(t, err)
	return attach.NewClient(tg, attach.Options{Token: token, Retries: -1})
}

func TestServe_UnixSocketDefault(t *testing.T) {
	a := serveApp(t)
	addr := a.srv.Address()
	sock := strings.TrimPrefix(addr, "unix://")
	if filepath.Dir(sock) != a.dir {
		t.Errorf("socket %s is not in the runtime directory %s", sock, a.dir)
	}
	st, err := os.Stat(sock)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	listed, err := discovery.List(a.dir, nil)
	must(t, err)
	if len(listed) != 1 || listed[0].Process != "mediaapp" || listed[0].Address != addr || listed[0].Stale {
		t.Fatalf("discovery entries: %+v", listed)
	}
	s, err := client(t, addr, "").Snapshot(context.Background())
	must(t, err)
	if len(s.Resources) != 1 || s.Resources[0].Type != "worker" || !s.Resources[0].Running {
		t.Errorf("snapshot resources: %+v", s.Resources)
	}
	a.stop(t)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after Serve returned: %v", err)
	}
	if listed, _ := discovery.List(a.dir, nil); len(listed) != 0 {
		t.Errorf("discovery file still there: %+v", listed)
	}
}

func TestServe_LoopbackTCPAndGzip(t *testing.T) {
	a := serveApp(t, registry.WithAddress("127.0.0.1:0"))
	if !strings.HasPrefix(a.srv.Address(), "http://127.0.0.1:") {
		t.Fatalf("address %s", a.srv.Address())
	}
	req, _ := http.NewRequest(http.MethodGet, a.srv.Address()+"/snapshot", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	must(t, err)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding %q, want gzip when asked", resp.Header.Get("Content-Encoding"))
	}
	if _, err := client(t, a.srv.Address(), "").Snapshot(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestServe_RefusesPublicAddresses(t *testing.T) {
	reg := registry.New()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:6060"} {
		if _, err := reg.Listen(registry.WithAddress(addr), registry.WithoutDiscovery()); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("%s: err = %v, want a refusal", addr, err)
		}
	}
}

func TestServe_Token(t *testing.T) {
	a := serveApp(t, registry.WithToken("s3cret"))
	if _, err := client(t, a.srv.Address(), "guess").Snapshot(context.Background()); err == nil || !strings.Contains(err.Error(), "rejected the token") {
		t.Errorf("wrong token: err = %v", err)
	}
	if _, err := client(t, a.srv.Address(), "").Snapshot(context.Background()); err == nil || !strings.Contains(err.Error(), "requires a token") {
		t.Errorf("no token: err = %v", err)
	}
	if _, err := client(t, a.srv.Address(), "s3cret").Snapshot(context.Background()); err != nil {
		t.Errorf("right token: %v", err)
	}
	listed, _ := discovery.List(a.dir, nil)
	if len(listed) != 1 || !listed[0].Token {
		t.Errorf("discovery entry does not say a token is required: %+v", listed)
	}
}

func TestServe_MetricsOnlyWhenAsked(t *testing.T) {
	a := serveApp(t, registry.WithAddress("127.0.0.1:0"))
	resp, err := http.Get(a.srv.Address() + "/metrics")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "registry.WithMetrics") {
		t.Errorf("/metrics without WithMetrics: %d %s", resp.StatusCode, body)
	}
}

func TestServe_Metrics(t *testing.T) {
	a := serveApp(t)
	srv := httptest.NewServer(a.reg.Handler(registry.WithMetrics(metrics.Handler(a.reg))))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	must(t, err)
	find := func(name string, labels map[string]string) (float64, bool) {
		fam := families[name]
		if fam == nil {
			return 0, false
		}
	metrics:
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
		return 0, false
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rescoord_live_resources", map[string]string{"component_name": "", "type": "worker"}, 1},
		{"rescoord_live_bytes", map[string]string{"component_name": "", "type": "worker"}, 4096},
		{"rescoord_registry_limit_bytes", nil, 1 << 20},
		{"rescoord_resources_created_total", map[string]string{"type": "worker"}, 1},
		{"rescoord_leak_findings", map[string]string{"rule": "running-orphan"}, 0},
		{"rescoord_components", map[string]string{"state": "alive"}, 3},
	}
	for _, c := range checks {
		got, ok := find(c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
}

func TestServe_Cleanup(t *testing.T) {
	a := serveApp(t)
	_, err := client(t, a.srv.Address(), "").Cleanup(context.Background(), "media_tab", nil)
	if err == nil || !strings.Contains(err.Error(), "not enabled") {
		t.Errorf("cleanup without WithCleanupEndpoint: err = %v, want 403 not enabled", err)
	}

	b := serveApp(t, registry.WithCleanupEndpoint())
	if _, err := client(t, b.srv.Address(), "").Cleanup(context.Background(), "nope", nil); err == nil || !strings.Contains(err.Error(), `no component "nope"`) {
		t.Errorf("unknown component: err = %v", err)
	}
	var steps []attach.StepResult
	sum, err := client(t, b.srv.Address(), "").Cleanup(context.Background(), "media_tab", func(s attach.StepResult) { steps = append(steps, s) })
	must(t, err)
	if sum.Steps != len(steps) || sum.Done != sum.Steps || sum.Failed+sum.TimedOut != 0 {
		t.Errorf("summary %+v for %d steps", sum, len(steps))
	}
	if len(steps) == 0 || steps[0].Kind != "resource" || steps[0].Status != attach.StatusDone {
		t.Errorf("steps: %+v", steps)
	}
	select {
	case <-b.worker.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the worker was not stopped by the cleanup")
	}
	if live := b.reg.Stats().Live; live != 0 {
		t.Errorf("%d live resources after the cleanup", live)
	}
}

func TestServe_StatsJSON(t *testing.T) {
	a := serveApp(t, registry.WithAddress("127.0.0.1:0"))
	resp, err := http.Get(a.srv.Address() + "/stats")
	must(t, err)
	defer resp.Body.Close()
	var st map[string]any
	must(t, json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&st))
	if st["live_resources"] != float64(1) || st["live_bytes"] != float64(4096) {
		t.Errorf("stats: %v", st)
	}
}

// rawRequest sends one request to a served app and returns the answer;
// mod sets what a hostile client would.
func rawRequest(t *testing.T, a *servedApp, method, path string, mod func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, a.srv.Address()+path, nil)
	must(t, err)
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestServe_HostileWebPage plays the requests a web page open in the
// user's browser can make to a loopback server with the cleanup endpoint
// — even one that somehow knows the token: none of them is answered, none
// runs a cleanup, and each refusal closes the connection.
func TestServe_HostileWebPage(t *testing.T) {
	a := serveApp(t, registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"), registry.WithCleanupEndpoint())
	port := a.srv.Address()[strings.LastIndex(a.srv.Address(), ":")+1:]
	auth := func(req *http.Request) { req.Header.Set("Authorization", "Bearer s3cret") }
	form := func(req *http.Request) {
		auth(req)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cases := []struct {
		name, method, path string
		mod                func(*http.Request)
		code               int
	}{
		{"cross-origin form POST", http.MethodPost, "/cleanup?component=media_tab", func(req *http.Request) {
			form(req)
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}, http.StatusForbidden},
		{"form POST with Origin null", http.MethodPost, "/cleanup?component=media_tab", func(req *http.Request) {
			form(req)
			req.Header.Set("Origin", "null")
			req.Header.Set(registry.ClientHeader, "1") // as if it could
		}, http.StatusForbidden},
		{"form POST of an old browser (no Origin, no Sec-Fetch)", http.MethodPost, "/cleanup?component=media_tab", form, http.StatusForbidden},
		{"no-cors fetch without a body", http.MethodPost, "/cleanup?component=media_tab", func(req *http.Request) {
			auth(req)
			req.Header.Set("Sec-Fetch-Site", "same-site")
		}, http.StatusForbidden},
		{"CORS preflight", http.MethodOptions, "/cleanup?component=media_tab", func(req *http.Request) {
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, "+strings.ToLower(registry.ClientHeader))
		}, http.StatusForbidden},
		{"DNS rebinding: GET the snapshot", http.MethodGet, "/snapshot", func(req *http.Request) {
			auth(req)
			req.Host = "evil.example:" + port
		}, http.StatusMisdirectedRequest},
		{"DNS rebinding: POST a cleanup", http.MethodPost, "/cleanup?component=media_tab", func(req *http.Request) {
			auth(req)
			req.Header.Set(registry.ClientHeader, "1")
			req.Host = "evil.example"
		}, http.StatusMisdirectedRequest},
		{"DNS rebinding: a name ending in localhost", http.MethodGet, "/stats", func(req *http.Request) {
			auth(req)
			req.Host = "localhost.evil.example:" + port
		}, http.StatusMisdirectedRequest},
	}
	for _, c := range cases {
		resp := rawRequest(t, a, c.method, c.path, c.mod)
		if resp.StatusCode != c.code {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.code)
		}
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: answered with %s", c.name, k)
			}
		}
		if !resp.Close {
			t.Errorf("%s: the refusal kept the connection open", c.name)
		}
	}
	select {
	case <-a.worker.Done():
		t.Fatal("a hostile request stopped the worker")
	default:
	}
	if st := a.reg.Stats(); st.Live != 1 || st.DestroyedComponents != 0 {
		t.Fatalf("after hostile requests: %d live resources, %d destroyed components", st.Live, st.DestroyedComponents)
	}

	// The same cleanup, as rescoord's client sends it, runs.
	for _, host := range []string{"", "localhost:" + port, "LOCALHOST", "127.0.0.1"} {
		resp := rawRequest(t, a, http.MethodGet, "/stats", func(req *http.Request) {
			auth(req)
			if host != "" {
				req.Host = host
			}
		})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: status %d, want 200", host, resp.StatusCode)
		}
	}
	resp := rawRequest(t, a, http.MethodPost, "/cleanup?component=media_tab", func(req *http.Request) {
		auth(req)
		req.Header.Set(registry.ClientHeader, "rescoord")
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the client's cleanup: status %d", resp.StatusCode)
	}
	select {
	case <-a.worker.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client's cleanup did not stop the worker")
	}
}

func TestServe_LoopbackHosts(t *testing.T) {
	tabletest.Func(t, "loopbackHost", registry.LoopbackHostForTest, map[string]bool{
		"127.0.0.1": true, "127.0.0.1:6060": true, "127.9.8.7:1": true, "[::1]": true, "[::1]:6060": true,
		"localhost": true, "LocalHost:80": true,
		"": false, "::1": false, "evil.example": false, "evil.example:6060": false, "localhost.": false,
		"localhost.evil.example": false, "10.0.0.1:6060": false, "[::2]:6060": false, "0.0.0.0:6060": false,
		"127.1:6060": false, "[::1%lo]:6060": false,
	})
}

// TestServe_PublicAddressAcceptsOtherHosts: opting into a public address
// is opting into other Host names; web pages are still refused.
func TestServe_PublicAddressAcceptsOtherHosts(t *testing.T) {
	a := serveApp(t, registry.WithAddress("127.0.0.1:0"), registry.WithPublicAddress())
	if resp := rawRequest(t, a, http.MethodGet, "/stats", func(req *http.Request) { req.Host = "app.internal:6060" }); resp.StatusCode != http.StatusOK {
		t.Errorf("public address, Host app.internal: status %d, want 200", resp.StatusCode)
	}
	if resp := rawRequest(t, a, http.MethodGet, "/stats", func(req *http.Request) { req.Header.Set("Origin", "https://evil.example") }); resp.StatusCode != http.StatusForbidden {
		t.Errorf("public address, Origin: status %d, want 403", resp.StatusCode)
	}
}

func TestServe_CleanupOverTCPNeedsAToken(t *testing.T) {
	reg := registry.New()
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		srv, err := reg.Listen(registry.WithAddress(addr), registry.WithCleanupEndpoint(), registry.WithoutDiscovery())
		if err == nil {
			srv.Serve(canceled())
			t.Errorf("%s: Listen served the cleanup endpoint without a token", addr)
		} else if !strings.Contains(err.Error(), "without a token") {
			t.Errorf("%s: err = %v", addr, err)
		}
	}
	// A Handler mounted on a TCP server of the program's own refuses it too.
	must(t, reg.RegisterComponent("tab"))
	ts := httptest.NewServer(reg.Handler(registry.WithCleanupEndpoint()))
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/cleanup?component=tab", nil)
	req.Header.Set(registry.ClientHeader, "rescoord")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "requires a token") {
		t.Errorf("mounted handler, cleanup without a token: %d %s", resp.StatusCode, body)
	}
	if reg.Stats().DestroyedComponents != 0 {
		t.Error("the cleanup ran")
	}
}

// canceled is a done context: Serve on it shuts down at once.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestServe_BearerSchemeIsCaseInsensitive(t *testing.T) {
	a := serveApp(t, registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"))
	for auth, want := range map[string]int{
		"Bearer s3cret": 200, "bearer s3cret": 200, "BEARER s3cret": 200, "bEaReR  s3cret": 200,
		"Bearer S3CRET": 401, "Basic s3cret": 401, "Bearers3cret": 401, "s3cret": 401, "": 401,
	} {
		resp := rawRequest(t, a, http.MethodGet, "/stats", func(req *http.Request) {
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
		})
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: status %d, want %d", auth, resp.StatusCode, want)
		}
	}
}
