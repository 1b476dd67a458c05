package cmd

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/discovery"
)

// otherUID is "another user" in the tests that run as root.
const otherUID = 54321

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another uid (CI runs as root)")
	}
}

// wantRefusal checks a run ended with exit 2 and one line holding each of want.
func wantRefusal(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.Code != 2 || strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "rescoord: ") {
		t.Errorf("exit %d, stderr %q: want exit 2 and one line", r.Code, r.Stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr %q lacks %q", r.Stderr, w)
		}
	}
}

// countingProcess is a fakeProcess that counts the requests it receives.
type countingProcess struct {
	fakeProcess
	requests atomic.Int32
}

func (p *countingProcess) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	p.fakeProcess.ServeHTTP(w, r)
}

func TestAttach_RefusesUntrustedDiscovery(t *testing.T) {
	me := os.Getpid()
	tests := []struct {
		name string
		// setup plants the trap in the runtime parent rt and returns
		// the path the refusal must name.
		setup func(t *testing.T, rt, target string) string
		want  string
	}{
		{"symlinked directory", func(t *testing.T, rt, target string) string {
			real := filepath.Join(t.TempDir(), "attacker")
			os.Mkdir(real, 0o700)
			discovery.Write(real, discovery.Entry{PID: me, Process: "mediaapp", Address: target})
			os.Symlink(real, filepath.Join(rt, "rescoord"))
			return filepath.Join(rt, "rescoord")
		}, "is a symbolic link"},
		{"world-writable directory", func(t *testing.T, rt, target string) string {
			dir := filepath.Join(rt, "rescoord")
			discovery.Write(dir, discovery.Entry{PID: me, Process: "mediaapp", Address: target})
			os.Chmod(dir, os.ModeSticky|0o777)
			return dir
		}, "writable by other users (mode 1777)"},
		{"symlinked file", func(t *testing.T, rt, target string) string {
			dir := filepath.Join(rt, "rescoord")
			elsewhere, _ := discovery.Write(filepath.Join(t.TempDir(), "x"), discovery.Entry{PID: me, Process: "mediaapp", Address: target})
			discovery.EnsureDir(dir)
			path := filepath.Join(dir, strconv.Itoa(me)+".json")
			os.Symlink(elsewhere, path)
			return path
		}, "is a symbolic link"},
		{"non-loopback address", func(t *testing.T, rt, target string) string {
			// 0.0.0.0 reaches the listener below, yet it is no
			// address a local process should be found at.
			path, _ := discovery.Write(filepath.Join(rt, "rescoord"), discovery.Entry{PID: me, Process: "mediaapp", Address: strings.Replace(target, "127.0.0.1", "0.0.0.0", 1)})
			return path
		}, "is not on this machine"},
		{"directory of another user", func(t *testing.T, rt, target string) string {
			needRoot(t)
			dir := filepath.Join(rt, "rescoord")
			discovery.Write(dir, discovery.Entry{PID: me, Process: "mediaapp", Address: target})
			os.Chown(dir, otherUID, otherUID)
			return dir
		}, "belongs to uid 54321, not to you (uid 0)"},
		{"file of another user", func(t *testing.T, rt, target string) string {
			needRoot(t)
			path, _ := discovery.Write(filepath.Join(rt, "rescoord"), discovery.Entry{PID: me, Process: "mediaapp", Address: target})
			os.Chown(path, otherUID, otherUID)
			return path
		}, "belongs to uid 54321, not to you (uid 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "0.0.0.0:0")
			if err != nil {
				t.Fatal(err)
			}
			proc := &countingProcess{fakeProcess: fakeProcess{t: t, body: demoJSON(t), handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"summary":{}}` + "\n"))
			}}}
			srv := &http.Server{Handler: proc}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			target := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

			c := attachCLI(t)
			c.env["RESCOORD_TOKEN"] = "S3CRET"
			path := tt.setup(t, c.env["XDG_RUNTIME_DIR"], target)
			for _, args := range [][]string{
				{"leaks", "--attach", "mediaapp"},
				{"stats", "--attach", "pid:" + strconv.Itoa(me)},
				{"cleanup", "--attach", "mediaapp", "--component", "media_tab", "--yes"},
			} {
				wantRefusal(t, c.run(args...), "refusing discovery", path+": ", tt.want)
			}
			if n := proc.requests.Load(); n != 0 {
				t.Errorf("%d requests reached the server named by an untrusted discovery entry", n)
			}
		})
	}
}

func TestPs_MarksRefusedEntries(t *testing.T) {
	c := attachCLI(t)
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	discovery.Write(dir, discovery.Entry{PID: os.Getpid(), Process: "mediaapp", Address: "unix:///tmp/x.sock"})
	evil, _ := discovery.Write(dir, discovery.Entry{PID: 1, Process: "evil", Address: "http://user:S3CRET@192.0.2.1:80"})
	r := c.run("ps")
	if j := c.run("ps", "-o", "json"); strings.Contains(r.Stdout+r.Stderr+j.Stdout+j.Stderr, "S3CRET") {
		t.Errorf("ps shows the token in a discovery address:\n%s%s%s", r.Stdout, r.Stderr, j.Stdout)
	}
	if r.Code != 0 || !strings.Contains(r.Stdout, "refused") || !strings.Contains(r.Stdout, "live") {
		t.Errorf("ps does not mark the refused entry: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "warning: refusing discovery file "+evil+": its address") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("ps warning: %q", r.Stderr)
	}
	if r := c.run("ps", "-o", "json"); !strings.Contains(r.Stdout, `"refused": "its address`) {
		t.Errorf("ps -o json lacks the refusal:\n%s", r.Stdout)
	}
	os.Chmod(dir, 0o777)
	wantRefusal(t, c.run("ps"), "refusing discovery directory "+dir+": it is writable by other users (mode 0777)")
}

// TestHelperForeignServer is not a test: run as another uid by
// TestAttach_RefusesASocketOfAnotherUser, it serves a snapshot on the
// socket named by RESCOORD_HELPER_SOCKET and reports each request on stdout.
func TestHelperForeignServer(t *testing.T) {
	path := os.Getenv("RESCOORD_HELPER_SOCKET")
	if path == "" {
		t.Skip("helper process only")
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o666) // even an open socket is not to be trusted
	demo, err := os.ReadFile(os.Getenv("RESCOORD_HELPER_DEMO"))
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		os.Stdout.WriteString("request " + r.Method + " " + r.URL.Path + " auth=" + r.Header.Get("Authorization") + "\n")
		w.Header().Set("Content-Type", "application/json")
		w.Write(demo)
	}))
}

