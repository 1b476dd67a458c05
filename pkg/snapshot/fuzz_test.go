package snapshot

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

// FuzzParse checks that no input makes the decoder panic, that every
// failure is a located *Errors, that what json.Valid rejects is rejected,
// and that what decodes indexes and survives a JSON round trip.
func FuzzParse(f *testing.F) {
	addSeeds(f)
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

// FuzzLoadLarge loads each input as a large file, by windows of a few
// hundred bytes — so strings, keys and elements straddle windows and the
// skimmed outline is put to the test — and wants exactly what Parse
// gives: the same snapshot, or the same errors. Inputs are files of a
// few kilobytes that take milliseconds each: run it with
// -fuzzminimizetime 100x, or the minimization of each new input takes the
// default minute.
func FuzzLoadLarge(f *testing.F) {
	for _, dir := range []string{"snapshots", "broken"} {
		paths, _ := filepath.Glob(filepath.Join(testdata, dir, "*.json"))
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data, uint16(0))
			}
		}
	}
	f.Add([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive"}],"resources":[{"id":"r","type":"file","owner":"c","state":"active","metadata":[{"a":"},{"}, {"b":1}]}]}`), uint16(7))
	f.Add([]byte(`{"resources":[{"id":"r","type":"file","owner":"c","state":"active"}],"components":[{"id":"c","state":"alive"}],"components":[],"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z"}`), uint16(3))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, window uint16) {
		tu := small()
		tu.windowSize = 16 + int(window%1024)
		path := filepath.Join(dir, "snap.json")
		testfs.WriteFile(t, path, data, 0o600)
		want, werr := Parse(append([]byte(nil), data...), path)
		got, gerr := loadTuned(path, tu)
		if errText(werr) != errText(gerr) {
			t.Fatalf("errors differ\nParse: %s\nLoad:  %s", errText(werr), errText(gerr))
		}
		if werr == nil && !sameSnapshot(want, got) {
			a, _ := got.MarshalJSON()
			b, _ := want.MarshalJSON()
			t.Fatalf("snapshots differ\nLoad:  %.2000s\nParse: %.2000s", a, b)
		}
	})
}
