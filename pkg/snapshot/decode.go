package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// MaxErrors is how many input errors a decode keeps; the rest are counted.
const MaxErrors = 50

// MaxTimeoutMS is the largest timeout_ms a snapshot may give: a week.
// Larger values are input errors; sums of timeouts then stay far from
// overflowing (docs/snapshot-format.md).
const MaxTimeoutMS = 7 * 24 * 60 * 60 * 1000

// maxDepth bounds the nesting of JSON values, so hostile input cannot
// exhaust the stack.
const maxDepth = 512

// Parse decodes a snapshot held in data. The snapshot's strings share
// data's memory: data must not be modified afterwards.
func Parse(data []byte, name string) (*Snapshot, error) {
	return parse(context.Background(), data, name, false, defaultTuning())
}

// parse decodes data; strict turns the fast path off. The context is
// checked every few thousand array elements or object fields.
func parse(ctx context.Context, data []byte, name string, strict bool, tune tuning) (*Snapshot, error) {
	s, _, err := parseTables(ctx, data, name, strict, tune)
	return s, err
}

// parseTables is parse that also returns the id tables the decoder built,
// for the index (nil when it built none).
func parseTables(ctx context.Context, data []byte, name string, strict bool, tune tuning) (*Snapshot, *tables, error) {
	d := &decoder{lexer: lexer{data: data}, file: name, strict: strict, ctx: ctx, tune: tune}
	d.fast.ctx = ctx
	s := d.run()
	if d.cancelled != nil {
		if name != "" {
			return nil, nil, fmt.Errorf("%s: %w", name, d.cancelled)
		}
		return nil, nil, d.cancelled
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, nil, &Errors{List: d.errs, Truncated: d.dropped}
	}
	if d.compIDs != nil || d.resIDs != nil {
		return s, &tables{comps: d.compIDs, res: d.resIDs}, nil
	}
	return s, nil, nil
}

// syntaxError stops decoding: the rest of the input cannot be trusted.
type syntaxError struct{}

type seg struct {
	key   string // "" for an array element
	index int
}

type decoder struct {
	lexer
	file    string
	stack   []seg
	errs    []*Error
	dropped int

	// Offsets of each component's and resource's id and parent, for errors
	// found after parsing.
	compIDOff, compParentOff []int32

	// compIDs and resIDs are the id tables the fast path built (idtable.go).
	compIDs, resIDs *idTable

	// strict turns the fast path off (tests compare the two).
	strict bool
	tune   tuning
	// fast is the cursor the strict decoder tries the fast path with, element
	// by element (fast.go).
	fast fast

	// ctx is checked every checkEvery elements or fields; cancelled is
	// its error once it has ended.
	ctx       context.Context
	cancelled error
	ticks     int
}

// checkEvery is how many array elements and object fields the decoders
// read between two looks at the context.
const checkEvery = 4096

// tick counts one element or field, and stops decoding when the context
// has ended.
func (d *decoder) tick() {
	if d.ticks++; d.ticks%checkEvery == 0 && d.ctx.Err() != nil {
		d.cancelled = d.ctx.Err()
		panic(syntaxError{})
	}
}

func (d *decoder) run() (s *Snapshot) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(syntaxError); !ok {
				panic(r)
			}
			s = nil
		}
	}()
	s = d.document()
	d.ws()
	if d.pos < len(d.data) {
		d.fatalf("unexpected data after the snapshot object: %s", d.describeAt(d.pos))
	}
	if len(d.errs) == 0 {
		d.checkComponents(s)
	}
	return s
}

// ---- errors ----

func (d *decoder) pathString() string {
	var b strings.Builder
	for k, s := range d.stack {
		// A very deep path keeps its first and last levels.
		if n := len(d.stack); n > 16 && k >= 6 && k < n-6 {
			if k == 6 {
				b.WriteString("…")
			}
			continue
		}
		if s.key == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if isPlainKey(s.key) {
			b.WriteString(s.key)
		} else {
			b.WriteString(strconv.Quote(s.key))
		}
	}
	return b.String()
}

