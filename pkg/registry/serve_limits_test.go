package registry

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveForTest listens with opts, lets wrap replace the listener, serves
// until the test ends, and returns the server.
func serveForTest(t *testing.T, r *Registry, wrap func(net.Listener) net.Listener, opts ...ServeOption) *Server {
	t.Helper()
	s, err := r.Listen(append([]ServeOption{WithoutDiscovery()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		s.ln = wrap(s.ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// waitFor waits until cond holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not timing the test
	}
}

// TestServe_IdleConnectionsDoNotHoldDescriptors: 900 clients that
// make one request each and then keep their connection idle, and a few
// that connect and say nothing, never hold more than the cap of the
// process's descriptors; the idle timeout closes them all, and every
// client is served in its turn.
func TestServe_IdleConnectionsDoNotHoldDescriptors(t *testing.T) {
	const clients, silent, maxConns = 900, 8, 8
	r := New()
	s := serveForTest(t, r, nil, WithAddress("127.0.0.1:0"), WithMaxConnections(maxConns),
		WithIdleTimeout(20*time.Millisecond), WithReadTimeout(200*time.Millisecond))
	addr := strings.TrimPrefix(s.Address(), "http://")
	deadline := time.Now().Add(30 * time.Second)
	errs := make(chan error, clients+silent)
	var wg sync.WaitGroup
	for i := range clients + silent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(deadline)
			br := bufio.NewReader(c)
			if i < clients {
				fmt.Fprintf(c, "GET /stats HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Close {
					errs <- fmt.Errorf("client %d: status %d, close %v", i, resp.StatusCode, resp.Close)
					return
				}
			}
			// Keep the connection idle: the server must close it.
			if _, err := br.ReadByte(); err != io.EOF {
				errs <- fmt.Errorf("client %d: idle connection not closed by the server: %v", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if peak := s.lim.peak.Load(); peak > maxConns {
		t.Errorf("%d connections open at once, cap %d", peak, maxConns)
	}
	waitFor(t, "the server to close every connection", func() bool { return s.lim.open.Load() == 0 })
}

// emfileListener fails its first n accepts as accept4 does when the
// process is out of file descriptors.
type emfileListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.n > 0
	l.n--
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServe_NothingOnStderr: accept errors go to the registry's logger, or
// nowhere without one — never to the standard error or the log package's
// default output.
func TestServe_NothingOnStderr(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdlog bytes.Buffer
	oldStderr, oldFlags := os.Stderr, log.Flags()
	os.Stderr = pw
	log.SetOutput(&stdlog)
	defer func() {
		os.Stderr = oldStderr
		log.SetOutput(oldStderr)
		log.SetFlags(oldFlags)
	}()

	var logged syncBuffer
	for _, r := range []*Registry{New(), New(WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))} {
		t.Run(fmt.Sprintf("logger=%v", r.log != nil), func(t *testing.T) {
			s := serveForTest(t, r, func(ln net.Listener) net.Listener { return &emfileListener{Listener: ln, n: 3} },
				WithAddress("127.0.0.1:0"))
			resp, err := http.Get(s.Address() + "/stats")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
	}
	pw.Close()
	written, _ := io.ReadAll(pr)
	if len(written) > 0 || stdlog.Len() > 0 {
		t.Errorf("written to stderr: %q; to the log package: %q", written, stdlog.String())
	}
	if got := logged.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "too many open files") {
		t.Errorf("registry logger got %q, want the accept errors at WARN", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServe_WriteTimeoutDoesNotCutAStream: a cleanup whose steps each
// take longer than the write timeout streams to its summary, because each
// write renews the deadline.
func TestServe_WriteTimeoutDoesNotCutAStream(t *testing.T) {
	const wt = 50 * time.Millisecond
	r := New()
	if err := r.RegisterComponent("tab"); err != nil {
		t.Fatal(err)
	}
	const steps = 3
	for i := range steps {
		// A slow cleanup: the time it takes is what this test is about.
		slow := func(context.Context) error { <-time.After(2 * wt); return nil }
		if _, err := r.Track("tab", nil, WithName(fmt.Sprint("slow", i)), WithCleanup(slow)); err != nil {
			t.Fatal(err)
		}
	}
	s := serveForTest(t, r, nil, WithAddress("127.0.0.1:0"), WithToken("t"), WithCleanupEndpoint(), WithWriteTimeout(wt))
	req, _ := http.NewRequest(http.MethodPost, s.Address()+"/cleanup?component=tab", nil)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set(ClientHeader, "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the stream was cut: %v after %q", err, body)
	}
	if n := bytes.Count(body, []byte(`"kind":"resource"`)); n != steps || !bytes.Contains(body, []byte(`"summary":{"steps":4,"done":4`)) {
		t.Errorf("stream: %s", body)
	}
}

// A limit given as zero or less keeps its default; one above zero is taken.
func TestServeOptions_ZeroKeepsTheDefault(t *testing.T) {
	c := newServeConfig([]ServeOption{WithReadTimeout(0), WithWriteTimeout(-time.Second), WithIdleTimeout(0), WithMaxConnections(-1)})
	if c.readTimeout != DefaultReadTimeout || c.writeTimeout != DefaultWriteTimeout || c.idleTimeout != DefaultIdleTimeout || c.maxConns != DefaultMaxConnections {
		t.Errorf("zero or negative options changed the defaults: %+v", c)
	}
	c = newServeConfig([]ServeOption{WithReadTimeout(time.Second), WithWriteTimeout(2 * time.Second), WithIdleTimeout(3 * time.Second), WithMaxConnections(4)})
	if c.readTimeout != time.Second || c.writeTimeout != 2*time.Second || c.idleTimeout != 3*time.Second || c.maxConns != 4 {
		t.Errorf("options not taken: %+v", c)
	}
	r := New(WithSweepInterval(0))
	if r.sweepEvery <= 0 {
		t.Errorf("WithSweepInterval(0): sweep every %v", r.sweepEvery)
	}
}