// foreignServer runs TestHelperForeignServer as otherUID and returns its
// socket and a function that stops it and returns what it reported.
func foreignServer(t *testing.T) (socket string, stop func() string) {
	t.Helper()
	needRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := shortTempDir(t)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "helper")
	if err := os.Link(exe, bin); err != nil {
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		testfs.WriteFile(t, bin, b, 0o755)
	}
	os.Chmod(bin, 0o755)
	demo := filepath.Join(dir, "demo.json")
	os.WriteFile(demo, demoJSON(t), 0o644)
	sockDir := filepath.Join(dir, "u")
	os.Mkdir(sockDir, 0o755)
	os.Chown(sockDir, otherUID, otherUID)
	socket = filepath.Join(sockDir, "app.sock")

	cmd := exec.Command(bin, "-test.run=^TestHelperForeignServer$")
	cmd.Env = []string{"RESCOORD_HELPER_SOCKET=" + socket, "RESCOORD_HELPER_DEMO=" + demo, "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUID, Gid: otherUID}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper did not start: %q %v", line, err)
	}
	stopped := false
	var rest []byte
	stop = func() string {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			rest, _ = io.ReadAll(br)
			cmd.Wait()
		}
		return string(rest)
	}
	t.Cleanup(func() { stop() })
	return socket, stop
}

