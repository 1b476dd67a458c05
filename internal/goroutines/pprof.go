package goroutines

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// FromProfile lists the goroutines of a goroutine (or goroutineleak)
// profile: a sample of count N is N goroutines with its stack and labels.
// At most max goroutines are listed (more is an error).
func FromProfile(p *profile.Profile, max int) ([]Goroutine, error) {
	var out []Goroutine
	frames := map[uint64][]Frame{}
	for _, s := range p.Sample {
		if len(s.Value) == 0 || s.Value[0] <= 0 {
			continue
		}
		n := s.Value[0]
		if n > int64(max-len(out)) {
			return nil, fmt.Errorf("the profile lists more than %d goroutines", max)
		}
		var stack []Frame
		elided := 0
		for _, loc := range s.Location {
			fs, ok := frames[loc.ID]
			if !ok {
				// A location's lines are innermost first: inlined calls, then
				// the function they were inlined into.
				for _, l := range loc.Line {
					if l.Function == nil || l.Function.Name == "runtime.goexit" {
						continue
					}
					fs = append(fs, Frame{Func: l.Function.Name, File: l.Function.Filename, Line: int(l.Line)})
				}
				frames[loc.ID] = fs
			}
			for _, f := range fs {
				if len(stack) == MaxFrames {
					elided++
					continue
				}
				stack = append(stack, f)
			}
		}
		var labels map[string]string
		if len(s.Label) > 0 {
			labels = make(map[string]string, len(s.Label))
			for k, v := range s.Label {
				if len(v) > 0 {
					labels[k] = v[0]
				}
			}
		}
		for range n {
			out = append(out, Goroutine{State: "unknown", Frames: stack, Elided: elided, Labels: labels})
		}
	}
	return out, nil
}

// stackKey identifies a goroutine's stack and labels, to match the
// goroutines of two profiles.
func stackKey(g *Goroutine) string {
	var b strings.Builder
	for _, f := range g.Frames {
		b.WriteString(f.String())
		b.WriteByte(0)
	}
	keys := make([]string, 0, len(g.Labels))
	for k := range g.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(k + "=" + g.Labels[k])
		b.WriteByte(1)
	}
	return b.String()
}

// MarkLeaked marks, in all, the goroutines the goroutineleak profile
// lists; a leaked goroutine not in all (it leaked between the two reads)
// is added.
func MarkLeaked(all, leaked []Goroutine) []Goroutine {
	want := map[string]int{}
	for i := range leaked {
		want[stackKey(&leaked[i])]++
	}
	for i := range all {
		k := stackKey(&all[i])
		if want[k] > 0 {
			want[k]--
			all[i].Leaked = true
		}
	}
	for i := range leaked {
		k := stackKey(&leaked[i])
		if want[k] > 0 {
			want[k]--
			g := leaked[i]
			g.Leaked = true
			all = append(all, g)
		}
	}
	return all
}

// DefaultLabel is the label goroutines are grouped by when none is asked
// for: the first label key, in sorted order, any goroutine carries; ""
// when none carries one.
func DefaultLabel(gs []Goroutine) string {
	best := ""
	for i := range gs {
		for k := range gs[i].Labels {
			if best == "" || k < best {
				best = k
			}
		}
	}
	return best
}

// FetchOptions bound a read of net/http/pprof.
type FetchOptions struct {
	// Timeout bounds each request; default 5s.
	Timeout time.Duration
	// MaxBytes bounds each response, decompressed.
	MaxBytes int64
	// MaxGoroutines bounds the goroutines listed; default 10,000,000.
	MaxGoroutines int
	// Label groups goroutines by this label (BuildOptions.Label); ""
	// means DefaultLabel.
	Label string
	// Now is the clock of taken_at; default time.Now.
	Now func() time.Time
	// Client is the HTTP client; default one with Timeout.
	Client *http.Client
}