func (d *decoder) addErr(path string, off int, format string, args ...any) {
	if len(d.errs) >= MaxErrors {
		d.dropped++
		return
	}
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if off >= 0 {
		e.Line, e.Column = lineCol(d.data, off)
	}
	d.errs = append(d.errs, e)
}

// errAt records an error about the value at the current path starting at off.
func (d *decoder) errAt(off int, format string, args ...any) {
	d.addErr(d.pathString(), off, format, args...)
}

func (d *decoder) fatalf(format string, args ...any) {
	d.addErr(d.pathString(), d.pos, format, args...)
	panic(syntaxError{})
}

func (d *decoder) describeAt(off int) string {
	if off >= len(d.data) {
		return "end of input"
	}
	return describeByte(d.data[off])
}

// describeByte names the value a byte starts, or the byte.
func describeByte(c byte) string {
	switch {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c >= 0x20 && c < 0x7f:
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (d *decoder) typeErr(want string) {
	d.errAt(d.pos, "expected %s, got %s", want, d.describeAt(d.pos))
	d.skip()
}

// ---- scanning ----

// next returns the first byte of the next value, after white space.
func (d *decoder) next() byte {
	d.ws()
	if d.pos >= len(d.data) {
		d.fatalf("unexpected end of input")
	}
	return d.data[d.pos]
}

func (d *decoder) expect(c byte, what string) {
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != c {
		d.fatalf("expected %s, got %s", what, d.describeAt(d.pos))
	}
	d.pos++
}

func (d *decoder) literal(lit string) {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(lit)) {
		d.fatalf("invalid literal: %s", d.describeAt(d.pos))
	}
	d.pos += len(lit)
}

// skip consumes one value of any type, checking its syntax.
func (d *decoder) skip() {
	switch c := d.next(); {
	case c == '{':
		d.object(func(string) { d.skip() })
	case c == '[':
		d.array(func(int) { d.skip() })
	case c == '"':
		d.scanString()
	case c == '-' || c >= '0' && c <= '9':
		d.scanNumber()
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.literal("null")
	default:
		d.fatalf("expected a value, got %s", d.describeAt(d.pos))
	}
}

// raw consumes one value and returns its bytes.
func (d *decoder) raw() json.RawMessage {
	d.ws()
	start := d.pos
	d.skip()
	return json.RawMessage(d.data[start:d.pos:d.pos])
}

// object walks an object at the current position, calling field with each
// key (the path already extended by it). It reports whether an object was
// there; anything else is a type error (null counts as absent, silently).
func (d *decoder) object(field func(key string)) bool {
	if open, empty := d.open('{', '}', "an object"); !open || empty {
		return open
	}
	var keys keySet
	for {
		d.tick()
		if d.next() != '"' {
			d.fatalf("expected a field name, got %s", d.describeAt(d.pos))
		}
		keyAt := d.pos
		key := d.readString()
		d.expect(':', "':' after a field name")
		d.stack = append(d.stack, seg{key: key})
		if keys.add(key) {
			start := d.pos
			field(key)
			if d.pos == start {
				d.skip()
			}
		} else {
			// Last-wins would hide the first value, first-wins the
			// second: neither is what the producer meant.
			d.errAt(keyAt, "duplicate key %q", key)
			d.skip()
		}
		d.stack = d.stack[:len(d.stack)-1]
		switch d.next() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return true
		default:
			d.fatalf("expected ',' or '}' in an object, got %s", d.describeAt(d.pos))
		}
	}
}

// array walks an array, calling elem with each index (the path extended).
func (d *decoder) array(elem func(i int)) bool {
	if open, empty := d.open('[', ']', "an array"); !open || empty {
		return open
	}
	for i := 0; ; i++ {
		d.tick()
		d.stack = append(d.stack, seg{index: i})
		start := d.pos
		elem(i)
		if d.pos == start {
			d.skip()
		}
		d.stack = d.stack[:len(d.stack)-1]
		switch d.next() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return true
		default:
			d.fatalf("expected ',' or ']' in an array, got %s", d.describeAt(d.pos))
		}
	}
}

