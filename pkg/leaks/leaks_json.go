package leaks

import (
	"strconv"

	"github.com/rescoord/rescoord/internal/jsonw"
)

// MarshalJSON writes the finding in the shape docs/leaks.md gives: rule, severity,
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
	w.strField("rule", string(f.Rule))
	w.strField("severity", f.Severity.String())
	w.key("resource")
	w.strOrNull(f.ResourceID)
	w.key("component")
	w.strOrNull(f.ComponentID)
	w.strField("signature", f.Signature)
	w.strField("message", f.Message)
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
	if f.PathElided > 0 {
		w.key("path_elided")
		w.dst = strconv.AppendInt(w.dst, int64(f.PathElided), 10)
	}
	if u := f.Untracked; u != nil {
		w.key("untracked")
		w.open('{')
		w.strField("type", u.Type)
		w.strField("name", u.Name)
		w.strField("detail", u.Detail)
		w.close('}')
	}
	if s := f.SuppressedBy; s != nil {
		w.key("suppressed_by")
		w.open('{')
		w.strField("file", s.File)
		w.key("line")
		w.dst = strconv.AppendInt(w.dst, int64(s.Line), 10)
		w.strField("action", string(s.Action))
		w.strField("reason", s.Reason)
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

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// does with HTML escaping off: invalid UTF-8 becomes U+FFFD, and U+2028
// and U+2029 are escaped.
func AppendJSONString(dst []byte, s string) []byte { return jsonw.AppendStringNoHTML(dst, s) }

// strField writes the member "k": s.
func (w *jsonWriter) strField(k, s string) {
	w.key(k)
	w.str(s)
}
