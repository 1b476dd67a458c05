package render

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// Text from a snapshot, a suppressions file or a server is untrusted: an id
// may hold ESC, CR or a newline that would restyle the terminal, overwrite a
// line or start a CI workflow command (docs/security.md). Every
// human-readable output passes its untrusted strings through Escape, and
// writes through SafeWriter, which escapes whatever slipped past.

// safePrefix is the length of the longest prefix of s with nothing to
// escape; with styles, the colour sequences a style adds count as safe.
func safePrefix(s string, styles bool) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if styles && c == 0x1b {
			if n := colorSequence(s[i:]); n > 0 {
				i += n
				continue
			}
			return i
		}
		if c < utf8.RuneSelf {
			return i
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return i
		}
		i += n
	}
	return i
}

// Escape returns s with every character a terminal or a log reader would
// act on shown visibly: C0 controls (\n, \r, \t and the rest as \xNN), DEL,
// C1 controls, U+2028/U+2029 and the bidirectional overrides and isolates as
// \uNNNN, and bytes that are not UTF-8 as \xNN. Everything else, backslash
// included, is kept as it is. A string with nothing to escape is returned
// without a copy.
func Escape(s string) string {
	i := safePrefix(s, false)
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for i < len(s) {
		var n int
		b, n = appendEscaped(b, s[i:])
		i += n
	}
	return string(b)
}

// appendEscaped appends the first character of s to b, escaped if it must
// be, and returns b and the number of bytes of s consumed.
func appendEscaped[T string | []byte](b []byte, s T) ([]byte, int) {
	c := s[0]
	if c < utf8.RuneSelf {
		switch {
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20 || c == 0x7f:
			b = fmt.Appendf(b, `\x%02x`, c)
		default:
			b = append(b, c)
		}
		return b, 1
	}
	var r rune
	var n int
	switch v := any(s).(type) {
	case string:
		r, n = utf8.DecodeRuneInString(v)
	case []byte:
		r, n = utf8.DecodeRune(v)
	}
	switch {
	case r == utf8.RuneError && n == 1:
		b = fmt.Appendf(b, `\x%02x`, c)
	case unsafeRune(r):
		b = fmt.Appendf(b, `\u%04x`, r)
	default:
		b = append(b, s[:n]...)
	}
	return b, n
}

// unsafeRune reports the non-ASCII runes Escape shows as \uNNNN: C1
// controls, the line and paragraph separators, and the bidirectional
// marks, embeddings, overrides and isolates (the "Trojan Source" set).
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// SafeWriter returns a writer for human-readable output that passes text,
// newlines and tabs through, and rescoord's own styling (CSI sequences that
// set colours or home and clear the screen: ESC [ digits/; then m, H, J or
// K), and escapes every other control character as Escape does. The first
// colon of a line that starts with "::" (blanks and styling aside) is
// written \x3a: a CI runner would read the line as a workflow command.
// It is the last line of defence: values are escaped where they are
// formatted, so a name with a newline never breaks a line.
//
// A character or a styling sequence split across two Writes (a bufio.Writer
// flushes where its buffer is full) is held back until the next Write
// completes it; Flush writes what is held, escaped. Output that ends with a
// newline, as every output of rescoord does, holds nothing at its end.
func SafeWriter(w io.Writer) io.Writer {
	if _, ok := w.(*safeWriter); ok {
		return w
	}
	return &safeWriter{w: w}
}

// Flush writes what a SafeWriter holds back (an incomplete character or
// styling sequence at the end of the last Write), escaped; for any other
// writer it does nothing.
func Flush(w io.Writer) error {
	s, ok := w.(*safeWriter)
	if !ok || len(s.held) == 0 {
		return nil
	}
	s.buf = s.buf[:0]
	for i := 0; i < len(s.held); {
		var n int
		s.buf, n = appendEscaped(s.buf, s.held[i:])
		i += n
	}
	s.held = s.held[:0]
	_, err := s.w.Write(s.buf)
	return err
}

type safeWriter struct {
	w    io.Writer
	buf  []byte
	held []byte // the incomplete tail of the last Write
	// midLine is set once a line has more than blanks and styling: a
	// line that starts with "::" once blanks are trimmed would be read as
	// a workflow command by a CI runner (GitHub Actions trims them).
	midLine bool
}

