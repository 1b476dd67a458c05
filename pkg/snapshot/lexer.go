package snapshot

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// lexer is the one JSON lexer of the package, which the strict decoder
// (decode.go) and the fast path (fast.go) both embed. Its functions
// are the fast variants, in the manner of encoding/json/v2's jsonwire: each
// consumes a token and reports false, without saying why, on anything it
// does not take — invalid input, and also what is valid but rare (an
// integer of more than 18 digits, a key given twice). The fast path then
// gives the element to the strict decoder; the strict decoder calls them
// first too, and only when they fail its own slow variants, which say
// what is wrong and where (docs/snapshot-format.md, "Errors and findings").
type lexer struct {
	data  []byte
	pos   int
	depth int // nesting of the value being read: objects and arrays entered
}

// Finding the end of a string is most of the work of reading JSON. These
// helpers look at 8 bytes at a time (SWAR: "SIMD within a register"): a
// byte equal to q makes the high bit of (w^q·lsb) - lsb set where w^q·lsb
// has it clear. The lowest flagged byte is always a true match, which is
// the only one used.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte flags the bytes of w equal to c.
func hasByte(w uint64, c byte) uint64 {
	x := w ^ (lsb * uint64(c))
	return (x - lsb) &^ x & msb
}

// nextQuoteOrBackslash returns the offset of the first '"' or '\\' at or
// after i, or len(data).
func nextQuoteOrBackslash(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		if m := hasByte(w, '"') | hasByte(w, '\\'); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(data)
}

// nextStringSpecial returns the offset of the first byte at or after i
// that a string cannot hold as it is — '"', '\\' or a control character —
// or len(data).
func nextStringSpecial(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		// Bytes below 0x20: w - 0x20·lsb borrows in them (for bytes below
		// 0x80, which &^ w keeps).
		ctl := (w - lsb*0x20) &^ w & msb
		if m := hasByte(w, '"') | hasByte(w, '\\') | ctl; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return len(data)
}

func (l *lexer) ws() {
	for l.pos < len(l.data) {
		if c := l.data[l.pos]; c > ' ' || c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return
		}
		l.pos++
	}
}

// at returns the byte at pos, or 0 at the end.
func (l *lexer) at() byte {
	if l.pos < len(l.data) {
		return l.data[l.pos]
	}
	return 0
}

// peek returns the next byte after white space, or 0 at the end.
func (l *lexer) peek() byte {
	l.ws()
	if l.pos < len(l.data) {
		return l.data[l.pos]
	}
	return 0
}

// null consumes a null literal at pos.
func (l *lexer) null() bool {
	if l.pos+4 <= len(l.data) && string(l.data[l.pos:l.pos+4]) == "null" {
		l.pos += 4
		return true
	}
	return false
}

// strEnd scans the string whose opening quote is at pos and returns the
// offset of its closing quote, whether it has escapes, and false when it
// is not a valid JSON string.
func (l *lexer) strEnd() (end int, escaped, ok bool) {
	data := l.data
	for i := l.pos + 1; ; i++ {
		i = nextStringSpecial(data, i)
		if i >= len(data) {
			return 0, false, false
		}
		switch data[i] {
		case '"':
			return i, escaped, true
		case '\\':
			escaped = true
			i++
			if i >= len(data) {
				return 0, false, false
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) || !isHex4(data[i+1:i+5]) {
					return 0, false, false
				}
				i += 4
			default:
				return 0, false, false
			}
		default: // a control character
			return 0, false, false
		}
	}
}

// view reads a string at pos. Strings without escapes share the input:
// in copy mode they are valid only until the window is reused.
func (l *lexer) view() (string, bool) {
	if l.pos >= len(l.data) || l.data[l.pos] != '"' {
		return "", false
	}
	end, escaped, ok := l.strEnd()
	if !ok {
		return "", false
	}
	start := l.pos + 1
	l.pos = end + 1
	switch {
	case end == start:
		return "", true
	case escaped:
		return unescape(l.data[start:end]), true
	}
	return unsafe.String(&l.data[start], end-start), true
}

// optView reads a string or null ("") without keeping it.
func (l *lexer) optView() (string, bool) {
	if l.pos < len(l.data) && l.data[l.pos] == 'n' {
		return "", l.null()
	}
	return l.view()
}

// key reads a field name and the colon after it, leaving pos just after
// the colon, where the strict decoder locates the value's errors.
func (l *lexer) key() (string, bool) {
	k, ok := l.view()
	if !ok || l.peek() != ':' {
		return "", false
	}
	l.pos++
	return k, true
}

