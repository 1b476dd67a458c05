// Package goroutines reads the goroutines of a Go program — a text dump
// (debug=2, a panic, SIGQUIT) or the goroutine and goroutineleak profiles
// of net/http/pprof — and builds a rescoord/v1 snapshot of them
// (docs/importers.md).
//
// Every input is untrusted: sizes, line lengths and frame counts are
// bounded, and what is not understood is an error of one line, or skipped
// when it lies outside a goroutine (the panic message, registers).
package goroutines

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Goroutine is one goroutine of a dump or a profile.
type Goroutine struct {
	// ID is the goroutine's id; 0 when the input does not give it (a
	// profile).
	ID int64
	// State is the wait reason or status: running, runnable, syscall,
	// chan receive, select, IO wait, …
	State string
	// Wait is how long the goroutine has been blocked, as the dump gives
	// it (in whole minutes), and WaitText the way it says it.
	Wait     time.Duration
	WaitText string
	// Locked is set for a goroutine locked to its thread.
	Locked bool
	// Leaked is set for a goroutine the runtime found leaked (the
	// goroutineleak profile, or "(leaked)" in a dump's state).
	Leaked bool
	// Frames is the stack, innermost first (at most MaxFrames).
	Frames []Frame
	// Elided is the number of frames left out, by the runtime or by
	// MaxFrames.
	Elided int
	// CreatedBy is the go statement that started the goroutine; nil for
	// the main goroutine and those the runtime starts without one.
	CreatedBy *Frame
	// Creator is the id of the goroutine that ran the go statement (0
	// when the dump does not say).
	Creator int64
	// Labels are the goroutine's pprof labels (profiles only).
	Labels map[string]string
}

// Frame is one call of a stack.
type Frame struct {
	Func string
	File string
	Line int
}

// String writes the frame as the snapshot format's created_by wants it:
// "file:line function".
func (f Frame) String() string {
	if f.File == "" {
		return f.Func
	}
	return f.File + ":" + strconv.Itoa(f.Line) + " " + f.Func
}

// Running reports whether the goroutine is on or ready for a CPU: running,
// runnable, or in a system call.
func (g *Goroutine) Running() bool {
	switch g.State {
	case "running", "runnable", "syscall":
		return true
	}
	return false
}

// Limits of a parse.
const (
	// MaxFrames is the most frames kept per goroutine (the runtime prints
	// at most 100).
	MaxFrames = 128
	// MaxLine is the longest line read, in bytes.
	MaxLine = 1 << 20
)

// SyntaxError is a dump that cannot be read, at a line.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ErrNoGoroutines is an input in which no goroutine header was found.
var ErrNoGoroutines = errors.New("no goroutine found: want a goroutine dump (debug=2, a panic or SIGQUIT output)")

// Parse reads a text goroutine dump: blocks that start with a header
//
//	goroutine 1 [chan receive, 5 minutes]:
//
// then frames, each a function line and a tab-indented "file:line +0x…"
// line, and maybe "created by F in goroutine N" and its location, ending
// at a blank line. Lines between blocks (a panic message, registers) are
// skipped. Duplicate goroutine ids are an error.
func Parse(r io.Reader) ([]Goroutine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	p := parser{intern: map[string]string{}, seen: map[int64]bool{}}
	for sc.Scan() {
		p.line++
		if err := p.feed(sc.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &SyntaxError{Line: p.line + 1, Msg: fmt.Sprintf("line longer than %d bytes", MaxLine)}
		}
		return nil, err
	}
	p.end()
	if len(p.out) == 0 {
		return nil, ErrNoGoroutines
	}
	return p.out, nil
}

type parser struct {
	line   int
	out    []Goroutine
	cur    *Goroutine
	fn     string // a function line waiting for its location
	inCrBy bool   // fn is the created by line
	intern map[string]string
	seen   map[int64]bool
}

var goroutinePrefix = []byte("goroutine ")

func (p *parser) str(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.intern) < 1<<20 {
		p.intern[s] = s
	}
	return s
}

func (p *parser) feed(l []byte) error {
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if p.cur == nil {
		if bytes.HasPrefix(l, goroutinePrefix) && bytes.HasSuffix(l, []byte("]:")) {
			return p.header(l)
		}
		return nil // outside a goroutine
	}
	if len(bytes.TrimSpace(l)) == 0 {
		p.end()
		return nil
	}
	if l[0] == '\t' {
		return p.location(l[1:])
	}
	p.flushFn()
	if bytes.HasPrefix(l, goroutinePrefix) && bytes.HasSuffix(l, []byte("]:")) {
		// A dump without blank lines between goroutines.
		p.end()
		return p.header(l)
	}
	switch {
	case bytes.HasPrefix(l, []byte("...")):
		// "...additional frames elided..." or "...N frames elided..."
		n := 1
		if f := bytes.Fields(l); len(f) >= 1 {
			if v, err := strconv.Atoi(string(bytes.TrimPrefix(f[0], []byte("...")))); err == nil && v > 0 {
				n = v
			}
		}
		p.cur.Elided += n
	case bytes.HasPrefix(l, []byte("created by ")):
		rest := l[len("created by "):]
		fn := rest
		if i := bytes.Index(rest, []byte(" in goroutine ")); i >= 0 {
			fn = rest[:i]
			if id, err := strconv.ParseInt(string(rest[i+len(" in goroutine "):]), 10, 64); err == nil && id > 0 {
				p.cur.Creator = id
			}
		}
		p.fn, p.inCrBy = p.str(fn), true
	default:
		p.fn, p.inCrBy = p.str(funcName(l)), false
	}
	return nil
}