func (s *safeWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(s.held) > 0 {
		p = append(s.held, p...)
		s.held = nil
	}
	if s.clean(p) {
		if _, err := s.w.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	s.buf = s.buf[:0]
	for i := 0; i < len(p); {
		c := p[i]
		if k := incompleteTail(p[i:], !s.midLine); k > 0 {
			s.held = append(s.held[:0], p[i:]...)
			break
		}
		switch {
		case c == 0x1b:
			if k := styleSequence(p[i:]); k > 0 {
				s.buf = append(s.buf, p[i:i+k]...)
				i += k
				continue
			}
			s.buf = append(s.buf, `\x1b`...)
			s.midLine = true
			i++
		case c == '\n':
			s.buf = append(s.buf, c)
			s.midLine = false
			i++
		case c == '\t' || c == ' ':
			s.buf = append(s.buf, c)
			i++
		case c == ':' && !s.midLine && i+1 < len(p) && p[i+1] == ':':
			s.buf = append(s.buf, `\x3a`...) // shown, not run
			s.midLine = true
			i++
		default:
			var k int
			s.buf, k = appendEscaped(s.buf, p[i:])
			s.midLine = true
			i += k
		}
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return 0, err
	}
	return n, nil
}

// clean reports whether p can be written as it is: no control character
// but newlines and tabs, only whole UTF-8 characters Escape keeps, and no
// line that starts with "::" once blanks are trimmed. It keeps track of
// midLine.
func (s *safeWriter) clean(p []byte) bool {
	mid := s.midLine
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\n':
			mid = false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p[i:])
			if r == utf8.RuneError && n == 1 || unsafeRune(r) {
				return false // or the start of a character the next Write ends
			}
			i += n - 1
			mid = true
		case c < 0x20 && c != '\t' || c == 0x7f:
			return false
		case mid || c == ' ' || c == '\t':
		case c == ':':
			return false
		default:
			mid = true
		}
	}
	s.midLine = mid
	return true
}

// incompleteTail reports whether p, the rest of a Write, is only the start
// of a UTF-8 character or of a styling sequence, or a colon at the start of
// a line (lineStart), to be completed by the next Write: it returns len(p)
// then, or 0.
func incompleteTail(p []byte, lineStart bool) int {
	switch c := p[0]; {
	case c == ':' && lineStart && len(p) == 1:
		return 1
	case c == 0x1b:
		if len(p) >= maxStyleSequence {
			return 0
		}
		if len(p) >= 2 && p[1] != '[' {
			return 0
		}
		for _, d := range p[min(2, len(p)):] {
			if d < '0' || d > '9' && d != ';' {
				return 0
			}
		}
		return len(p)
	case c >= 0xc0 && len(p) < utf8.UTFMax && !utf8.FullRune(p):
		for _, d := range p[1:] {
			if d&0xc0 != 0x80 {
				return 0
			}
		}
		return len(p)
	}
	return 0
}

// maxStyleSequence bounds the styling sequences SafeWriter passes through.
const maxStyleSequence = 64

// styleSequence returns the length of the styling sequence p starts with
// (ESC [ then digits and semicolons, then m, H, J or K), or 0.
func styleSequence(p []byte) int {
	if len(p) < 3 || p[0] != 0x1b || p[1] != '[' {
		return 0
	}
	for i := 2; i < len(p) && i < maxStyleSequence; i++ {
		switch c := p[i]; {
		case c >= '0' && c <= '9' || c == ';':
		case c == 'm' || c == 'H' || c == 'J' || c == 'K':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

// Cell returns a table cell as it may be printed: untrusted text in it is
// escaped already (Escape, before styling); Cell keeps the colour
// sequences a style added (ESC [ digits/; m) and escapes every other
// control character, so no cell breaks a line or moves the cursor.
func Cell(s string) string {
	i := safePrefix(s, true)
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for i < len(s) {
		if n := colorSequence(s[i:]); n > 0 {
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		var n int
		b, n = appendEscaped(b, s[i:])
		i += n
	}
	return string(b)
}

// colorSequence returns the length of the colour sequence s starts with
// (ESC [ digits/; m), or 0.
func colorSequence(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s) && i < maxStyleSequence; i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9' || c == ';':
		case c == 'm':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}