// open consumes the opening delimiter of an object or array (what) and, when
// the value is empty, its closing one. It reports whether one was there
// (null is absent, silently; anything else a type error) and whether it
// was empty.
func (d *decoder) open(opening, closing byte, what string) (open, empty bool) {
	switch d.next() {
	case opening:
	case 'n':
		d.literal("null")
		return false, false
	default:
		d.typeErr(what)
		return false, false
	}
	d.enter()
	d.pos++
	if d.next() == closing {
		d.pos++
		d.depth--
		return true, true
	}
	return true, false
}

func (d *decoder) enter() {
	d.depth++
	if d.depth > maxDepth {
		d.fatalf("nesting deeper than %d levels", maxDepth)
	}
}

// scanString consumes a string and reports whether it had escapes: the
// lexer's fast variant, and when it refuses the string, the slow one,
// which says what is wrong.
func (d *decoder) scanString() (start, end int, escaped bool) {
	if end, escaped, ok := d.strEnd(); ok {
		start = d.pos + 1
		d.pos = end + 1
		return start, end, escaped
	}
	return d.slowString()
}

// slowString is the slow variant of the lexer's strEnd: it scans the
// string at pos byte by byte and stops decoding at what is wrong with it.
func (d *decoder) slowString() (start, end int, escaped bool) {
	data := d.data
	start = d.pos + 1
	for i := start; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			d.pos = i + 1
			return start, i, escaped
		case c == '\\':
			escaped = true
			i++
			if i >= len(data) {
				break
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) || !isHex4(data[i+1:i+5]) {
					d.pos = i
					d.fatalf("invalid \\u escape in a string")
				}
				i += 4
			default:
				d.pos = i - 1
				d.fatalf("invalid escape %q in a string", "\\"+string(data[i]))
			}
		case c < 0x20:
			d.pos = i
			d.fatalf("control character 0x%02x in a string", c)
		}
	}
	d.pos = len(data)
	d.fatalf("unterminated string")
	return 0, 0, false
}

// readString consumes a string and returns its value. Strings without
// escapes share the input's memory.
func (d *decoder) readString() string {
	start, end, escaped := d.scanString()
	if end == start {
		return ""
	}
	if !escaped {
		return unsafe.String(&d.data[start], end-start)
	}
	return unescape(d.data[start:end])
}

// noteID notes id, given at idOff, as that of element i of the array of
// what ("component": components); an id given before is an error.
func (d *decoder) noteID(ids map[string]int32, what string, i int, id string, idOff int) {
	if id == "" {
		return
	}
	if first, dup := ids[id]; dup {
		d.addErr(fmt.Sprintf("%ss[%d].id", what, i), idOff, "duplicate %s id %q (first at %ss[%d])", what, id, what, first)
		return
	}
	ids[id] = int32(i)
}

// scanNumber consumes a JSON number and reports whether it is an integer.
func (d *decoder) scanNumber() (start int, integer bool) {
	start = d.pos
	at, integer, problem := scanJSONNumber(d.data, d.pos)
	d.pos = at
	if problem != "" {
		d.fatalf("%s", problem)
	}
	return start, integer
}

// ---- typed values; null means absent and returns ok=false ----

func (d *decoder) str() (string, bool) {
	switch d.next() {
	case '"':
		return d.readString(), true
	case 'n':
		d.literal("null")
	default:
		d.typeErr("a string")
	}
	return "", false
}

func (d *decoder) integer(min int64) (int64, bool) {
	c := d.next()
	if c == 'n' {
		d.literal("null")
		return 0, false
	}
	if c != '-' && (c < '0' || c > '9') {
		d.typeErr("an integer")
		return 0, false
	}
	start, isInt := d.scanNumber()
	text := d.data[start:d.pos]
	if !isInt {
		d.errAt(start, "expected an integer, got %s", text)
		return 0, false
	}
	n, err := strconv.ParseInt(unsafe.String(&text[0], len(text)), 10, 64)
	if err != nil {
		d.errAt(start, "integer %s out of range", text)
		return 0, false
	}
	if n < min {
		d.errAt(start, "must be at least %d, got %d", min, n)
		return 0, false
	}
	return n, true
}

