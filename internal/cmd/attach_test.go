package cmd

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/registry"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/discovery"
)

// fakeProcess serves a snapshot the way a registry does, on a real socket.
type fakeProcess struct {
	t       *testing.T
	body    []byte
	token   string
	handler http.HandlerFunc // replaces the default /snapshot handler when set
}

func (p *fakeProcess) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.token != "" {
		got, _ := attach.BearerToken(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare([]byte(got), []byte(p.token)) != 1 {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
	}
	if p.handler != nil {
		p.handler(w, r)
		return
	}
	if r.URL.Path != "/snapshot" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(p.body)
}

// shortTempDir returns a directory whose path is short enough for a unix socket.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serve starts h on network ("unix" or "tcp") and returns the attach target.
func serve(t *testing.T, network string, h http.Handler) string {
	t.Helper()
	var ln net.Listener
	var err error
	var target string
	if network == "unix" {
		path := filepath.Join(shortTempDir(t), "app.sock")
		ln, err = net.Listen("unix", path)
		target = "unix://" + path
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			target = "http://" + ln.Addr().String()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return target
}

func attachCLI(t *testing.T) *cli {
	c := newCLI(t)
	c.env = map[string]string{"XDG_RUNTIME_DIR": shortTempDir(t)}
	return c
}

func TestAttach_UnixAndTCP(t *testing.T) {
	want := runCLI(t, "list", "--demo").Stdout
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			target := serve(t, network, &fakeProcess{t: t, body: demoJSON(t)})
			r := attachCLI(t).run("list", "--attach", target)
			if r.Code != 0 || r.Stdout != want {
				t.Errorf("exit %d, stderr %q; output differs from --demo:\n%s", r.Code, r.Stderr, r.Stdout)
			}
		})
	}
}

func TestAttach_ByNameAndPidFromDiscovery(t *testing.T) {
	target := serve(t, "unix", &fakeProcess{t: t, body: demoJSON(t)})
	c := attachCLI(t)
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	if _, err := discovery.Write(dir, discovery.Entry{PID: os.Getpid(), Process: "mediaapp", Address: target, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mediaapp", "pid:" + strconv.Itoa(os.Getpid())} {
		if r := c.run("stats", "--attach", name); r.Code != 0 || !strings.Contains(r.Stdout, "media-app (pid 4242)") {
			t.Errorf("--attach %s: exit %d, stderr %q", name, r.Code, r.Stderr)
		}
	}
	r := c.run("ps")
	if r.Code != 0 || !strings.Contains(r.Stdout, "mediaapp") || !strings.Contains(r.Stdout, target) {
		t.Errorf("ps: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

func TestAttach_Errors(t *testing.T) {
	demo := demoJSON(t)
	tests := []struct {
		name  string
		proc  *fakeProcess
		args  []string
		want  string
		setup func(t *testing.T) string // returns the target instead of serving proc
	}{
		{name: "missing token", proc: &fakeProcess{body: demo, token: "s3cret"},
			want: "requires a token: pass --token or set RESCOORD_TOKEN"},
		{name: "wrong token", proc: &fakeProcess{body: demo, token: "s3cret"}, args: []string{"--token", "guess"},
			want: "rejected the token (401 Unauthorized)"},
		{name: "not a snapshot", proc: &fakeProcess{handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>hello</html>"))
		}}, want: `did not answer with a snapshot (content type "text/html")`},
		{name: "invalid snapshot", proc: &fakeProcess{body: []byte(`{"format":"rescoord/v9","taken_at":"2026-11-27T12:00:05Z","components":[],"resources":[]}`)},
			want: `did not answer with a valid snapshot: 1:11: format: unsupported format version`},
		{name: "not an endpoint", proc: &fakeProcess{handler: http.NotFound},
			want: "answered 404 for /snapshot: is it a rescoord endpoint?"},
		{name: "stops mid-request", proc: &fakeProcess{handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(demo)))
			w.Write(demo[:len(demo)/2])
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}}, want: "closed the connection before answering completely"},
		{name: "timeout", args: []string{"--timeout", "50ms"}, proc: &fakeProcess{handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}}, want: "did not answer within 50ms"},
		{name: "refused", setup: func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr
		}, want: "connection refused (is the process still running?"},
		{name: "unknown name", setup: func(*testing.T) string { return "nosuchapp" },
			want: "no attachable process named nosuchapp (rescoord ps lists them)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var target string
			if tt.setup != nil {
				target = tt.setup(t)
			} else {
				tt.proc.t = t
				target = serve(t, "tcp", tt.proc)
			}
			c := attachCLI(t)
			retries := 0
			c.sleep = func(context.Context, time.Duration) error { retries++; return nil }
			r := c.run(append([]string{"list", "--attach", target}, tt.args...)...)
			if r.Code != 2 {
				t.Errorf("exit %d, want 2", r.Code)
			}
			if !strings.HasPrefix(r.Stderr, "rescoord: ") || !strings.Contains(r.Stderr, tt.want) || strings.Count(r.Stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", r.Stderr, tt.want)
			}
			if tt.name == "refused" && retries != 3 {
				t.Errorf("retried %d times, want 3", retries)
			}
		})
	}
}

