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
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
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

// ClientHeader is the header rescoord's client sends with every request
// (value "rescoord"). Over TCP the server requires it on POST /cleanup: a
// web page cannot send it across origins without a CORS preflight, which
// the server never answers (docs/attach.md, "Security model").
const ClientHeader = "X-Rescoord-Client"

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
	// Waiting, for a step given up on at its timeout, are the first steps
	// that waited on it and run without it; WaitingTotal counts them all.
	Waiting      []StepRef `json:"waiting,omitempty"`
	WaitingTotal int       `json:"waiting_total,omitempty"`
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
	Skipped   int    `json:"skipped"`
	ElapsedMS int64  `json:"elapsed_ms"`
	Error     string `json:"error,omitempty"`
	// SkippedBecause says why steps were skipped: the budget, the step it
	// ran out during, and the steps that had used up their timeouts.
	SkippedBecause string `json:"skipped_because,omitempty"`
}

// StepRef names a plan step.
type StepRef struct {
	Order     int    `json:"order"`
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Component string `json:"component"`
}

// RunningStep is the step a cleanup is running, with how long it has run
// and the steps that wait on it.
type RunningStep struct {
	StepRef
	ElapsedMS int64 `json:"elapsed_ms"`
	TimeoutMS int64 `json:"timeout_ms"`
	// Waiting are the first steps that wait on this one (at most 10, in
	// plan order); WaitingTotal counts them all.
	Waiting      []StepRef `json:"waiting"`
	WaitingTotal int       `json:"waiting_total"`
}

// CleanupProgress is where a running cleanup stands. POST /cleanup sends
// it as {"progress": {...}} at least once a second while the cleanup runs;
// GET /stats lists those in progress as "cleanups_in_progress".
type CleanupProgress struct {
	// Component is the root of the subtree being cleaned ("" for the
	// whole registry).
	Component string       `json:"component,omitempty"`
	Steps     int          `json:"steps"`
	Done      int          `json:"done"`
	ElapsedMS int64        `json:"elapsed_ms"`
	Running   *RunningStep `json:"running,omitempty"`
}

// CleanupReport is what the last finished cleanup left undone, served by
// GET /stats as "last_cleanup".
type CleanupReport struct {
	Component string `json:"component,omitempty"`
	Steps     int    `json:"steps"`
	Done      int    `json:"done"`
	ElapsedMS int64  `json:"elapsed_ms"`
	// Unfinished are the first steps that failed, timed out or were
	// skipped (at most 50), with why; UnfinishedTotal counts them all.
	Unfinished      []StepResult `json:"unfinished"`
	UnfinishedTotal int          `json:"unfinished_total"`
}

// CleanupEvent is one line of the POST /cleanup stream: a step, a progress
// report, or the summary. A client ignores lines of any other kind.
type CleanupEvent struct {
	Step     *StepResult      `json:"step,omitempty"`
	Progress *CleanupProgress `json:"progress,omitempty"`
	Summary  *CleanupSummary  `json:"summary,omitempty"`
}

// CleanupState is the cleanup part of GET /stats.
type CleanupState struct {
	InProgress []CleanupProgress `json:"cleanups_in_progress,omitempty"`
	Last       *CleanupReport    `json:"last_cleanup,omitempty"`
}

// Target is a resolved attach target.
type Target struct {
	// Name is how the user named it, for messages, with any token removed.
	Name string
	// Network is "unix" or "tcp".
	Network string
	// Addr is the socket path or host:port.
	Addr string
	// Prefix is the URL path under which the endpoints are mounted
	// (http://127.0.0.1:6060/debug/rescoord/ → "/debug/rescoord"), escaped.
	Prefix string
	// Token is the one written in the URL (http://:TOKEN@host), if any.
	Token string
	// PID is the process id when known from discovery.
	PID int
	// Discovery is the discovery file the target was found in, if any.
	Discovery string
}

// Redact returns an attach target with any user information (user:TOKEN@)
// removed: what every message shows.
func Redact(target string) string { return discovery.Redact(target) }

