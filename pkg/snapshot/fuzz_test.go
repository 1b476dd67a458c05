package snapshot

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes the decoder panic, that every
// failure is a located *Errors, that what json.Valid rejects is rejected,
// and that what decodes indexes and survives a JSON round trip.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"snapshots", "broken"} {
		paths, _ := filepath.Glob(filepath.Join(testdata, dir, "*.json"))
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[],"resources":[]}`))
	f.Add([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"a","state":"alive","parent":"a"}],"resources":[]}`))
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(append([]byte(nil), data...), "fuzz")
		if err != nil {
			var list *Errors
			if !errors.As(err, &list) || len(list.List) == 0 {
				t.Fatalf("error is not a located *Errors: %v", err)
			}
			for _, e := range list.List {
				if e.Msg == "" {
					t.Fatalf("error without a message: %#v", e)
				}
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted input that is not valid JSON")
		}
		if _, err := NewIndex(s); err != nil {
			t.Fatalf("decoded snapshot does not index: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse(out, "round-trip")
		if err != nil {
			t.Fatalf("round trip failed: %v\n%s", err, out)
		}
		// Invalid UTF-8 is written as \ufffd (as encoding/json does), which
		// decodes to a real U+FFFD: the encoding is stable from then on.
		out2, _ := json.Marshal(again)
		third, err := Parse(out2, "round-trip")
		if err != nil {
			t.Fatalf("second round trip failed: %v\n%s", err, out2)
		}
		if out3, _ := json.Marshal(third); string(out2) != string(out3) {
			t.Fatalf("round trip changed the snapshot:\n%s\n%s", out2, out3)
		}
	})
}