func TestPs_StaleAndPrune(t *testing.T) {
	c := attachCLI(t)
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	discovery.Write(dir, discovery.Entry{PID: os.Getpid(), Process: "mediaapp", Address: "unix:///tmp/x.sock"})
	discovery.Write(dir, discovery.Entry{PID: 1 << 22, Process: "gone", Address: "unix:///tmp/gone.sock"})
	r := c.run("ps")
	if !strings.Contains(r.Stdout, "stale") || !strings.Contains(r.Stderr, "1 stale entry") {
		t.Errorf("ps does not mark the stale entry:\n%s%s", r.Stdout, r.Stderr)
	}
	r = c.run("ps", "--prune")
	if strings.Contains(r.Stdout, "gone") || !strings.Contains(r.Stderr, "pruned 1 stale entry") {
		t.Errorf("ps --prune:\n%s%s", r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(1<<22)+".json")); !os.IsNotExist(err) {
		t.Errorf("stale discovery file still there: %v", err)
	}
}

// ps prints through the same -o as every command: a table and, at once,
// its JSON to a file; a format of another command is refused.
func TestPs_Outputs(t *testing.T) {
	c := attachCLI(t)
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	discovery.Write(dir, discovery.Entry{PID: os.Getpid(), Process: "mediaapp", Address: "unix:///tmp/x.sock"})
	path := filepath.Join(t.TempDir(), "ps.json")
	r := c.run("ps", "-o", "table", "-o", "json="+path)
	if r.Code != 0 || !strings.Contains(r.Stdout, "mediaapp") {
		t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var doc struct {
		Dir       string            `json:"dir"`
		Processes []json.RawMessage `json:"processes"`
	}
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &doc) != nil || doc.Dir != dir || len(doc.Processes) != 1 {
		t.Errorf("ps.json = %s (%v), want the one process of %s", b, err, dir)
	}
	if r := c.run("ps", "-o", "csv"); r.Code != ExitError || !strings.Contains(r.Stderr, `invalid --output "csv": want table or json`) {
		t.Errorf("-o csv: exit %d %s", r.Code, r.Stderr)
	}
}

func TestRecord(t *testing.T) {
	target := serve(t, "unix", &fakeProcess{t: t, body: demoJSON(t)})
	c := attachCLI(t)
	waits := 0
	c.sleep = func(_ context.Context, d time.Duration) error {
		if d != 250*time.Millisecond {
			t.Errorf("waited %s, want --every 250ms", d)
		}
		waits++
		return nil
	}
	out := filepath.Join(t.TempDir(), "snaps")
	r := c.run("record", "--attach", target, "--every", "250ms", "--count", "3", "--out", out)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "snapshot-*.json"))
	if len(files) != 3 || waits != 2 {
		t.Fatalf("saved %d snapshots with %d waits, want 3 and 2", len(files), waits)
	}
	if r := runCLI(t, "validate", files[2]); r.Code != 0 {
		t.Errorf("a recorded snapshot is not valid: %s", r.Stdout)
	}
	if r := c.run("record", "--count", "2"); r.Code != 2 || !strings.Contains(r.Stderr, "needs --attach") {
		t.Errorf("record without --attach: exit %d %q", r.Code, r.Stderr)
	}
}

func TestWatch(t *testing.T) {
	demo := demoJSON(t)
	calls := 0
	// The second answer has one more live worker.
	grown := strings.Replace(string(demo), `{"id": "r-6001"`, `{"id": "r-7001", "type": "worker", "owner": "main_window", "state": "active", "size_bytes": 1024},
    {"id": "r-6001"`, 1)
	target := serve(t, "unix", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/snapshot" {
			http.NotFound(w, r) // an older server: watch shows no cleanups
			return
		}
		calls++
		w.Header().Set("Content-Type", "application/json")
		if calls == 1 {
			w.Write(demo)
			return
		}
		w.Write([]byte(grown))
	}})
	c := attachCLI(t)
	c.sleep = func(context.Context, time.Duration) error { return nil }
	r := c.run("watch", "--attach", target, "--count", "2", "--top", "3")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	golden(t, "watch/two-frames.txt", r.Stdout)
	if strings.Contains(r.Stdout, "\x1b[") {
		t.Error("piped watch output has escape codes")
	}
	if !strings.Contains(r.Stdout, "(+1 live, +1.0 KiB)") {
		t.Error("the second frame does not show the change since the first")
	}
	c.tty = true
	if r := c.run("watch", "--attach", target, "--count", "1"); !strings.HasPrefix(r.Stdout, "\x1b[H\x1b[2J") {
		t.Error("on a terminal, watch does not redraw in place")
	}
}

// TestAttach_CommandsLeaveNoConnectionOpen: a command run in a process
// that goes on (RunContext, as an embedding program or these tests do)
// closes its connections to the target when it ends. The server accepts
// two connections at a time here: without that, the third command would
// wait for a connection until its --timeout.
func TestAttach_CommandsLeaveNoConnectionOpen(t *testing.T) {
	reg := registry.New(registry.WithStackCapture(false))
	if err := reg.RegisterComponent("tab"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Track("tab", nil, registry.WithType("worker")); err != nil {
		t.Fatal(err)
	}
	srv := serveReg(t, reg, registry.WithAddress("unix://"+shortTempDir(t)+"/app.sock"), registry.WithoutDiscovery(), registry.WithMaxConnections(2))
	c := attachCLI(t)
	out := t.TempDir()
	for _, args := range [][]string{
		{"list"}, {"stats"}, {"validate"}, {"leaks"}, {"leaks", "--reconcile"},
		{"watch", "--count", "1"}, {"record", "--count", "1", "--every", "1ms", "--force", "--out", out},
	} {
		for i := range 3 {
			r := c.run(append(args, "--attach", srv.Address(), "--timeout", "2s")...)
			if r.Code > 1 {
				t.Fatalf("%v, run %d: exit %d: %s", args, i+1, r.Code, r.Stderr)
			}
		}
	}
}
