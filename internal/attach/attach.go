// Package attach is the client side of attaching to a live process that
// serves its registry: it resolves a target (unix:///path.sock,
// http://127.0.0.1:6060, pid:1234 or a process name from the discovery
// directory), fetches snapshots and drives a real cleanup, turning every
// failure into one clear line.
package attach

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Endpoint paths served by a registry.
const (
	PathSnapshot = "/snapshot"
	PathStats    = "/stats"
	PathMetrics  = "/metrics"
	PathCleanup  = "/cleanup"
)

// StepResult is one executed cleanup step, streamed by POST /cleanup as a
// line of JSON {"step": {...}}.
type StepResult struct {
	Order     int    `json:"order"`
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Component string `json:"component"`
	// Status is done, failed, timed_out, or skipped (the budget ran out first).
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	ElapsedMS int64  `json:"elapsed_ms"`
}

// Step statuses.
const (
	StatusDone     = "done"
	StatusFailed   = "failed"
	StatusTimedOut = "timed_out"
	StatusSkipped  = "skipped"
)

// CleanupSummary ends the stream of POST /cleanup as {"summary": {...}}.
type CleanupSummary struct {
	Steps     int    `json:"steps"`
	Done      int    `json:"done"`
	Failed    int    `json:"failed"`
	TimedOut  int    `json:"timed_out"`
	ElapsedMS int64  `json:"elapsed_ms"`
	Error     string `json:"error,omitempty"`
}

// CleanupEvent is one line of the POST /cleanup stream: a step or the summary.
type CleanupEvent struct {
	Step    *StepResult     `json:"step,omitempty"`
	Summary *CleanupSummary `json:"summary,omitempty"`
}

// Target is a resolved attach target.
type Target struct {
	// Name is how the user named it, for messages.
	Name string
	// Network is "unix" or "tcp".
	Network string
	// Addr is the socket path or host:port.
	Addr string
	// PID is the process id when known from discovery.
	PID int
}

// Resolve turns what the user typed into a target. pid:N and process names
// are looked up with list (the discovery directory).
func Resolve(target string, list func() ([]discovery.Listed, error)) (Target, error) {
	switch {
	case strings.HasPrefix(target, "unix://"):
		path := strings.TrimPrefix(target, "unix://")
		if path == "" {
			return Target{}, fmt.Errorf("invalid attach target %q: want unix:///path/to.sock", target)
		}
		return Target{Name: target, Network: "unix", Addr: path}, nil
	case strings.HasPrefix(target, "http://"):
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return Target{}, fmt.Errorf("invalid attach target %q: want http://host:port", target)
		}
		return Target{Name: target, Network: "tcp", Addr: u.Host}, nil
	case strings.HasPrefix(target, "https://"):
		return Target{}, fmt.Errorf("invalid attach target %q: registries serve plain HTTP on loopback or a unix socket; use http:// or unix://", target)
	case target == "":
		return Target{}, errors.New("empty attach target")
	}
	listed, err := list()
	if err != nil {
		return Target{}, fmt.Errorf("reading the discovery directory: %w", err)
	}
	found := discovery.Find(listed, target)
	switch len(found) {
	case 0:
		return Target{}, fmt.Errorf("no attachable process %s (rescoord ps lists them)", describe(target))
	case 1:
		t, err := Resolve(found[0].Address, nil)
		if err != nil {
			return Target{}, fmt.Errorf("process %d has a bad discovery entry: %w", found[0].PID, err)
		}
		t.Name, t.PID = target, found[0].PID
		return t, nil
	}
	pids := make([]string, len(found))
	for i, f := range found {
		pids[i] = fmt.Sprintf("pid:%d", f.PID)
	}
	return Target{}, fmt.Errorf("%d processes are named %s: choose one of %s", len(found), target, strings.Join(pids, ", "))
}

func describe(target string) string {
	if strings.HasPrefix(target, "pid:") {
		return "with " + target
	}
	return "named " + target
}

