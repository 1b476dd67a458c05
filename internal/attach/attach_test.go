package attach

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/discovery"
)

const tinySnapshot = `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[],"resources":[]}`

// serveTCP serves h on loopback and returns its base URL.
func serveTCP(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func client(t *testing.T, target string, opts Options) *Client {
	t.Helper()
	tg, err := Resolve(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Sleep == nil {
		opts.Sleep = func(context.Context, time.Duration) error { return nil }
	}
	return NewClient(tg, opts)
}

// within runs f and fails the test if it has not returned after a generous
// bound: what a client without a timeout would do is hang.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10s: the timeout is not honoured", what)
	}
}

func TestResolve_KeepsThePathPrefixAndHidesTheToken(t *testing.T) {
	tg, err := Resolve("http://user:S3CRET@127.0.0.1:6060/debug/rescoord/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "http://127.0.0.1:6060/debug/rescoord/" || tg.Prefix != "/debug/rescoord" || tg.Token != "S3CRET" || tg.Addr != "127.0.0.1:6060" {
		t.Errorf("Resolve = %+v", tg)
	}
	if tg, _ := Resolve("http://S3CRET@127.0.0.1:6060", nil); tg.Token != "S3CRET" || strings.Contains(tg.Name, "S3CRET") {
		t.Errorf("a token as user name: %+v", tg)
	}
	for _, bad := range []string{"http://u:S3CRET@127.0.0.1:6060/?q=1", "https://u:S3CRET@127.0.0.1:6060"} {
		if _, err := Resolve(bad, nil); err == nil || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("Resolve(%s) = %v, want an error without the token", bad, err)
		}
	}
}

func TestClient_RequestsUnderThePathPrefix(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/rescoord/snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(tinySnapshot))
	})
	base := serveTCP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	for _, target := range []string{base + "/debug/rescoord/", base + "/debug/rescoord"} {
		if _, err := client(t, target, Options{}).Snapshot(context.Background()); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
	if len(paths) != 2 || paths[0] != "/debug/rescoord/snapshot" || paths[1] != "/debug/rescoord/snapshot" {
		t.Errorf("requested %v", paths)
	}
}

func TestBearerToken_SchemeIsCaseInsensitive(t *testing.T) {
	for h, want := range map[string]string{"Bearer t0k": "t0k", "bearer t0k": "t0k", "BEARER t0k": "t0k", "Basic t0k": "", "Bearer": "", "Bearert0k": ""} {
		got, ok := BearerToken(h)
		if got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v; want %q", h, got, ok, want)
		}
	}
}

