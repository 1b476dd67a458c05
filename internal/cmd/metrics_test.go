package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/registry"
)

// lineWriter collects what a command writes from another goroutine and
// hands over the first match of re as soon as it is written.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
	sent  bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.re.FindString(w.buf.String()); m != "" && !w.sent {
		w.sent = true
		w.found <- m
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// exporter runs `rescoord metrics` in-process until the test ends, and
// returns the URL of its /metrics, its stderr and stop, which cancels
// its context (Ctrl-C) and returns its exit code.
func exporter(t *testing.T, args ...string) (string, *lineWriter, func() int) {
	t.Helper()
	out := &lineWriter{re: regexp.MustCompile(`http://[^ ]+/metrics`), found: make(chan string, 1)}
	errOut := &lineWriter{re: regexp.MustCompile(`$^`), found: make(chan string, 1)}
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Demo:   demoJSON(t),
		Getenv: func(string) string { return "" },
		Now:    time.Now,
	}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- RunContext(ctx, f, append([]string{"metrics", "--listen", "127.0.0.1:0"}, args...)) }()
	var url string
	select {
	case url = <-out.found:
	case c := <-code:
		cancel()
		t.Fatalf("rescoord metrics ended with %d before serving:\n%s%s", c, out, errOut)
	}
	t.Cleanup(cancel)
	return url, errOut, func() int { cancel(); return <-code }
}

func get(t *testing.T, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A Go registry, a snapshot as the Python registry serves it and the test
// process itself (proc:PID) are each scraped anew, with the metrics of
// pkg/registry/metrics; Ctrl-C (the context) stops the exporter with 0.
func TestMetrics_Command(t *testing.T) {
	reg := registry.New()
	if err := reg.RegisterComponent("tab-1", registry.WithName("MediaTab"), registry.WithType("tab")); err != nil {
		t.Fatal(err)
	}
	goTarget := serve(t, "tcp", reg.Handler())
	pyTarget := serve(t, "unix", &fakeProcess{t: t, body: demoJSON(t)})
	targets := map[string][]string{
		"go registry":     {goTarget, `rescoord_leak_findings{rule="orphaned-resource",severity="error"} 0`},
		"python snapshot": {pyTarget, `rescoord_live_resources{component_name="MediaAnalysisTab",component_type="tab",type="worker"} 1`},
	}
	if runtime.GOOS == "linux" {
		targets["proc"] = []string{fmt.Sprintf("proc:%d", os.Getpid()), `rescoord_leak_findings{rule="running-orphan",severity="critical"} 0`}
	}
	for name, tc := range targets {
		t.Run(name, func(t *testing.T) {
			url, _, stop := exporter(t, "--attach", tc[0])
			status, body := get(t, url, nil)
			if status != 200 || !strings.Contains(body, tc[1]) {
				t.Fatalf("%s: %d, want 200 with %s:\n%s", url, status, tc[1], body)
			}
			if strings.Contains(body, "tab-1") {
				t.Errorf("a component id is a label:\n%s", body)
			}
			if name == "go registry" {
				// Each scrape fetches anew: a resource tracked since shows.
				if _, err := reg.Track("tab-1", make([]byte, 0), registry.WithSize(10)); err != nil {
					t.Fatal(err)
				}
				_, body = get(t, url, nil)
				if want := `rescoord_live_bytes{component_name="MediaTab",component_type="tab",type="memory"} 10`; !strings.Contains(body, want) {
					t.Errorf("second scrape has no %s:\n%s", want, body)
				}
			}
			if c := stop(); c != ExitOK {
				t.Errorf("stopped with exit %d, want 0", c)
			}
			if _, err := http.Get(url); err == nil {
				t.Errorf("%s still serves after the stop", url)
			}
		})
	}
}

// A target that stops answering: the scrape is 503 with the error,
// within --timeout, and the exporter keeps serving.
func TestMetrics_CommandTargetDown(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	hung := serve(t, "tcp", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}})
	url, errOut, _ := exporter(t, "--attach", hung, "--timeout", "200ms")
	status, body := get(t, url, nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "fetching the snapshot") {
		t.Errorf("hung target: %d %s, want 503", status, body)
	}
	if !strings.Contains(errOut.String(), "rescoord metrics: ") {
		t.Errorf("the failure is not reported on stderr: %q", errOut)
	}
	if status, _ := get(t, strings.TrimSuffix(url, "/metrics")+"/other", nil); status != http.StatusNotFound {
		t.Errorf("/other: %d, want 404", status)
	}
}

// Requests from web pages and for foreign hosts are refused, as a
// registry's server refuses them (docs/attach.md, "Security model").
func TestMetrics_CommandRefusesWebPages(t *testing.T) {
	url, _, _ := exporter(t, "--attach", serve(t, "tcp", registry.New().Handler()))
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"plain", nil, 200},
		{"localhost", map[string]string{"Host": "localhost:9464"}, 200},
		{"Origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"Origin null", map[string]string{"Origin": "null"}, 403},
		{"Sec-Fetch-Site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"typed URL", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"DNS rebinding", map[string]string{"Host": "evil.example:9464"}, 421},
	} {
		if got, body := get(t, url, tc.header); got != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, got, tc.want, body)
		}
	}
}

// Only loopback addresses, unless --public; a target is required.
func TestMetrics_CommandErrors(t *testing.T) {
	oneLine(t, runCLI(t, "metrics", "--listen", "127.0.0.1:0"), "rescoord: metrics needs --attach TARGET (rescoord ps lists attachable processes)")
	oneLine(t, runCLI(t, "metrics", "--attach", "proc:1", "--listen", "0.0.0.0:9464"),
		`rescoord: refusing to serve metrics on "0.0.0.0:9464": not a loopback address (use 127.0.0.1, or --public)`)
	oneLine(t, runCLI(t, "metrics", "--attach", "proc:1", "--listen", "9464"),
		`rescoord: invalid --listen "9464": want host:port, such as 127.0.0.1:9464`)
	for _, addr := range []string{"127.0.0.1:9464", "[::1]:9464", "localhost:9464"} {
		if err := listenAllowed(addr, false); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := listenAllowed("192.0.2.1:9464", true); err != nil {
		t.Errorf("--public: %v", err)
	}
}