// Resolve turns what the user typed into a target. pid:N and process names
// are looked up with list (the discovery directory); an entry found there
// must be trusted (see discovery.List) and name a unix socket or a loopback
// address.
func Resolve(target string, list func() ([]discovery.Listed, error)) (Target, error) {
	name := Redact(target)
	switch {
	case strings.HasPrefix(target, "unix://"):
		path := strings.TrimPrefix(target, "unix://")
		if path == "" {
			return Target{}, fmt.Errorf("invalid attach target %q: want unix:///path/to.sock", name)
		}
		return Target{Name: name, Network: "unix", Addr: path}, nil
	case strings.HasPrefix(target, "http://"):
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return Target{}, fmt.Errorf("invalid attach target %q: want http://host:port", name)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return Target{}, fmt.Errorf("invalid attach target %q: want http://host:port[/path], without a query", name)
		}
		t := Target{Name: name, Network: "tcp", Addr: u.Host, Prefix: strings.TrimRight(u.EscapedPath(), "/")}
		if u.User != nil {
			t.Token = u.User.Username()
			if p, ok := u.User.Password(); ok {
				t.Token = p
			}
		}
		return t, nil
	case strings.HasPrefix(target, "https://"):
		return Target{}, fmt.Errorf("invalid attach target %q: registries serve plain HTTP on loopback or a unix socket; use http:// or unix://", name)
	case target == "":
		return Target{}, errors.New("empty attach target")
	}
	listed, err := list()
	if err != nil {
		var re *discovery.RefusedError
		if errors.As(err, &re) {
			return Target{}, err
		}
		return Target{}, fmt.Errorf("reading the discovery directory: %w", err)
	}
	found := discovery.Find(listed, target)
	// A refused entry that may be the one asked for ends the lookup: the
	// one that names it first, else one whose name could not be read.
	var refused *discovery.Listed
	for i, f := range found {
		if f.Refused != "" && (refused == nil || refused.Process == "" && f.Process != "") {
			refused = &found[i]
		}
	}
	if refused != nil {
		return Target{}, &discovery.RefusedError{What: "discovery file", Path: refused.Path, Reason: refused.Refused}
	}
	switch len(found) {
	case 0:
		return Target{}, fmt.Errorf("no attachable process %s (rescoord ps lists them)", describe(target))
	case 1:
		f := found[0]
		if err := discovery.CheckAddress(f.Address); err != nil {
			return Target{}, &discovery.RefusedError{What: "discovery file", Path: f.Path, Reason: err.Error()}
		}
		t, err := Resolve(f.Address, nil)
		if err != nil {
			return Target{}, fmt.Errorf("process %d has a bad discovery entry: %w", f.PID, err)
		}
		t.Name, t.PID, t.Discovery = target, f.PID, f.Path
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
	// MaxBytes bounds the snapshot body, after decompression; default
	// DefaultMaxBytes.
	MaxBytes int64
	// AllowUIDs are the uids, besides the caller's own, whose unix sockets
	// the client talks to. A socket served by any other uid is refused
	// before anything is sent (SO_PEERCRED).
	AllowUIDs []int
}

// DefaultMaxBytes is the default bound of a snapshot body: 1 GiB.
const DefaultMaxBytes int64 = 1 << 30

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
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Token == "" {
		opts.Token = t.Token
	}
	d := net.Dialer{Timeout: opts.Timeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, t.Network, t.Addr)
			if err != nil || t.Network != "unix" {
				return conn, err
			}
			if err := checkPeer(conn, t, opts.AllowUIDs); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
		MaxIdleConns:    1,
		IdleConnTimeout: 30 * time.Second,
		// Compressing for a local socket costs more than it saves; over
		// TCP the client asks for gzip.
		DisableCompression: t.Network == "unix",
	}
	return &Client{target: t, opts: opts, http: &http.Client{Transport: tr}}
}

// Close closes the connections the client keeps open between requests:
// a program that is done with the target, but goes on, does not hold one
// of the few connections its server accepts at a time.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Target is the target the client talks to.
func (c *Client) Target() Target { return c.target }

func (c *Client) url(path string) string {
	if c.target.Network == "unix" {
		return "http://unix" + path
	}
	return "http://" + c.target.Addr + c.target.Prefix + path
}

// scrub removes the token from text that came back from the server: a
// hostile or careless server may echo it.
func (c *Client) scrub(s string) string {
	if c.opts.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.opts.Token, "[token]")
}

