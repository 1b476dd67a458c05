// Package jsonw appends JSON strings exactly as encoding/json writes them,
// for the hand-written encoders of snapshots, plans and leak reports.
package jsonw

import "unicode/utf8"

const hex = "0123456789abcdef"

// plainHTML and plainNoHTML mark the bytes that encoding/json copies as
// they are, with and without HTML escaping.
var plainHTML, plainNoHTML = func() (html, noHTML [256]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		noHTML[c] = c != '"' && c != '\\'
		html[c] = noHTML[c] && c != '<' && c != '>' && c != '&'
	}
	return html, noHTML
}()

// AppendString appends s quoted as json.Marshal quotes it: control
// characters, <, > and &, U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, &plainHTML) }

// AppendStringNoHTML is AppendString without escaping <, > and &, as a
// json.Encoder with SetEscapeHTML(false) writes.
func AppendStringNoHTML(dst []byte, s string) []byte { return appendString(dst, s, &plainNoHTML) }

func appendString(dst []byte, s string, plain *[256]bool) []byte {
	dst = append(dst, '"')
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
