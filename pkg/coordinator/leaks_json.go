package coordinator

import (
	"strconv"
	"unicode/utf8"
)

// MarshalJSON writes the finding in the SPEC §5 shape: rule, severity,
// resource (id or null), component (id or null), signature, message and
// path, plus suppressed_by when an entry with action report matched it.
func (f Finding) MarshalJSON() ([]byte, error) {
	return f.AppendJSON(nil, "", ""), nil
}

// AppendJSON appends the finding's JSON to dst, formatted like
// json.MarshalIndent with prefix and indent (compact when both are
// empty). It allocates nothing beyond dst: reports of a million
// findings write through it.
func (f *Finding) AppendJSON(dst []byte, prefix, indent string) []byte {
	w := jsonWriter{dst: dst, prefix: prefix, indent: indent}
	w.open('{')
	w.key("rule")
	w.str(string(f.Rule))
	w.key("severity")
	w.str(f.Severity.String())
	w.key("resource")
	w.strOrNull(f.ResourceID)
	w.key("component")
	w.strOrNull(f.ComponentID)
	w.key("signature")
	w.str(f.Signature)
	w.key("message")
	w.str(f.Message)
	w.key("path")
	if len(f.Path) == 0 {
		w.dst = append(w.dst, "[]"...)
	} else {
		w.open('[')
		for _, p := range f.Path {
			w.elem()
			w.str(p)
		}
		w.close(']')
	}
	if s := f.SuppressedBy; s != nil {
		w.key("suppressed_by")
		w.open('{')
		w.key("file")
		w.str(s.File)
		w.key("line")
		w.dst = strconv.AppendInt(w.dst, int64(s.Line), 10)
		w.key("action")
		w.str(string(s.Action))
		w.key("reason")
		w.str(s.Reason)
		w.close('}')
	}
	w.close('}')
	return w.dst
}

// jsonWriter appends indented JSON the way encoding/json indents it.
type jsonWriter struct {
	dst            []byte
	prefix, indent string
	depth          int
	first          bool
}

func (w *jsonWriter) newline() {
	if w.prefix == "" && w.indent == "" {
		return
	}
	w.dst = append(w.dst, '\n')
	w.dst = append(w.dst, w.prefix...)
	for range w.depth {
		w.dst = append(w.dst, w.indent...)
	}
}

func (w *jsonWriter) open(c byte) {
	w.dst = append(w.dst, c)
	w.depth++
	w.first = true
}

func (w *jsonWriter) close(c byte) {
	w.depth--
	w.newline()
	w.dst = append(w.dst, c)
	w.first = false
}

// elem starts an array element or an object member.
func (w *jsonWriter) elem() {
	if !w.first {
		w.dst = append(w.dst, ',')
	}
	w.first = false
	w.newline()
}

func (w *jsonWriter) key(k string) {
	w.elem()
	w.str(k)
	w.dst = append(w.dst, ':')
	if w.prefix != "" || w.indent != "" {
		w.dst = append(w.dst, ' ')
	}
}

func (w *jsonWriter) strOrNull(s string) {
	if s == "" {
		w.dst = append(w.dst, "null"...)
		return
	}
	w.str(s)
}

func (w *jsonWriter) str(s string) { w.dst = AppendJSONString(w.dst, s) }

const hexDigits = "0123456789abcdef"

// plain8 reports whether the 8 bytes of s are all printable ASCII other
// than " and \, which JSON strings hold as they are: AppendJSONString
// skips them a word at a time.
func plain8(s string) bool {
	_ = s[7]
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	control := (x - 0x20*ones) &^ x & highs // a byte below 0x20
	return control|hasZero(x^('"'*ones))|hasZero(x^('\\'*ones))|x&highs == 0
}

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// does with HTML escaping off: invalid UTF-8 becomes U+FFFD, and U+2028
// and U+2029 are escaped.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