func TestSnapshot_BodyBoundedByMaxBytes(t *testing.T) {
	big := []byte(tinySnapshot[:len(tinySnapshot)-1] + `,"x":"` + strings.Repeat("a", 4<<20) + `"}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(big)
	zw.Close()
	tests := map[string]http.HandlerFunc{
		"content length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(big)
		},
		"gzip": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes()) // small on the wire, 4 MiB decoded
		},
		"gzip inside the body": func(w http.ResponseWriter, r *http.Request) {
			// A gzip file served as is: the decoder decompresses it, and
			// the decompressed bytes are what the limit bounds.
			w.Header().Set("Content-Type", "application/json")
			w.Write(gz.Bytes())
		},
		"chunked": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for i := 0; i < len(big); i += 64 << 10 {
				w.Write(big[i:min(i+64<<10, len(big))])
				http.NewResponseController(w).Flush()
			}
		},
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := client(t, serveTCP(t, h), Options{MaxBytes: 1 << 20}).Snapshot(context.Background())
			if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1048576 bytes (1 MiB): --max-input raises it") {
				t.Errorf("error %v, want the limit named", err)
			}
		})
	}
	// Exactly at the limit is fine.
	ok := serveTCP(t, tests["content length"])
	if _, err := client(t, ok, Options{MaxBytes: int64(len(big))}).Snapshot(context.Background()); err != nil && strings.Contains(err.Error(), "limit") {
		t.Errorf("a body of exactly MaxBytes was refused: %v", err)
	}
	if c := client(t, ok, Options{}); c.opts.MaxBytes != DefaultMaxBytes || DefaultMaxBytes != 1<<30 {
		t.Errorf("default MaxBytes %d, want 1 GiB", c.opts.MaxBytes)
	}
}

func TestCleanup_TimeoutWhileConnectingAndBetweenEvents(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		req     CleanupRequest
		want    string
		steps   int
	}{
		{name: "never answers", handler: stall,
			want: "sent nothing for 50ms during the cleanup (--timeout 50ms beyond the longest step's 0s)"},
		{name: "stalls mid-stream", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Write([]byte(`{"step":{"order":1,"kind":"resource","id":"r-1","status":"done"}}` + "\n"))
			http.NewResponseController(w).Flush()
			stall(w, r)
		}, steps: 1, want: "sent nothing for 50ms during the cleanup"},
		{name: "stalls mid-line", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Write([]byte(`{"step":{"order":1,`))
			http.NewResponseController(w).Flush()
			stall(w, r)
		}, want: "sent nothing for 50ms during the cleanup"},
		{name: "drips forever", req: CleanupRequest{LongestStep: time.Minute, WorstCase: 100 * time.Millisecond}, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				w.Write([]byte(`{"step":{"order":1,"kind":"resource","id":"r-1","status":"done"}}` + "\n"))
				http.NewResponseController(w).Flush()
				select {
				case <-tick.C:
				case <-r.Context().Done():
					return
				case <-release:
					return
				}
			}
		}, want: "did not finish within 150ms (--timeout 50ms beyond the plan's worst case 100ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t, serveTCP(t, tt.handler), Options{Timeout: 50 * time.Millisecond})
			tt.req.Component = "tab"
			var err error
			steps := 0
			within(t, "cleanup", func() {
				_, err = c.RunCleanup(context.Background(), tt.req, func(StepResult) { steps++ })
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if tt.steps > 0 && steps != tt.steps {
				t.Errorf("%d steps reported, want %d", steps, tt.steps)
			}
		})
	}
}

func TestCleanup_IdleBoundLeavesRoomForTheLongestStep(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := client(t, serveTCP(t, http.HandlerFunc(h)), Options{Timeout: 20 * time.Millisecond})
	var err error
	within(t, "cleanup", func() {
		_, err = c.RunCleanup(context.Background(), CleanupRequest{Component: "tab", LongestStep: 30 * time.Millisecond}, nil)
	})
	if want := "sent nothing for 50ms during the cleanup (--timeout 20ms beyond the longest step's 30ms)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestClient_TokenNeverInAnError(t *testing.T) {
	const token = "S3CRET-t0k3n"
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"error":"you sent ` + r.Header.Get("Authorization") + `"}`))
		}
	}
	handlers := map[string]http.HandlerFunc{
		"500 echo": echo(http.StatusInternalServerError),
		"401":      echo(http.StatusUnauthorized),
		"404 echo": echo(http.StatusNotFound),
		"content type echo": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/"+r.Header.Get("Authorization"))
		},
		"step error echo": func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Write([]byte(`{"step":{"order":1,"status":"failed","error":"` + r.Header.Get("Authorization") + `"}}` + "\n" + `{"summary":{"error":"` + token + `"}}` + "\n"))
				return
			}
			echo(400)(w, r)
		},
		"timeout": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := ln.Addr().String()
	ln.Close()
	targets := map[string]string{"refused": "http://u:" + token + "@" + refused}
	for name, h := range handlers {
		base := serveTCP(t, h)
		targets[name] = strings.Replace(base, "http://", "http://u:"+token+"@", 1) + "/p"
	}
	for name, target := range targets {
		c := client(t, target, Options{Timeout: 100 * time.Millisecond})
		var texts []string
		if _, err := c.Snapshot(context.Background()); err != nil {
			texts = append(texts, err.Error())
		}
		sum, err := c.Cleanup(context.Background(), "tab", func(s StepResult) { texts = append(texts, s.Error) })
		if err != nil {
			texts = append(texts, err.Error())
		} else {
			texts = append(texts, sum.Error)
		}
		texts = append(texts, c.Target().Name)
		for _, s := range texts {
			if strings.Contains(s, token) {
				t.Errorf("%s: the token shows in %q", name, s)
			}
		}
	}
}

func TestClient_SendsTheURLToken(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) {
		if got, ok := BearerToken(r.Header.Get("Authorization")); !ok || got != "t0k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(tinySnapshot))
	}
	base := serveTCP(t, http.HandlerFunc(h))
	if _, err := client(t, strings.Replace(base, "http://", "http://:t0k@", 1), Options{}).Snapshot(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := client(t, strings.Replace(base, "http://", "http://:wrong@", 1), Options{Token: "t0k"}).Snapshot(context.Background()); err != nil {
		t.Errorf("--token does not take precedence over the URL's: %v", err)
	}
}

func TestResolve_RefusesUntrustedDiscoveryEntries(t *testing.T) {
	listed := []discovery.Listed{
		{Entry: discovery.Entry{PID: 10, Process: "a", Address: "unix:///x.sock"}, Path: "/d/10.json", Refused: "it is a symbolic link"},
		{Entry: discovery.Entry{PID: 11, Process: "b", Address: "http://10.0.0.1:80"}, Path: "/d/11.json"},
		{Entry: discovery.Entry{PID: 12, Process: "c", Address: "unix:///c.sock"}, Path: "/d/12.json"},
	}
	list := func() ([]discovery.Listed, error) { return listed, nil }
	for target, want := range map[string]string{
		"a":      "refusing discovery file /d/10.json: it is a symbolic link",
		"pid:10": "refusing discovery file /d/10.json: it is a symbolic link",
		"b":      `refusing discovery file /d/11.json: its address "http://10.0.0.1:80" is not on this machine`,
	} {
		if _, err := Resolve(target, list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%s) = %v, want %q", target, err, want)
		}
	}
	if tg, err := Resolve("c", list); err != nil || tg.Addr != "/c.sock" || tg.Discovery != "/d/12.json" {
		t.Errorf("Resolve(c) = %+v, %v", tg, err)
	}
}

func TestClient_OwnSocketIsTrusted(t *testing.T) {
	dir, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(tinySnapshot))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if _, err := client(t, "unix://"+path, Options{}).Snapshot(context.Background()); err != nil {
		t.Error(err)
	}
}