// Options configure a Client.
type Options struct {
	// Timeout bounds each request; default 5 s.
	Timeout time.Duration
	// Token is sent as a bearer token when not empty.
	Token string
	// Retries is how many times a refused connection is retried; default 3.
	Retries int
	// Sleep waits between retries (backoff 100 ms, 200 ms, 400 ms, …);
	// tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one target.
type Client struct {
	target Target
	opts   Options
	http   *http.Client
}

// NewClient returns a client for t.
func NewClient(t Target, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 3
	}
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) error {
			tm := time.NewTimer(d)
			defer tm.Stop()
			select {
			case <-tm.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, t.Network, t.Addr)
		},
		MaxIdleConns:    1,
		IdleConnTimeout: 30 * time.Second,
		// Compressing for a local socket costs more than it saves; over
		// TCP the client asks for gzip.
		DisableCompression: t.Network == "unix",
	}
	return &Client{target: t, opts: opts, http: &http.Client{Transport: tr}}
}

func (c *Client) url(path string) string {
	if c.target.Network == "unix" {
		return "http://unix" + path
	}
	return "http://" + c.target.Addr + path
}

// do sends a request, retrying refused connections with backoff.
func (c *Client) do(ctx context.Context, method, path string) (*http.Response, error) {
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.url(path), nil)
		if err != nil {
			return nil, err
		}
		if c.opts.Token != "" {
			req.Header.Set("Authorization", "Bearer "+c.opts.Token)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			return resp, nil
		}
		if !refused(err) || attempt >= c.opts.Retries {
			return nil, c.explain(ctx, err)
		}
		if err := c.opts.Sleep(ctx, backoff); err != nil {
			return nil, c.explain(ctx, err)
		}
		backoff *= 2
	}
}

func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNRESET)
}

// explain turns a transport error into one readable line.
func (c *Client) explain(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded || errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s did not answer within %s", c.target.Name, c.opts.Timeout)
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("cannot connect to %s: no such socket (is the process still running? rescoord ps lists attachable processes)", c.target.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot connect to %s: connection refused (is the process still running? rescoord ps lists attachable processes)", c.target.Name)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%s closed the connection before answering completely", c.target.Name)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("request to %s canceled", c.target.Name)
	}
	return fmt.Errorf("cannot reach %s: %v", c.target.Name, err)
}

// checkStatus turns a non-200 answer into an error.
func (c *Client) checkStatus(resp *http.Response, path string) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(body))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.opts.Token == "" {
			return fmt.Errorf("%s requires a token: pass --token or set RESCOORD_TOKEN", c.target.Name)
		}
		return fmt.Errorf("%s rejected the token (401 Unauthorized)", c.target.Name)
	case http.StatusNotFound:
		if path == PathCleanup {
			return fmt.Errorf("%s: %s", c.target.Name, firstNonEmpty(msg, "404 Not Found"))
		}
		return fmt.Errorf("%s answered 404 for %s: is it a rescoord endpoint?", c.target.Name, path)
	}
	if msg == "" {
		msg = resp.Status
	}
	return fmt.Errorf("%s answered %s: %s", c.target.Name, resp.Status, msg)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Snapshot fetches and decodes the process's snapshot.
func (c *Client) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, PathSnapshot)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := c.checkStatus(resp, PathSnapshot); err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("%s did not answer with a snapshot (content type %q)", c.target.Name, ct)
	}
	s, err := snapshot.Decode(resp.Body, "")
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, c.explain(ctx, err)
		}
		var list *snapshot.Errors
		if errors.As(err, &list) {
			return nil, fmt.Errorf("%s did not answer with a valid snapshot: %s", c.target.Name, list.List[0])
		}
		return nil, c.explain(ctx, err)
	}
	return s, nil
}

// Cleanup asks the process to clean up component's subtree and calls step
// with each step result as it arrives. The timeout bounds the wait for the
// first answer only: a cleanup may take longer than a snapshot.
func (c *Client) Cleanup(ctx context.Context, component string, step func(StepResult)) (*CleanupSummary, error) {
	path := PathCleanup + "?component=" + url.QueryEscape(component)
	resp, err := c.do(ctx, http.MethodPost, path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := c.checkStatus(resp, PathCleanup); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev CleanupEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("%s sent a bad cleanup event: %v", c.target.Name, err)
		}
		switch {
		case ev.Step != nil:
			if step != nil {
				step(*ev.Step)
			}
		case ev.Summary != nil:
			return ev.Summary, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, c.explain(ctx, err)
	}
	return nil, fmt.Errorf("%s closed the connection before the cleanup finished", c.target.Name)
}