// do sends a request, retrying refused connections with backoff.
func (c *Client) do(ctx context.Context, method, path string) (*http.Response, error) {
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.url(path), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(ClientHeader, "rescoord")
		if c.opts.Token != "" {
			if strings.ContainsFunc(c.opts.Token, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
				return nil, errors.New("the token holds a space or a control character")
			}
			req.Header.Set("Authorization", "Bearer "+c.opts.Token)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			return resp, nil
		}
		// A reset POST may have reached the process: only a connection
		// never made is retried then, so a cleanup never runs twice.
		if !refused(err) || method != http.MethodGet && errors.Is(err, syscall.ECONNRESET) || attempt >= c.opts.Retries {
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
	var pe *PeerError
	switch {
	case errors.As(err, &pe):
		return pe
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
	return fmt.Errorf("cannot reach %s: %s", c.target.Name, c.scrub(err.Error()))
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
	msg = c.scrub(msg)
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

// getJSON sends GET path and returns the response when its status is 200
// and its content JSON; otherwise it closes the body and says what came
// back, "did not answer " + what.
func (c *Client) getJSON(ctx context.Context, path, what string) (*http.Response, error) {
	resp, err := c.do(ctx, http.MethodGet, path)
	if err != nil {
		return nil, err
	}
	if err := c.checkStatus(resp, path); err != nil {
		resp.Body.Close()
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		resp.Body.Close()
		return nil, fmt.Errorf("%s did not answer %s (content type %q)", c.target.Name, what, c.scrub(ct))
	}
	return resp, nil
}

// Snapshot fetches and decodes the process's snapshot. The whole request
// is bounded by the timeout and the body, once decompressed, by MaxBytes.
func (c *Client) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := c.getJSON(ctx, PathSnapshot, "with a snapshot")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.opts.MaxBytes {
		return nil, c.tooLarge()
	}
	body := &limitReader{r: resp.Body, n: c.opts.MaxBytes}
	s, err := snapshot.DecodeContext(ctx, body, "", snapshot.Options{MaxBytes: c.opts.MaxBytes})
	if err != nil {
		var big *snapshot.TooLargeError
		if body.over || errors.As(err, &big) {
			return nil, c.tooLarge()
		}
		if ctx.Err() != nil || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, c.explain(ctx, err)
		}
		var list *snapshot.Errors
		if errors.As(err, &list) {
			return nil, fmt.Errorf("%s did not answer with a valid snapshot: %s", c.target.Name, c.scrub(list.List[0].Error()))
		}
		return nil, c.explain(ctx, err)
	}
	return s, nil
}

// Cleanups fetches the cleanup part of the process's /stats: the cleanups
// in progress and the last one's report. A process that does not report
// them (an older server) gives an empty state.
func (c *Client) Cleanups(ctx context.Context) (*CleanupState, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := c.getJSON(ctx, PathStats, "/stats with JSON")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := min(c.opts.MaxBytes, 64<<20)
	body := &limitReader{r: resp.Body, n: limit}
	var st CleanupState
	if err := json.NewDecoder(body).Decode(&st); err != nil {
		if body.over {
			return nil, fmt.Errorf("%s sent a /stats answer over %s", c.target.Name, humanBytes(limit))
		}
		if ctx.Err() != nil {
			return nil, c.explain(ctx, err)
		}
		return nil, fmt.Errorf("%s sent a bad /stats answer: %v", c.target.Name, err)
	}
	if st.Last != nil {
		for i := range st.Last.Unfinished {
			st.Last.Unfinished[i].Error = c.scrub(st.Last.Unfinished[i].Error)
		}
	}
	return &st, nil
}

func (c *Client) tooLarge() error {
	return fmt.Errorf("%s sent a snapshot larger than the limit of %d bytes (%s): --max-input raises it", c.target.Name, c.opts.MaxBytes, humanBytes(c.opts.MaxBytes))
}

// humanBytes shows n in binary units when it is a whole number of them.
func humanBytes(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}

// errTooLarge ends a body read past its limit.
var errTooLarge = errors.New("body over the size limit")

// limitReader reads at most n bytes from r, then fails with errTooLarge
// and records that it did.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more tells a body of exactly n bytes from a longer one.
		var one [1]byte
		k, err := l.r.Read(one[:])
		if k > 0 {
			l.over = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

// CleanupRequest is a cleanup to run in the process.
type CleanupRequest struct {
	// Component is the root of the subtree to clean.
	Component string
	// LongestStep is the longest timeout among the plan's steps: the
	// process may stay silent that long while a step runs, so the idle
	// bound between two events is the client's timeout plus LongestStep.
	LongestStep time.Duration
	// WorstCase is the plan's worst case (every step's timeout in turn):
	// when positive, the whole stream must end within the timeout plus
	// WorstCase, so a process that sends events slowly forever is cut off.
	WorstCase time.Duration
	// Progress, when set, gets each progress report the process sends
	// while a step runs. Once one has come, the process is known to send
	// them at least once a second, and the idle bound between two events
	// tightens to the client's timeout plus a second.
	Progress func(CleanupProgress)
}

// Cleanup is RunCleanup of component's subtree with no step timeouts known:
// each event must come within the client's timeout of the one before.
func (c *Client) Cleanup(ctx context.Context, component string, step func(StepResult)) (*CleanupSummary, error) {
	return c.RunCleanup(ctx, CleanupRequest{Component: component}, step)
}

// RunCleanup asks the process to clean up req.Component's subtree and calls
// step with each step result as it arrives. Connecting is bounded by the
// timeout; the answer and each following event must come within the
// timeout plus req.LongestStep of the one before (a cleanup may take longer
// than a snapshot, but a process that stops answering is given up on).
func (c *Client) RunCleanup(ctx context.Context, req CleanupRequest, step func(StepResult)) (*CleanupSummary, error) {
	idle := satAdd(c.opts.Timeout, req.LongestStep)
	heartbeat := min(idle, satAdd(c.opts.Timeout, time.Second))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errIdle := fmt.Errorf("%s sent nothing for %s during the cleanup (--timeout %s beyond the longest step's %s): it may still be cleaning up; list --attach shows what is left", c.target.Name, idle, c.opts.Timeout, req.LongestStep)
	errSilent := fmt.Errorf("%s stopped sending progress during the cleanup (nothing for --timeout %s and a second): it may still be cleaning up; list --attach shows what is left", c.target.Name, c.opts.Timeout)
	var heard atomic.Bool // a progress report has come: the bound is the heartbeat's
	timer := time.AfterFunc(idle, func() {
		if heard.Load() {
			cancel(errSilent)
		} else {
			cancel(errIdle)
		}
	})
	defer timer.Stop()
	if req.WorstCase > 0 {
		total := satAdd(c.opts.Timeout, req.WorstCase)
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, total, fmt.Errorf("the cleanup in %s did not finish within %s (--timeout %s beyond the plan's worst case %s): it may still be cleaning up; list --attach shows what is left", c.target.Name, total, c.opts.Timeout, req.WorstCase))
		defer stop()
	}
	fail := func(err error) error {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(cause, context.Canceled) {
			return cause
		}
		return err
	}
	path := PathCleanup + "?component=" + url.QueryEscape(req.Component)
	resp, err := c.do(ctx, http.MethodPost, path)
	if err != nil {
		return nil, fail(err)
	}
	defer resp.Body.Close()
	timer.Reset(idle)
	if err := c.checkStatus(resp, PathCleanup); err != nil {
		return nil, fail(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		timer.Reset(idle)
		var ev CleanupEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			if err := fail(nil); err != nil {
				return nil, err // a line cut short by the timeout
			}
			return nil, fmt.Errorf("%s sent a bad cleanup event: %v", c.target.Name, err)
		}
		switch {
		case ev.Step != nil:
			ev.Step.Error = c.scrub(ev.Step.Error)
			if step != nil {
				step(*ev.Step)
			}
		case ev.Progress != nil:
			if !heard.Load() {
				heard.Store(true)
				idle = heartbeat
				timer.Reset(idle)
			}
			if req.Progress != nil {
				req.Progress(*ev.Progress)
			}
		case ev.Summary != nil:
			ev.Summary.Error = c.scrub(ev.Summary.Error)
			ev.Summary.SkippedBecause = c.scrub(ev.Summary.SkippedBecause)
			return ev.Summary, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fail(c.explain(ctx, err))
	}
	if err := fail(nil); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s closed the connection before the cleanup finished", c.target.Name)
}

// satAdd adds two durations, saturating instead of overflowing.
func satAdd(a, b time.Duration) time.Duration {
	if s := a + b; s >= a {
		return s
	}
	return time.Duration(math.MaxInt64)
}

// BearerToken returns the token of an Authorization header value
// "Bearer TOKEN", the scheme matched without regard to case (RFC 9110
// §11.1).
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(token, " "), true
}
