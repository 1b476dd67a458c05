package snapshot

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/rescoord/rescoord/internal/jsonw"
)

// AppendJSON appends the snapshot in format v1 to b: the fields of the
// format in their documented order, unknown fields kept (sorted by name),
// empty lists as []. It writes what json.Marshal writes, without
// reflection, so serving a large registry stays cheap.
func (s *Snapshot) AppendJSON(b []byte) []byte {
	b = s.appendHead(b)
	for i := range s.Resources {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.Resources[i].appendJSON(b)
	}
	return s.appendTail(b)
}

// streamChunk is how many bytes WriteJSON gathers before each write.
const streamChunk = 64 << 10

// WriteJSON writes the snapshot to w as AppendJSON does, except that the
// resources come one by one from next instead of from s.Resources: next
// fills r with the following resource (r is reused: next must overwrite
// every field) and returns false after the last. It holds one chunk of
// output at a time, so that a producer with a million resources streams
// them without building the snapshot or its JSON in memory.
func (s *Snapshot) WriteJSON(w io.Writer, next func(r *Resource) bool) error {
	buf := s.appendHead(make([]byte, 0, streamChunk+4<<10))
	var r Resource
	for first := true; next(&r); first = false {
		if !first {
			buf = append(buf, ',')
		}
		buf = r.appendJSON(buf)
		if len(buf) >= streamChunk {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = s.appendTail(buf)
	_, err := w.Write(buf)
	return err
}

// appendHead appends the snapshot up to its resources' opening bracket.
func (s *Snapshot) appendHead(b []byte) []byte {
	b = append(b, `{"format":`...)
	b = appendString(b, s.Format)
	b = append(b, `,"taken_at":`...)
	b = appendTime(b, s.TakenAt)
	b = append(b, `,"source":`...)
	b = s.Source.appendJSON(b)
	b = append(b, `,"limits":`...)
	b = s.Limits.appendJSON(b)
	b = append(b, `,"components":[`...)
	for i := range s.Components {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.Components[i].appendJSON(b)
	}
	b = append(b, `],"resources":[`...)
	return b
}

// appendTail appends the snapshot from its resources' closing bracket.
func (s *Snapshot) appendTail(b []byte) []byte {
	b = append(b, `],"cleanups":[`...)
	for i := range s.Cleanups {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.Cleanups[i].appendJSON(b)
	}
	b = append(b, ']')
	return appendExtra(b, s.Extra)
}

// MarshalJSON writes the snapshot as AppendJSON does.
func (s Snapshot) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

// MarshalJSON writes the component as in the snapshot, unknown fields included.
func (c Component) MarshalJSON() ([]byte, error) { return c.appendJSON(nil), nil }

// MarshalJSON writes the resource as in the snapshot, unknown fields included.
func (r Resource) MarshalJSON() ([]byte, error) { return r.appendJSON(nil), nil }

// MarshalJSON writes the cleanup as in the snapshot.
func (c Cleanup) MarshalJSON() ([]byte, error) { return c.appendJSON(nil), nil }

// AppendJSON appends the resource as in the snapshot (unknown fields
// included) to b, as MarshalJSON writes it, without reflection.
func (r *Resource) AppendJSON(b []byte) []byte { return r.appendJSON(b) }

// appendKey writes "key": after a comma, unless the object that started at
// len(b) == start has no field yet.
func appendKey(b []byte, start int, key string) []byte {
	if len(b) != start {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendStringField writes a string field when it is not empty. start is
// the offset just after the object's '{' (0 when a field always precedes).
func appendStringField(b []byte, start int, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(appendKey(b, start, key), v)
}

func appendIntField(b []byte, start int, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(appendKey(b, start, key), v, 10)
}

func appendTimeField(b []byte, start int, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return appendTime(appendKey(b, start, key), t)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendStrings(b []byte, start int, key string, list []string) []byte {
	if len(list) == 0 {
		return b
	}
	b = appendKey(b, start, key)
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendLabels writes an object of strings, sorted by key, when it is not empty.
func appendLabels(b []byte, start int, key string, m map[string]string) []byte {
	return appendMap(b, start, key, m, appendString)
}

// appendIntMap writes an object of integers, sorted by key, when it is not empty.
func appendIntMap(b []byte, start int, key string, m map[string]int64) []byte {
	return appendMap(b, start, key, m, func(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) })
}

func appendMap[V any](b []byte, start int, key string, m map[string]V, value func([]byte, V) []byte) []byte {
	if len(m) == 0 {
		return b
	}
	b = append(appendKey(b, start, key), '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

// appendRaw appends a raw JSON value kept from the input, compacted; a
// value that is not valid JSON (never so for decoded input) becomes null.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if isCompact(raw) {
		return append(b, raw...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return append(b, "null"...)
	}
	return append(b, buf.Bytes()...)
}

// isCompact reports whether raw holds no white space outside strings.
func isCompact(raw []byte) bool {
	in := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			return false
		}
	}
	return true
}

// appendExtra writes the unknown fields, sorted by name, and closes the object.
func appendExtra(b []byte, extra map[string]json.RawMessage) []byte {
	for _, k := range sortedKeys(extra) {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = appendRaw(b, extra[k])
	}
	return append(b, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendString appends s as json.Marshal quotes it.
func appendString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }
