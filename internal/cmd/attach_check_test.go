package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/registry/metrics"
)

// checkApp is a real registry with a tab and a worker.
func checkApp(t *testing.T) *registry.Registry {
	t.Helper()
	reg := registry.New(registry.WithSource(registryTestSource))
	for _, err := range []error{
		reg.RegisterComponent("main_window", registry.WithType("window")),
		reg.RegisterComponent("media_tab", registry.WithType("tab"), registry.WithParent("main_window")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Track("media_tab", new(int), registry.WithSize(4096)); err != nil {
		t.Fatal(err)
	}
	return reg
}

// listen serves reg as a program does (Listen, then Serve) until the test ends.
func listen(t *testing.T, reg *registry.Registry, opts ...registry.ServeOption) *registry.Server {
	t.Helper()
	return serveReg(t, reg, append(opts, registry.WithMetrics(metrics.Handler(reg)))...)
}

// serveChecked serves h as a registry would: a unix socket of mode 0600,
// or loopback TCP. It returns the attach target.
// TestAttachCheck_MetricsAreOptional: a Go program that does not serve
// metrics answers 404 with the error body, and conforms.
func TestAttachCheck_MetricsAreOptional(t *testing.T) {
	h := checkApp(t).Handler()
	target := serveChecked(t, "unix", h)
	r := attachCLI(t).run("attach-check", target)
	if r.Code != 0 || !strings.Contains(r.Stdout, "ok   GET /metrics: 404: this process does not serve metrics") {
		t.Errorf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

func serveChecked(t *testing.T, network string, h http.Handler) string {
	t.Helper()
	target := serve(t, network, h)
	if network == "unix" {
		if err := os.Chmod(strings.TrimPrefix(target, "unix://"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return target
}

// checkReport is attach-check -o json.
type checkReport struct {
	Target string                `json:"target"`
	Checks []printer.CheckResult `json:"checks"`
	Failed int                   `json:"failed"`
}

func runCheckJSON(t *testing.T, c *cli, args ...string) (checkReport, result) {
	t.Helper()
	r := c.run(append([]string{"attach-check", "-o", "json"}, args...)...)
	var rep checkReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("exit %d, stderr %q: -o json is not JSON: %v\n%s", r.Code, r.Stderr, err, r.Stdout)
	}
	return rep, r
}

// names are the check names with what varies between runs (paths, ports)
// replaced by placeholders.
func names(rep checkReport, replace ...string) []string {
	out := make([]string, len(rep.Checks))
	rp := strings.NewReplacer(replace...)
	for i, c := range rep.Checks {
		out[i] = rp.Replace(c.Name)
	}
	return out
}

// endpointChecks are the checks made on every transport.
var endpointChecks = []string{
	"GET /snapshot",
	"GET /snapshot, Accept-Encoding: gzip",
	"HEAD /snapshot",
	"GET /stats",
	"GET /metrics",
	"GET /no-such-endpoint",
	"POST /snapshot (wrong method)",
	"GET /snapshot, Origin: https://example.com",
	"GET /snapshot, Sec-Fetch-Site: cross-site",
	"GET /snapshot, Sec-Fetch-Site: none",
	"OPTIONS /cleanup, a CORS preflight",
}

func TestAttachCheck_GoServerConforms(t *testing.T) {
	t.Run("unix socket by name, from discovery", func(t *testing.T) {
		reg := checkApp(t)
		c := attachCLI(t)
		dir := discovery.Dir(func(k string) string { return c.env[k] })
		srv := listen(t, reg, registry.WithRuntimeDir(dir), registry.WithProcessName("checkapp"), registry.WithCleanupEndpoint())
		sock := strings.TrimPrefix(srv.Address(), "unix://")
		rep, r := runCheckJSON(t, c, "checkapp")
		if r.Code != 0 || rep.Failed != 0 {
			t.Fatalf("exit %d, %d failed:\n%s%s", r.Code, rep.Failed, r.Stdout, r.Stderr)
		}
		want := append([]string{"discovery file DISC", "runtime directory DIR", "socket SOCK"}, endpointChecks...)
		want = append(want, `discovery file "token"`, "POST /cleanup without component", "POST /cleanup of a component the registry does not hold")
		disc := filepath.Join(dir, strconv.Itoa(os.Getpid())+".json")
		if got := names(rep, disc, "DISC", sock, "SOCK", dir, "DIR"); !slices.Equal(got, want) {
			t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The text output: one ok line per check, then the count.
		r = c.run("attach-check", "checkapp")
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		if r.Code != 0 || len(lines) != len(want)+1 || lines[len(lines)-1] != strconv.Itoa(len(want))+" checks, 0 failed" {
			t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		for _, l := range lines[:len(want)] {
			if !strings.HasPrefix(l, "ok   ") {
				t.Errorf("line %q is not an ok line", l)
			}
		}
		if !strings.Contains(r.Stdout, "ok   GET /snapshot: 200 application/json, a valid rescoord/v1 snapshot (2 components, 1 resource)\n") {
			t.Errorf("the snapshot line does not describe the snapshot:\n%s", r.Stdout)
		}
		if len(reg.Snapshot().Resources) != 1 {
			t.Error("attach-check destroyed something")
		}
	})
	t.Run("unix socket by path", func(t *testing.T) {
		srv := listen(t, checkApp(t), registry.WithAddress("unix://"+shortTempDir(t)+"/app.sock"), registry.WithoutDiscovery())
		rep, r := runCheckJSON(t, attachCLI(t), srv.Address())
		if r.Code != 0 || rep.Failed != 0 {
			t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		sock := strings.TrimPrefix(srv.Address(), "unix://")
		want := append([]string{"socket SOCK", "socket directory DIR"}, endpointChecks...)
		want = append(want, "POST /cleanup without component", "POST /cleanup of a component the registry does not hold")
		if got := names(rep, sock, "SOCK", filepath.Dir(sock), "DIR"); !slices.Equal(got, want) {
			t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("tcp with a token, by name", func(t *testing.T) {
		reg := checkApp(t)
		c := attachCLI(t)
		c.env["RESCOORD_TOKEN"] = "s3cret"
		dir := discovery.Dir(func(k string) string { return c.env[k] })
		srv := listen(t, reg, registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"), registry.WithCleanupEndpoint(),
			registry.WithRuntimeDir(dir), registry.WithProcessName("checkapp"))
		rep, r := runCheckJSON(t, c, "checkapp")
		if r.Code != 0 || rep.Failed != 0 {
			t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.Address(), "http://"))
		want := append([]string{"discovery file DISC", "runtime directory DIR"}, endpointChecks...)
		want = append(want,
			"GET /snapshot, Host: rescoord-attach-check.example:PORT", "GET /snapshot, Host: localhost:PORT",
			"GET /snapshot without the token", "GET /snapshot with a wrong token", "GET /snapshot, scheme bearer in lower case",
			`discovery file "token"`,
			"POST /cleanup without component", "POST /cleanup of a component the registry does not hold",
			"POST /cleanup over TCP without X-Rescoord-Client")
		disc := filepath.Join(dir, strconv.Itoa(os.Getpid())+".json")
		if got := names(rep, disc, "DISC", dir, "DIR", port, "PORT"); !slices.Equal(got, want) {
			t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if strings.Contains(r.Stdout, "s3cret") {
			t.Error("the token is in the output")
		}
		if len(reg.Snapshot().Resources) != 1 {
			t.Error("attach-check destroyed something")
		}
	})
	t.Run("tcp without a token, --token in the URL", func(t *testing.T) {
		srv := listen(t, checkApp(t), registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"), registry.WithoutDiscovery())
		target := strings.Replace(srv.Address(), "http://", "http://:s3cret@", 1)
		if r := attachCLI(t).run("attach-check", target); r.Code != 0 {
			t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	})
}

// rewriter changes a request before the real handler sees it, and the
// answer's headers before they are written.
type rewriter struct {
	next     http.Handler
	request  func(r *http.Request)
	response func(r *http.Request, h http.Header)
	// answer, when it returns true, has answered instead of next.
	answer func(w http.ResponseWriter, r *http.Request) bool
}

// contentType is a rewriter that answers path with the Content-Type ct.
func contentType(path, ct string) rewriter {
	return rewriter{response: func(r *http.Request, h http.Header) {
		if r.URL.Path == path {
			h.Set("Content-Type", ct)
		}
	}}
}

func (rw *rewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rw.request != nil {
		rw.request(r)
	}
	if rw.answer != nil && rw.answer(w, r) {
		return
	}
	if rw.response != nil {
		w = &headerHook{ResponseWriter: w, hook: func(h http.Header) { rw.response(r, h) }}
	}
	rw.next.ServeHTTP(w, r)
}

type headerHook struct {
	http.ResponseWriter
	hook func(http.Header)
	done bool
}

func (h *headerHook) WriteHeader(code int) {
	if !h.done {
		h.done = true
		h.hook(h.Header())
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerHook) Write(b []byte) (int, error) {
	if !h.done {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(b)
}

func (h *headerHook) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// hostCheck is the Host rule Listen adds over TCP.
func hostCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if host != "127.0.0.1" && host != "localhost" {
			w.Header().Set("Connection", "close")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMisdirectedRequest)
			w.Write([]byte(`{"error":"misdirected"}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func jsonAnswer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write([]byte(body + "\n"))
}

func TestAttachCheck_BrokenServers(t *testing.T) {
	const token = "s3cret"
	tests := []struct {
		name    string
		network string
		token   bool // the handler requires the token, and attach-check sends it
		rw      rewriter
		setup   func(t *testing.T, c *cli, target string) string // returns the target to check
		args    []string
		want    string // the FAIL line begins so
	}{
		{name: "answers a web page's request", rw: rewriter{request: func(r *http.Request) { r.Header.Del("Origin") }},
			want: "FAIL GET /snapshot, Origin: https://example.com: want 403 with {\"error\": \"…\"} (application/json) and Connection: close, got 200 application/json"},
		{name: "answers Sec-Fetch-Site: cross-site", rw: rewriter{request: func(r *http.Request) { r.Header.Del("Sec-Fetch-Site") }},
			want: "FAIL GET /snapshot, Sec-Fetch-Site: cross-site: want 403"},
		{name: "refuses Sec-Fetch-Site: none", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("Sec-Fetch-Site") == "none" {
				jsonAnswer(w, http.StatusForbidden, `{"error":"no"}`)
				return true
			}
			return false
		}}, want: "FAIL GET /snapshot, Sec-Fetch-Site: none: want 200 application/json, got 403"},
		{name: "keeps the connection of a refusal", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if _, ok := r.Header["Origin"]; ok && r.Method == http.MethodGet {
				jsonAnswer(w, http.StatusForbidden, `{"error":"forbidden"}`)
				return true
			}
			return false
		}}, want: "FAIL GET /snapshot, Origin: https://example.com: want 403 with {\"error\": \"…\"} (application/json) and Connection: close, got 403, the connection kept open"},
		{name: "answers a preflight with CORS headers", rw: rewriter{response: func(r *http.Request, h http.Header) {
			h.Set("Access-Control-Allow-Origin", "*")
		}}, want: "FAIL OPTIONS /cleanup, a CORS preflight: want 403 without any Access-Control-Allow-* header"},
		{name: "wrong snapshot content type", rw: contentType("/snapshot", "text/plain"), want: "FAIL GET /snapshot: want 200 application/json, got 200 text/plain"},
		{name: "invalid snapshot", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/snapshot" && r.Method == http.MethodGet && r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") != "cross-site" {
				jsonAnswer(w, http.StatusOK, `{"format":"rescoord/v9","taken_at":"2026-11-27T12:00:05Z","components":[],"resources":[]}`)
				return true
			}
			return false
		}}, want: "FAIL GET /snapshot: want 200 application/json, a valid rescoord/v1 snapshot, got an invalid snapshot: 1:11: format: unsupported format version"},
		{name: "gzip without Vary", rw: rewriter{response: func(r *http.Request, h http.Header) { h.Del("Vary") }},
			want: `FAIL GET /snapshot, Accept-Encoding: gzip: want Vary: Accept-Encoding, got Vary ""`},
		{name: "says gzip, sends JSON", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/snapshot" && r.Header.Get("Accept-Encoding") == "gzip" {
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Vary", "Accept-Encoding")
				jsonAnswer(w, http.StatusOK, "{}")
				return true
			}
			return false
		}}, want: "FAIL GET /snapshot, Accept-Encoding: gzip: want 200 application/json, a valid rescoord/v1 snapshot, got Content-Encoding gzip, but not gzip"},
		{name: "stats without a field", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/stats" {
				jsonAnswer(w, http.StatusOK, `{"taken_at":"2026-11-27T12:00:05Z","alive_components":"2"}`)
				return true
			}
			return false
		}}, want: `FAIL GET /stats: want 200 application/json, an object with taken_at`},
		{name: "metrics not Prometheus text", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/metrics" {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				w.Write([]byte("rescoord_components{state=\"alive\" 1\n"))
				return true
			}
			return false
		}}, want: "FAIL GET /metrics: want 200 text/plain (version 0.0.4), Prometheus text with rescoord_components, rescoord_registry_live_bytes and rescoord_leak_findings, got not Prometheus text"},
		{name: "metrics as JSON", rw: contentType("/metrics", "application/json"), want: "FAIL GET /metrics: want 200 text/plain, got 200 application/json"},
		{name: "not found without the JSON body", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/no-such-endpoint" {
				http.NotFound(w, r)
				return true
			}
			return false
		}}, want: `FAIL GET /no-such-endpoint: want 404 with {"error": "…"} (application/json), got 404 with content type "text/plain; charset=utf-8", not application/json`},
		{name: "405 for a wrong method", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/snapshot" && r.Method == http.MethodPost {
				jsonAnswer(w, http.StatusMethodNotAllowed, `{"error":"method not allowed"}`)
				return true
			}
			return false
		}}, want: "FAIL POST /snapshot (wrong method): want 404"},
		{name: "HEAD not answered", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodHead {
				jsonAnswer(w, http.StatusNotFound, `{"error":"not found"}`)
				return true
			}
			return false
		}}, want: "FAIL HEAD /snapshot: want 200 application/json, got 404"},
		{name: "cleanup without component answers 200", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/cleanup" && r.URL.RawQuery == "" {
				w.Header().Set("Content-Type", "application/x-ndjson")
				w.Write([]byte(`{"summary":{"steps":0}}` + "\n"))
				return true
			}
			return false
		}}, want: "FAIL POST /cleanup without component: want 400 or 403"},
		{name: "cleanup of an absent component answers 200", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/cleanup" && r.URL.RawQuery != "" {
				w.Header().Set("Content-Type", "application/x-ndjson")
				w.Write([]byte(`{"summary":{"steps":0}}` + "\n"))
				return true
			}
			return false
		}}, want: "FAIL POST /cleanup of a component the registry does not hold: want 404 or 403"},
		{name: "no Host check over TCP", network: "tcp",
			want: "FAIL GET /snapshot, Host: rescoord-attach-check.example:"},
		{name: "refuses Host: localhost", network: "tcp", rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasPrefix(r.Host, "localhost") {
				jsonAnswer(w, http.StatusMisdirectedRequest, `{"error":"misdirected"}`)
				return true
			}
			return false
		}}, want: "FAIL GET /snapshot, Host: localhost:"},
		{name: "cleanup over TCP without the client header", network: "tcp", token: true, rw: rewriter{request: func(r *http.Request) {
			r.Header.Set("X-Rescoord-Client", "added")
		}}, want: "FAIL POST /cleanup over TCP without X-Rescoord-Client: want 403 with {\"error\": \"…\"} (application/json), got 404"},
		{name: "accepts a wrong token", token: true, rw: rewriter{request: func(r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
		}}, want: "FAIL GET /snapshot with a wrong token: want 401"},
		{name: "refuses the scheme in lower case", token: true, rw: rewriter{request: func(r *http.Request) {
			if strings.HasPrefix(r.Header.Get("Authorization"), "bearer ") {
				r.Header.Del("Authorization")
			}
		}}, want: "FAIL GET /snapshot, scheme bearer in lower case: want 200 application/json, got 401"},
		{name: "401 without WWW-Authenticate", token: true, rw: rewriter{response: func(r *http.Request, h http.Header) {
			h.Del("WWW-Authenticate")
		}}, want: `FAIL GET /snapshot without the token, WWW-Authenticate: want WWW-Authenticate: Bearer realm="rescoord", got ""`},
		{name: "socket mode 0666", setup: func(t *testing.T, c *cli, target string) string {
			if err := os.Chmod(strings.TrimPrefix(target, "unix://"), 0o666); err != nil {
				t.Fatal(err)
			}
			return target
		}, want: "FAIL socket "},
		{name: "socket in a directory anyone can write", setup: func(t *testing.T, c *cli, target string) string {
			if err := os.Chmod(filepath.Dir(strings.TrimPrefix(target, "unix://")), 0o777); err != nil {
				t.Fatal(err)
			}
			return target
		}, want: "FAIL socket directory "},
		{name: "discovery file mode 0644", setup: func(t *testing.T, c *cli, target string) string {
			path := writeDiscovery(t, c, discovery.Entry{PID: os.Getpid(), Process: "checkapp", Address: target, StartedAt: time.Now()})
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			return "checkapp"
		}, want: "FAIL discovery file "},
		{name: "discovery file without process", setup: func(t *testing.T, c *cli, target string) string {
			path := writeDiscovery(t, c, discovery.Entry{PID: os.Getpid(), Process: "x", Address: target, StartedAt: time.Now()})
			b, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "address": target, "started_at": time.Now()})
			testfs.WriteFile(t, path, b, 0o600)
			return "pid:" + strconv.Itoa(os.Getpid())
		}, want: `FAIL discovery file `},
		{name: "discovery file says no token", token: true, setup: func(t *testing.T, c *cli, target string) string {
			writeDiscovery(t, c, discovery.Entry{PID: os.Getpid(), Process: "checkapp", Address: target, StartedAt: time.Now()})
			return "checkapp"
		}, want: `FAIL discovery file "token": want true (the server requires a token), got false`},
		{name: "discovery file says token, none required", setup: func(t *testing.T, c *cli, target string) string {
			writeDiscovery(t, c, discovery.Entry{PID: os.Getpid(), Process: "checkapp", Address: target, StartedAt: time.Now(), Token: true})
			c.env["RESCOORD_TOKEN"] = token
			return "checkapp"
		}, want: `FAIL discovery file "token": want false (the server does not require a token), got true`},
		{name: "no answer within --timeout", args: []string{"--timeout", "2s"}, rw: rewriter{answer: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/stats" {
				<-r.Context().Done()
				return true
			}
			return false
		}}, want: "FAIL GET /stats: want 200 application/json, got "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network := tt.network
			if network == "" {
				network = "unix"
			}
			var opts []registry.ServeOption
			if tt.token {
				opts = append(opts, registry.WithToken(token))
			}
			app := checkApp(t)
			opts = append(opts, registry.WithCleanupEndpoint(), registry.WithMetrics(metrics.Handler(app)))
			var h http.Handler = app.Handler(opts...)
			rw := tt.rw
			rw.next = h
			h = &rw
			if network == "tcp" && tt.name != "no Host check over TCP" {
				h = hostCheck(h)
			}
			target := serveChecked(t, network, h)
			c := attachCLI(t)
			if tt.token {
				c.env["RESCOORD_TOKEN"] = token
			}
			if tt.setup != nil {
				target = tt.setup(t, c, target)
			}
			r := c.run(append([]string{"attach-check", target}, tt.args...)...)
			if r.Code != 1 {
				t.Errorf("exit %d, want 1; stderr %q", r.Code, r.Stderr)
			}
			found := false
			for _, l := range strings.Split(r.Stdout, "\n") {
				if strings.HasPrefix(l, tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no line beginning %q in:\n%s", tt.want, r.Stdout)
			}
			if !strings.Contains(r.Stdout, " failed\n") || strings.Contains(r.Stdout, " 0 failed\n") {
				t.Errorf("the last line does not count the failure:\n%s", r.Stdout)
			}
		})
	}
}

// writeDiscovery writes a discovery file in the cli's runtime directory.
func writeDiscovery(t *testing.T, c *cli, e discovery.Entry) string {
	t.Helper()
	path, err := discovery.Write(discovery.Dir(func(k string) string { return c.env[k] }), e)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAttachCheck_CannotCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	tokenSrv := listen(t, checkApp(t), registry.WithAddress("127.0.0.1:0"), registry.WithToken("s3cret"), registry.WithoutDiscovery())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"connection refused", []string{refused}, "connection refused"},
		{"a token is required", []string{tokenSrv.Address()}, "requires a token: pass --token or set RESCOORD_TOKEN"},
		{"unknown name", []string{"nosuchapp"}, "no attachable process named nosuchapp"},
		{"bad output", []string{"-o", "xml", tokenSrv.Address()}, `invalid --output "xml"`},
		{"no target", nil, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := attachCLI(t)
			c.sleep = func(context.Context, time.Duration) error { return nil }
			r := c.run(append([]string{"attach-check"}, tt.args...)...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("exit %d, stderr %q: want 2 and %q", r.Code, r.Stderr, tt.want)
			}
		})
	}
}

// TestAttachCheck_StopsWithTheContext: Ctrl-C (the command's context)
// ends a check that waits on a silent server, long before --timeout.
func TestAttachCheck_StopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	target := serveChecked(t, "unix", &rewriter{next: checkApp(t).Handler(), answer: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/stats" {
			cancel() // the user presses Ctrl-C while the server is silent
			<-r.Context().Done()
			return true
		}
		return false
	}})
	var out, errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }, Now: time.Now, ColorMode: "never"}
	done := make(chan int, 1)
	go func() { done <- RunContext(ctx, f, []string{"attach-check", "--timeout", "1h", target}) }()
	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("exit 0 after the context was cancelled:\n%s", out.String())
		}
		if strings.Contains(out.String(), "ok   GET /metrics") {
			t.Errorf("checks went on after the context was cancelled:\n%s", out.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("attach-check did not stop with its context")
	}
}

// TestUntrustedText_AttachCheckEscapesServerText: what a hostile server
// sends back (content types, headers, error bodies, snapshot errors) and a
// hostile discovery entry are shown escaped in every line.
func TestUntrustedText_AttachCheckEscapesServerText(t *testing.T) {
	target := serveChecked(t, "unix", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			w.Header().Set("Vary", "x"+evil) // a header the client cannot parse: the error quotes it
		}
		if r.URL.Path == "/snapshot" && r.Method == http.MethodGet && r.Header.Get("Origin") == "" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":` + strconv.Quote("w"+evil) + `}],"resources":[]}`))
			return
		}
		w.Header().Set("Content-Type", "text/html; x=|\u202e|\u2028|\u009b|")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(evil + command))
	}))
	for _, color := range []string{"never", "always"} {
		c := attachCLI(t)
		writeDiscovery(t, c, discovery.Entry{PID: os.Getpid(), Process: "checkapp", Address: target, StartedAt: time.Now()})
		r := c.run("--color", color, "attach-check", "checkapp")
		if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL GET /stats: want 200 application/json, got ") {
			t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		checkNoControls(t, "attach-check stdout --color "+color, r.Stdout, false, false)
		checkNoControls(t, "attach-check stderr --color "+color, r.Stderr, false, false)
	}
}