func TestAttach_RefusesASocketOfAnotherUser(t *testing.T) {
	socket, stop := foreignServer(t)
	c := attachCLI(t)
	c.env["RESCOORD_TOKEN"] = "S3CRET"
	// A discovery entry of ours pointing at it, as a poisoned one would.
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	discovery.Write(dir, discovery.Entry{PID: os.Getpid(), Process: "mediaapp", Address: "unix://" + socket, StartedAt: time.Now()})
	want := []string{"refusing " + socket + ": the process serving it runs as uid 54321, not as you (uid 0); pass --allow-uid 54321"}
	wantRefusal(t, c.run("leaks", "--attach", "mediaapp"), want...)
	wantRefusal(t, c.run("cleanup", "--attach", "unix://"+socket, "--component", "media_tab", "--yes"), want...)
	wantRefusal(t, c.run("list", "--attach", "mediaapp", "--allow-uid", "1000"), want...)
	if r := c.run("list", "--attach", "mediaapp", "--allow-uid", "nobody"); r.Code != 2 || !strings.Contains(r.Stderr, `--allow-uid: invalid uid "nobody"`) {
		t.Errorf("a bad --allow-uid: exit %d %q", r.Code, r.Stderr)
	}
	r := c.run("stats", "--attach", "mediaapp", "--allow-uid", "1000,54321")
	if r.Code != 0 || !strings.Contains(r.Stdout, "media-app (pid 4242)") {
		t.Errorf("--allow-uid 54321: exit %d %q", r.Code, r.Stderr)
	}
	reported := stop()
	if n := strings.Count(reported, "request "); n != 1 || !strings.Contains(reported, "request GET /snapshot auth=Bearer S3CRET") {
		t.Errorf("the foreign server saw %d requests, want only the allowed one:\n%s", n, reported)
	}
}

func TestAttach_KeepsTheURLPathPrefix(t *testing.T) {
	var paths []string
	proc := &fakeProcess{t: t, body: demoJSON(t)}
	base := serve(t, "tcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		http.StripPrefix("/debug/rescoord", proc).ServeHTTP(w, r)
	}))
	r := attachCLI(t).run("stats", "--attach", base+"/debug/rescoord/")
	if r.Code != 0 || len(paths) != 1 || paths[0] != "/debug/rescoord/snapshot" {
		t.Errorf("exit %d %q, requested %v, want /debug/rescoord/snapshot", r.Code, r.Stderr, paths)
	}
}

func TestAttach_TokenNeverShown(t *testing.T) {
	const token = "S3CRET-t0k3n"
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":"got ` + r.Header.Get("Authorization") + `"}`))
	}
	withToken := func(base string) string { return strings.Replace(base, "http://", "http://user:"+token+"@", 1) }
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	targets := map[string]string{
		"echo":    withToken(serve(t, "tcp", http.HandlerFunc(echo))),
		"refused": withToken(refused),
		"timeout": withToken(serve(t, "tcp", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }})),
		"ok":      withToken(serve(t, "tcp", &fakeProcess{t: t, body: demoJSON(t), token: token})),
	}
	for name, target := range targets {
		c := attachCLI(t)
		c.sleep = func(context.Context, time.Duration) error { return nil }
		for _, args := range [][]string{
			{"list", "--attach", target},
			{"leaks", "--attach", target},
			{"cleanup", "--attach", target, "--component", "media_tab", "--yes"},
			{"cleanup", "--attach", target},
		} {
			if name == "timeout" {
				args = append(args, "--timeout", "100ms")
			}
			r := c.run(args...)
			if strings.Contains(r.Stderr+r.Stdout, token) {
				t.Errorf("%s: %s shows the token:\n%s%s", name, args[0], r.Stdout, r.Stderr)
			}
			if name == "ok" && args[0] == "list" && r.Code != 0 {
				t.Errorf("the token in the URL was not sent: exit %d %q", r.Code, r.Stderr)
			}
		}
	}
}

func TestAttach_WatchAndRecordHonourTheTimeout(t *testing.T) {
	target := serve(t, "unix", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"format": "rescoord/v1",`)) // then nothing more
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}})
	for _, args := range [][]string{
		{"watch", "--attach", target, "--count", "1", "--timeout", "200ms"},
		{"record", "--attach", target, "--count", "1", "--timeout", "200ms", "--out", t.TempDir()},
	} {
		wantRefusal(t, attachCLI(t).run(args...), "did not answer within 200ms")
	}
}
