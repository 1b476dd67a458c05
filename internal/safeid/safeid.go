// Package safeid makes ids from untrusted strings that stay distinct once
// written as JSON: JSON writes every invalid UTF-8 byte as U+FFFD, so two
// names that differ only there would become one id (docs/importers.md).
package safeid

import (
	"strings"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Escape writes s with each byte that is not valid UTF-8 as \xNN and each
// backslash doubled: an injective map onto valid UTF-8.
func Escape(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[s[i]>>4])
			b.WriteByte(hexDigits[s[i]&15])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