// funcName is the function of a frame line, without its arguments:
// "main.(*T).m(0xc000012345, {0x1, 0x2})" → "main.(*T).m".
func funcName(l []byte) []byte {
	if i := bytes.LastIndexByte(l, '('); i > 0 && bytes.HasSuffix(l, []byte(")")) {
		// (*T) in a method name is not the argument list: the argument
		// list is the last parenthesised group.
		return l[:i]
	}
	return l
}

// location reads "/path/file.go:12 +0x1d" for the pending function line.
func (p *parser) location(l []byte) error {
	if p.fn == "" {
		return nil // "goroutine running on other thread; stack unavailable", or noise
	}
	if i := bytes.LastIndex(l, []byte(" +0x")); i >= 0 {
		l = l[:i]
	} else if i := bytes.LastIndex(l, []byte(" fp=")); i >= 0 {
		l = l[:i]
	}
	f := Frame{Func: p.fn}
	if i := bytes.LastIndexByte(l, ':'); i >= 0 {
		if n, err := strconv.Atoi(string(l[i+1:])); err == nil {
			f.File, f.Line = p.str(l[:i]), n
		} else {
			f.File = p.str(l)
		}
	} else {
		f.File = p.str(l)
	}
	p.addFrame(f)
	return nil
}

// addFrame keeps f: as the goroutine's creator after "created by", else
// as its next frame, up to MaxFrames (the rest are counted).
func (p *parser) addFrame(f Frame) {
	if p.inCrBy {
		p.cur.CreatedBy = &f
	} else if len(p.cur.Frames) < MaxFrames {
		p.cur.Frames = append(p.cur.Frames, f)
	} else {
		p.cur.Elided++
	}
	p.fn, p.inCrBy = "", false
}

// flushFn keeps a function line that had no location line.
func (p *parser) flushFn() {
	if p.fn == "" {
		return
	}
	f := Frame{Func: p.fn}
	p.addFrame(f)
}

func (p *parser) end() {
	if p.cur == nil {
		return
	}
	p.flushFn()
	p.cur = nil
}

// header reads "goroutine 1 [chan receive, 5 minutes]:", and the forms
// with "gp=0x… m=… mp=0x…" before the bracket (GOTRACEBACK=system).
func (p *parser) header(l []byte) error {
	bad := func(why string) error {
		return &SyntaxError{Line: p.line, Msg: "malformed goroutine header: " + why}
	}
	rest := l[len(goroutinePrefix) : len(l)-len("]:")]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return bad("want goroutine ID [STATE]:")
	}
	id, err := strconv.ParseInt(string(rest[:sp]), 10, 64)
	if err != nil || id < 0 {
		return bad("the id is not a number")
	}
	br := bytes.IndexByte(rest, '[')
	if br < 0 {
		return bad("no [state]")
	}
	// Goroutine 0 is the scheduler stack of each thread (GOTRACEBACK=system):
	// there may be several.
	if id != 0 && p.seen[id] {
		return &SyntaxError{Line: p.line, Msg: fmt.Sprintf("goroutine %d appears twice", id)}
	}
	p.seen[id] = true
	g := Goroutine{ID: id}
	parts := strings.Split(string(rest[br+1:]), ", ")
	g.State = p.str([]byte(parts[0]))
	if s, ok := strings.CutSuffix(g.State, " (leaked)"); ok {
		g.State, g.Leaked = s, true
	}
	for _, a := range parts[1:] {
		switch {
		case a == "locked to thread":
			g.Locked = true
		case a == "leaked":
			g.Leaked = true
		case strings.HasSuffix(a, " minutes") || strings.HasSuffix(a, " minute"):
			n, err := strconv.ParseInt(strings.Fields(a)[0], 10, 64)
			if err == nil && n >= 0 && n < 1<<40 {
				g.Wait, g.WaitText = time.Duration(n)*time.Minute, p.str([]byte(a))
			}
		}
	}
	if g.State == "" {
		return bad("empty state")
	}
	p.out = append(p.out, g)
	p.cur = &p.out[len(p.out)-1]
	return nil
}