// ParseTarget reads the base URL of a pprof:URL attach target: the
// program's /debug/pprof/ (a URL without a path gets /debug/pprof/).
func ParseTarget(target string) (*url.URL, error) {
	raw, ok := strings.CutPrefix(target, "pprof:")
	if !ok {
		return nil, fmt.Errorf("invalid attach target %q: want pprof:http://HOST:PORT/debug/pprof/", target)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid attach target %q: want pprof:http://HOST:PORT/debug/pprof/", redact(target))
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid attach target %q: credentials in the URL are not supported", redact(target))
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/debug/pprof/"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

func redact(target string) string {
	if i := strings.Index(target, "@"); i >= 0 {
		if j := strings.Index(target, "//"); j >= 0 && j < i {
			return target[:j+2] + "…" + target[i:]
		}
	}
	return target
}

// NotServedError is a profile the program does not serve (404).
type NotServedError struct{ Profile string }

func (e *NotServedError) Error() string { return e.Profile + " profile not served" }

// Fetch reads the goroutine profile of the program at base (its
// /debug/pprof/), and its goroutineleak profile when it serves one (Go
// built with GOEXPERIMENT=goroutineleakprofile; 404 otherwise), and
// builds the snapshot: the goroutines the leak profile lists are marked
// leaked (LeakedField).
func Fetch(ctx context.Context, base *url.URL, opts FetchOptions) (*snapshot.Snapshot, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = snapshot.DefaultMaxBytes
	}
	if opts.MaxGoroutines <= 0 {
		opts.MaxGoroutines = 10_000_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: opts.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed")
		}}
	}
	f := fetcher{ctx: ctx, c: c, base: base, opts: opts}
	taken := opts.Now()
	gp, err := f.profile("goroutine")
	if err != nil {
		return nil, err
	}
	gs, err := FromProfile(gp, opts.MaxGoroutines)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.url("goroutine"), err)
	}
	lp, err := f.profile("goroutineleak")
	var ns *NotServedError
	switch {
	case errors.As(err, &ns):
		// Not built with the experiment: no leak profile, no leak marks.
	case err != nil:
		return nil, err
	default:
		leaked, err := FromProfile(lp, opts.MaxGoroutines)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.url("goroutineleak"), err)
		}
		gs = MarkLeaked(gs, leaked)
	}
	label := opts.Label
	if label == "" {
		label = DefaultLabel(gs)
	}
	name := f.process()
	return Build(gs, BuildOptions{TakenAt: taken, Process: name, Host: base.Hostname(),
		Producer: "rescoord pprof", Label: label}), nil
}

type fetcher struct {
	ctx  context.Context
	c    *http.Client
	base *url.URL
	opts FetchOptions
}

func (f *fetcher) url(name string) string {
	u := *f.base
	u.Path = path.Join(u.Path, name)
	if name == "goroutine" || name == "goroutineleak" {
		u.RawQuery = "debug=0"
	}
	return u.String()
}

// get reads one response body, bounded.
func (f *fetcher) get(name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(f.ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url(name), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.c.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("%s: no answer within %s", f.url(name), f.opts.Timeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, &NotServedError{Profile: name}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", f.url(name), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.url(name), err)
	}
	if int64(len(b)) > f.opts.MaxBytes {
		return nil, &snapshot.TooLargeError{Name: f.url(name), Limit: f.opts.MaxBytes}
	}
	return b, nil
}

// profile fetches and decodes a profile.
func (f *fetcher) profile(name string) (*profile.Profile, error) {
	b, err := f.get(name)
	if err != nil {
		return nil, err
	}
	return ParseProfile(b, f.url(name), f.opts.MaxBytes)
}

// IsGzip reports whether b starts like gzip, as pprof writes profiles.
func IsGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// ParseProfile decodes a pprof profile, gzip-compressed or not; its
// decompressed size is bounded by max (a TooLargeError named name).
// Errors start with name, when it is not "".
func ParseProfile(b []byte, name string, max int64) (*profile.Profile, error) {
	p, err := parseProfile(b, name, max)
	var large *snapshot.TooLargeError
	if err != nil && name != "" && !errors.As(err, &large) {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return p, err
}

func parseProfile(b []byte, name string, max int64) (*profile.Profile, error) {
	if IsGzip(b) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		raw, err := io.ReadAll(io.LimitReader(zr, max+1))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if int64(len(raw)) > max {
			return nil, &snapshot.TooLargeError{Name: name, Limit: max, Decompressed: true}
		}
		b = raw
	}
	p, err := profile.ParseUncompressed(b)
	if err != nil {
		return nil, fmt.Errorf("not a pprof profile: %v", firstLine(err.Error()))
	}
	return p, nil
}

// process is the base name of the program's argv[0], from /cmdline; ""
// when it does not say.
func (f *fetcher) process() string {
	old := f.opts.MaxBytes
	f.opts.MaxBytes = 64 << 10
	defer func() { f.opts.MaxBytes = old }()
	b, err := f.get("cmdline")
	if err != nil || len(b) == 0 {
		return ""
	}
	arg0, _, _ := bytes.Cut(b, []byte{0})
	return path.Base(strings.ReplaceAll(string(arg0), "\\", "/"))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)[1 : len(strconv.Quote(s))-1]
}
