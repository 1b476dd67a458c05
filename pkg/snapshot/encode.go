package snapshot

import (
	"bytes"
	"encoding/json"
	"slices"
)

// MarshalJSON writes the snapshot in format v1, keeping unknown fields and
// writing empty lists as [] rather than null.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	type plain Snapshot
	p := plain(s)
	if p.Components == nil {
		p.Components = []Component{}
	}
	if p.Resources == nil {
		p.Resources = []Resource{}
	}
	if p.Cleanups == nil {
		p.Cleanups = []Cleanup{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return withExtra(b, s.Extra), nil
}

// MarshalJSON writes the component as in the snapshot, unknown fields included.
func (c Component) MarshalJSON() ([]byte, error) {
	type plain Component
	b, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	return withExtra(b, c.Extra), nil
}

// MarshalJSON writes the resource as in the snapshot, unknown fields included.
func (r Resource) MarshalJSON() ([]byte, error) {
	type plain Resource
	b, err := json.Marshal(plain(r))
	if err != nil {
		return nil, err
	}
	return withExtra(b, r.Extra), nil
}

// withExtra appends the extra fields, sorted by key, to a JSON object.
func withExtra(obj []byte, extra map[string]json.RawMessage) []byte {
	if len(extra) == 0 {
		return obj
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.Write(obj[:len(obj)-1])
	for _, k := range keys {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k) // never fails for a string
		b.Write(key)
		b.WriteByte(':')
		b.Write(extra[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}