// integer reads an integer of at most 18 digits that is at least min;
// anything else (a fraction, an exponent, a leading zero, -0, a larger
// magnitude) is left to the strict decoder.
func (l *lexer) integer(min int64) (int64, bool) {
	data := l.data
	i := l.pos
	neg := i < len(data) && data[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		n = n*10 + int64(data[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || digits > 1 && data[start] == '0' || neg && n == 0 {
		return 0, false
	}
	if i < len(data) && (data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	if n < min {
		return 0, false
	}
	l.pos = i
	return n, true
}

// optInt reads an integer or null (absent).
func (l *lexer) optInt(min int64) (n int64, present, ok bool) {
	if l.pos < len(l.data) && l.data[l.pos] == 'n' {
		return 0, false, l.null()
	}
	n, ok = l.integer(min)
	return n, ok, ok
}

// optBool reads a boolean or null (false).
func (l *lexer) optBool() (bool, bool) {
	data := l.data
	switch {
	case l.pos+4 <= len(data) && string(data[l.pos:l.pos+4]) == "true":
		l.pos += 4
		return true, true
	case l.pos+5 <= len(data) && string(data[l.pos:l.pos+5]) == "false":
		l.pos += 5
		return false, true
	}
	return false, l.null()
}

// skip consumes one value of any type, checking its syntax as
// decoder.skip does.
func (l *lexer) skip() bool {
	data := l.data
	if l.pos >= len(data) {
		return false
	}
	switch c := data[l.pos]; {
	case c == '"':
		end, _, ok := l.strEnd()
		l.pos = end + 1
		return ok
	case c == '{':
		_, ok := l.object(nil, func(string, int) (uint32, bool) { return 0, l.skip() })
		return ok
	case c == '[':
		if l.depth++; l.depth > maxDepth {
			return false
		}
		l.pos++
		if l.peek() == ']' {
			l.pos++
			l.depth--
			return true
		}
		for {
			l.ws()
			if !l.skip() {
				return false
			}
			switch l.peek() {
			case ',':
				l.pos++
			case ']':
				l.pos++
				l.depth--
				return true
			default:
				return false
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return l.number()
	case c == 't':
		_, ok := l.optBool()
		return ok
	case c == 'f':
		_, ok := l.optBool()
		return ok
	case c == 'n':
		return l.null()
	}
	return false
}

// number consumes any JSON number, as decoder.scanNumber does.
func (l *lexer) number() bool {
	at, _, problem := scanJSONNumber(l.data, l.pos)
	if problem != "" {
		return false
	}
	l.pos = at
	return true
}

// object walks an object at pos, calling field after each key with pos
// just after the colon. field consumes the value, reports success and
// returns the bit of the field it read, 0 for one it does not know (which
// it reads or skips itself); a known field given twice is rare and left
// to the strict decoder, and so is any other key given twice. object
// returns the bits of the fields given.
// Keys are compared without allocating.
//
// known, when not nil, are the keys of the fields whose bits are 1, 2, 4…,
// in that order, the order in which the encoders write them: after the
// field of bit 1<<i, the key at pos is first compared with known[i+1],
// byte for byte, quotes and colon included, which spares reading it
// (docs/performance.md, "Keys in their order"). None of them needs
// escaping, so bytes that match are that key and nothing else.
func (l *lexer) object(known []string, field func(key string, valueAt int) (bit uint32, ok bool)) (seen uint32, ok bool) {
	if l.pos >= len(l.data) || l.data[l.pos] != '{' {
		return 0, false
	}
	if l.depth++; l.depth > maxDepth {
		return 0, false
	}
	l.pos++
	if l.peek() == '}' {
		l.pos++
		l.depth--
		return 0, true
	}
	var others keySet // the keys field does not know, to spot one given twice
	next := 0         // the index in known of the key expected next
	for {
		l.ws()
		var k string
		if next < len(known) && l.rawKey(known[next]) {
			k = known[next]
		} else if k, ok = l.key(); !ok {
			return 0, false
		}
		at := l.pos
		l.ws()
		bit, ok := field(k, at)
		if !ok || seen&bit != 0 || bit == 0 && !others.add(k) {
			return 0, false
		}
		if bit != 0 {
			next = bits.TrailingZeros32(bit) + 1
		}
		seen |= bit
		switch l.peek() {
		case ',':
			l.pos++
		case '}':
			l.pos++
			l.depth--
			return seen, true
		default:
			return 0, false
		}
	}
}

// rawKey reads, when the bytes at pos are "key": exactly, that key and
// its colon.
func (l *lexer) rawKey(key string) bool {
	end := l.pos + len(key) + 2 // the colon
	if end >= len(l.data) || l.data[l.pos] != '"' || l.data[end-1] != '"' || l.data[end] != ':' ||
		string(l.data[l.pos+1:end-1]) != key {
		return false
	}
	l.pos = end + 1
	return true
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(b[i+1:]))
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
				r2 := rune(hex4(b[i+3:]))
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, b[i])
		}
	}
	return string(out)
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b[:4] {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
}

// scanJSONNumber reads the JSON number at data[i:]. It returns where the
// number ends and whether it is an integer; for a malformed number, where
// the error lies and what it is.
func scanJSONNumber(data []byte, i int) (at int, integer bool, problem string) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	first := i
	if n := digits(); n == 0 {
		return i, false, "invalid number"
	} else if n > 1 && data[first] == '0' {
		return first, false, "invalid number: leading zero"
	}
	integer = true
	if i < len(data) && data[i] == '.' {
		integer = false
		i++
		if digits() == 0 {
			return i, false, "invalid number: no digits after '.'"
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		integer = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false, "invalid number: no digits in the exponent"
		}
	}
	return i, integer, ""
}