// timeout reads a timeout_ms: an integer from 0 to MaxTimeoutMS.
func (d *decoder) timeout() (int64, bool) {
	d.ws()
	at := d.pos
	n, ok := d.integer(0)
	if ok && n > MaxTimeoutMS {
		d.errAt(at, "timeout_ms %d is more than the maximum, %d (a week)", n, MaxTimeoutMS)
		return 0, false
	}
	return n, ok
}

func (d *decoder) boolean() (bool, bool) {
	switch d.next() {
	case 't':
		d.literal("true")
		return true, true
	case 'f':
		d.literal("false")
		return false, true
	case 'n':
		d.literal("null")
	default:
		d.typeErr("a boolean")
	}
	return false, false
}

func (d *decoder) timestamp() (time.Time, bool) {
	c := d.next()
	if c == 'n' {
		d.literal("null")
		return time.Time{}, false
	}
	if c != '"' {
		d.typeErr("an RFC 3339 timestamp string")
		return time.Time{}, false
	}
	start := d.pos
	s := d.readString()
	t, ok := parseTime(s)
	if !ok {
		d.errAt(start, "invalid timestamp %q: want RFC 3339, such as 2026-11-27T12:00:05Z", s)
		return time.Time{}, false
	}
	return t, true
}

// parseTime parses RFC 3339, with a fast path for UTC times ending in Z.
func parseTime(s string) (time.Time, bool) {
	if t, ok := parseUTC(s); ok {
		return t, true
	}
	// time.Parse is lenient about some widths (a one-digit hour): check the
	// fixed shape of RFC 3339 first.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

func parseUTC(s string) (time.Time, bool) {
	// 2006-01-02T15:04:05[.fraction]Z
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	nsec := 0
	rest := s[19 : len(s)-1]
	if rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		frac, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			frac *= 10
		}
		nsec = frac
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func (d *decoder) strings() []string {
	var out []string
	d.array(func(int) {
		if s, ok := d.str(); ok {
			out = append(out, s)
		}
	})
	return out
}

func (d *decoder) keepExtra(m *map[string]json.RawMessage, key string) {
	if *m == nil {
		*m = make(map[string]json.RawMessage)
	}
	(*m)[key] = d.raw()
}

// required reports each required field that was missing, at the object's start.
func (d *decoder) required(off int, fields []string, seen []bool) {
	for i, f := range fields {
		if !seen[i] {
			d.errAt(off, "missing required field %q", f)
		}
	}
}

// ---- the format ----

func (d *decoder) document() *Snapshot {
	s := &Snapshot{}
	d.ws()
	if d.pos >= len(d.data) {
		d.fatalf("empty input: expected a snapshot object")
	}
	if d.data[d.pos] != '{' {
		d.fatalf("expected a snapshot object, got %s", d.describeAt(d.pos))
	}
	d.snapshot(s)
	return s
}

// checkFormat accepts rescoord/v1 and any rescoord/v1.N.
func checkFormat(v string) string {
	rest, ok := strings.CutPrefix(v, "rescoord/v")
	if !ok {
		return fmt.Sprintf("unknown format %q: want %q", v, FormatV1)
	}
	major, _, _ := strings.Cut(rest, ".")
	if major != "1" {
		return fmt.Sprintf("unsupported format version %q: this rescoord reads %s", v, FormatV1)
	}
	return ""
}

// keySet holds the keys of one object, to find one given twice: a few in
// place, a map beyond.
type keySet struct {
	n     int
	small [8]string
	big   map[string]struct{}
}

// add adds key and reports whether it was new.
func (k *keySet) add(key string) bool {
	if k.big != nil {
		if _, dup := k.big[key]; dup {
			return false
		}
		k.big[key] = struct{}{}
		return true
	}
	for _, s := range k.small[:k.n] {
		if s == key {
			return false
		}
	}
	if k.n < len(k.small) {
		k.small[k.n] = key
		k.n++
		return true
	}
	k.big = make(map[string]struct{}, 2*len(k.small))
	for _, s := range k.small {
		k.big[s] = struct{}{}
	}
	k.big[key] = struct{}{}
	return true
}
