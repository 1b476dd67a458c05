package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/gensnap"
)

// The fast path must decode exactly what the strict decoder decodes and
// fail exactly as it fails. These tests decode each input both ways and
// compare everything: the snapshot, field by field, and every error.

// compareModes decodes data with and without the fast path and fails the
// test where the results differ.
func compareModes(t testing.TB, data []byte) {
	t.Helper()
	want, werr := parse(context.Background(), append([]byte(nil), data...), "in", true, small())
	got, gerr := parse(context.Background(), append([]byte(nil), data...), "in", false, small())
	if errText(werr) != errText(gerr) {
		t.Fatalf("errors differ\nstrict: %s\nfast:   %s", errText(werr), errText(gerr))
	}
	if werr != nil {
		return
	}
	if !sameSnapshot(want, got) {
		a, _ := got.MarshalJSON()
		b, _ := want.MarshalJSON()
		t.Fatalf("snapshots differ\nfast:   %.2000s\nstrict: %.2000s", a, b)
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	var list *Errors
	if !errors.As(err, &list) {
		return "not *Errors: " + err.Error()
	}
	var b strings.Builder
	for _, e := range list.List {
		b.WriteString(e.Error() + "\n")
	}
	fmt.Fprintf(&b, "(+%d)", list.Truncated)
	return b.String()
}

// sameSnapshot compares two snapshots.
func sameSnapshot(a, b *Snapshot) bool { return reflect.DeepEqual(*a, *b) }

func TestFast_AgreesWithStrictOnTestdata(t *testing.T) {
	for _, dir := range []string{"snapshots", "broken"} {
		paths, _ := filepath.Glob(filepath.Join(testdata, dir, "*.json"))
		for _, p := range paths {
			t.Run(dir+"/"+filepath.Base(p), func(t *testing.T) {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				compareModes(t, data)
			})
		}
	}
}

// small is the tuning of the tests: arrays of a few thousand elements
// split between cores, and every file read by windows of 64 KiB.
func small() tuning {
	return tuning{minParallel: 2 * markEvery, largeFile: 0, windowSize: 64 << 10}
}

// loadTuned is Load with the tuning tu.
func loadTuned(path string, tu tuning) (*Snapshot, error) {
	return LoadContext(context.Background(), path, Options{tune: &tu})
}

func TestFast_AgreesWithStrictOnGenerated(t *testing.T) {
	t.Parallel()
	for _, cfg := range []gensnap.Config{
		gensnap.Tiny,
		{Components: 800, Resources: 8_000, Cleanups: 500, Seed: 7, Cycles: 2}, // parallel chunks
		{Components: 0, Resources: 0, Cleanups: 0, Seed: 3},
		{Components: 5, Resources: 0, Cleanups: 3, Seed: 4},
	} {
		t.Run(fmt.Sprint(cfg.Resources, "/", cfg.Seed), func(t *testing.T) {
			var buf bytes.Buffer
			if err := gensnap.Generate(cfg, &buf); err != nil {
				t.Fatal(err)
			}
			compareModes(t, buf.Bytes())
		})
	}
}

// fastCases are small inputs that take the fast path's rarer branches and
// its hand-offs to the strict decoder.
var fastCases = []string{
	// nulls, empty lists and objects, unknown fields, escapes
	`{"id":"r","type":"worker","owner":"o","state":"active","name":null,"running":null,"size_bytes":null,"created_at":null,"depends_on":null,"cleanup":null,"created_by":null,"metadata":null}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","depends_on":[],"created_by":[null,"a",null],"cleanup":{},"metadata":{}}`,
	`{"id":"r\u0031","type":"x\"y","owner":"","state":"releasing","cleanup":{"strategy":null,"timeout_ms":null,"other":[1,{"a":-1.5e3}]},"zzz":null,"y":[true,false]}`,
	`{"i\u0064":"r","type":"timer","owner":"o","state":"released","running":false}`,
	` { "id" : "r" , "type" : "socket" , "owner" : "o" , "state" : "active" , "size_bytes" : 0 } `,
	// what the strict decoder reports
	`{"id":"r","type":"worker","owner":"o","state":"active","id":"s"}`,
	`{"id":"","type":"worker","owner":"o","state":"active"}`,
	`{"id":"r","type":"","owner":"o","state":"active"}`,
	`{"id":"r","type":"worker","owner":null,"state":"active"}`,
	`{"id":"r","type":"worker","owner":"o","state":"gone"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":-1}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":-0}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":1.0}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":1e3}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":01}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":99999999999999999999}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","size_bytes":123456789012345678}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","created_at":"2026-02-30T00:00:00Z"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","created_at":"2026-11-27T12:00:05+01:00"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","depends_on":"a"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","depends_on":[1]}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","running":"yes"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","metadata":{"a":[1,2,}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","metadata":01}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","name":"a\x01b"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active","name":"a\qb"}`,
	`{"id":"r","type":"worker","owner":"o","state":"active",}`,
	`{"id":"r","type":"worker","owner":"o"}`,
	`["not","an","object"]`,
	`{"id":"r","type":"worker","owner":"o","state":"active"} {`,
}

func TestFast_AgreesWithStrictOnEdgeCases(t *testing.T) {
	t.Parallel()
	comp := `{"id":"c","state":"alive","labels":{"a":"b","n":null},"parent":null,"type":null,"created_at":null,"destroyed_at":null,"x":1}`
	cleanup := `{"id":null,"component":"c","priority":-3,"timeout_ms":null,"extra":{}}`
	for i, res := range fastCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			for _, n := range []int{1, 3, small().minParallel + 5} {
				var b strings.Builder
				b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[` + comp + `],"resources":[`)
				for k := range n {
					if k > 0 {
						b.WriteString(",\n")
					}
					if k == n/2 {
						b.WriteString(res)
					} else {
						fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active"}`, k)
					}
				}
				b.WriteString(`],"cleanups":[` + cleanup + `]}`)
				compareModes(t, []byte(b.String()))
			}
		})
	}
}

func TestFast_DuplicateIDsFallBackToStrictErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive"},{"id":"c","state":"alive"}],"resources":[`)
	n := small().minParallel * 3
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		id := k
		if k == n-1 || k == n/2 {
			id = 7 // duplicates in two different chunks
		}
		fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active"}`, id)
	}
	b.WriteString(`]}`)
	compareModes(t, []byte(b.String()))
	_, err := Parse([]byte(b.String()), "in")
	if got := errText(err); strings.Count(got, "duplicate") != 3 {
		t.Errorf("want 3 duplicate errors, got\n%s", got)
	}
}

// FuzzFastAgreesWithStrict decodes each input both ways.
func FuzzFastAgreesWithStrict(f *testing.F) {
	addSeeds(f)
	for _, res := range fastCases {
		f.Add([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive"}],"resources":[` + res + `],"cleanups":[{"component":"c","priority":1}]}`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareModes(t, data)
	})
}

// TestLoad_LargeFilesAgreeWithParse loads files by windows (with tiny
// windows, so elements straddle them) and compares with Parse.
func TestLoad_LargeFilesAgreeWithParse(t *testing.T) {
	t.Parallel()

	gen := func(cfg gensnap.Config) []byte {
		var buf bytes.Buffer
		if err := gensnap.Generate(cfg, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	big := gen(gensnap.Config{Components: 800, Resources: 8_000, Cleanups: 500, Seed: 9})
	// The same with resources before components, and nested arrays of
	// objects that look like array elements around the middle.
	var reordered bytes.Buffer
	{
		s, err := Parse(append([]byte(nil), big...), "")
		if err != nil {
			t.Fatal(err)
		}
		reordered.WriteString(`{"resources":[`)
		for i := range s.Resources {
			if i > 0 {
				reordered.WriteString(",\n")
			}
			r := s.Resources[i]
			if i%97 == 0 {
				r.Metadata = NewMetadata([]byte(`[{"a":1},{"b":[{"c":"},{\""}]},  {"d":2}]`))
			}
			b, _ := r.MarshalJSON()
			reordered.Write(b)
		}
		reordered.WriteString(`],"taken_at":"2026-11-27T12:00:05Z","components":`)
		b, _ := json.Marshal(s.Components)
		reordered.Write(b)
		reordered.WriteString(`,"format":"rescoord/v1"}`)
	}
	broken := bytes.Replace(big, []byte(`"state":"active"`), []byte(`"state":"bogus"`), 1)
	dup := bytes.Replace(big, []byte(`"id":"r-7000"`), []byte(`"id":"r-3"`), 1)
	huge := gen(gensnap.Config{Components: 10, Resources: 3000, Seed: 2})
	huge = bytes.Replace(huge, []byte(`"metadata":{`), []byte(`"metadata":{"blob":"`+strings.Repeat("x", 200<<10)+`",`), 1)

	for name, data := range map[string][]byte{
		"generated": big, "reordered": reordered.Bytes(), "broken": broken,
		"duplicate": dup, "huge-element": huge, "empty": []byte(`{}`),
		"trailing": append(append([]byte(nil), big...), `{}`...),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snap.json")
			testfs.WriteFile(t, path, data, 0o644)
			want, werr := Parse(append([]byte(nil), data...), path)
			got, gerr := loadTuned(path, small())
			if errText(werr) != errText(gerr) {
				t.Fatalf("errors differ\nParse: %s\nLoad:  %s", errText(werr), errText(gerr))
			}
			if werr == nil && !sameSnapshot(want, got) {
				t.Fatal("Load and Parse disagree")
			}
			if werr == nil {
				if _, err := NewIndex(got); err != nil {
					t.Fatal(err)
				}
			}
			// Valid input must not have needed the fallback.
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, ok := loadLarge(context.Background(), f, int64(len(data)), path, small()); ok != (werr == nil) {
				t.Errorf("loadLarge ok = %v, want %v", ok, werr == nil)
			}
		})
	}
}

// TestDecoders_DuplicateKeysAreErrors: a key given twice in any object is
// an input error at the second, in both decoders, in an array small or
// large enough to be split between cores, and by the large-file loader.
func TestDecoders_DuplicateKeysAreErrors(t *testing.T) {
	t.Parallel()
	tiny := small()
	tiny.windowSize = 4 << 10
	const res = `{"id":"r-%d","type":"file","owner":"c","state":"active"}`
	for _, tc := range []struct{ comp, res, cleanup, key string }{
		{res: `{"id":"x","type":"file","owner":"c","state":"active","state":"released"}`, key: "state"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","size_bytes":1,"size_bytes":2}`, key: "size_bytes"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","x-a":1,"x-b":2,"x-a":3}`, key: "x-a"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","metadata":{"a":{"b":1,"c":2,"b":3}}}`, key: "b"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","metadata":{"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"k10":1,"k3":2}}`, key: "k3"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","metadata":{"a":1,"\u0061":2}}`, key: "a"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","cleanup":{"strategy":"callback","strategy":"none"}}`, key: "strategy"},
		{res: `{"id":"x","type":"file","owner":"c","state":"active","cleanup":{"y":1,"y":2}}`, key: "y"},
		{comp: `{"id":"d","state":"alive","labels":{"a":null,"a":"b"}}`, key: "a"},
		{comp: `{"id":"d","state":"alive","parent":"c","parent":null}`, key: "parent"},
		{cleanup: `{"component":"c","priority":1,"name":"a","name":"b"}`, key: "name"},
		{cleanup: `{"component":"c","priority":1,"q":[],"q":{}}`, key: "q"},
	} {
		comps := `{"id":"c","state":"alive"}`
		if tc.comp != "" {
			comps += "," + tc.comp
		}
		for _, n := range []int{1, small().minParallel + 5} {
			var b strings.Builder
			b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[` + comps + `],"resources":[`)
			for k := range n {
				if k > 0 {
					b.WriteString(",\n")
				}
				if k == n/2 && tc.res != "" {
					b.WriteString(tc.res)
				} else {
					fmt.Fprintf(&b, res, k)
				}
			}
			b.WriteString(`],"cleanups":[{"component":"c","priority":0}`)
			if tc.cleanup != "" {
				b.WriteString("," + tc.cleanup)
			}
			b.WriteString(`]}`)
			data := []byte(b.String())
			compareModes(t, data)
			_, err := Parse(append([]byte(nil), data...), "in")
			want := regexp.MustCompile(`^in:\d+:\d+: [^ ]*` + regexp.QuoteMeta(tc.key) + `: duplicate key "` + regexp.QuoteMeta(tc.key) + `"\n\(\+0\)$`)
			if got := errText(err); !want.MatchString(got) {
				t.Errorf("%d elements, %s: error %q, want one duplicate key %q", n, tc.res+tc.comp+tc.cleanup, got, tc.key)
			}
			path := filepath.Join(t.TempDir(), "snap.json")
			testfs.WriteFile(t, path, data, 0o600)
			_, lerr := loadTuned(path, tiny)
			if errText(lerr) != strings.ReplaceAll(errText(err), "in:", path+":") {
				t.Errorf("Load: %s, Parse: %s", errText(lerr), errText(err))
			}
		}
	}
}

// TestDecoders_TimeoutAboveTheMaximum: timeout_ms up to MaxTimeoutMS is
// read, one more is an error at the value, in both decoders.
func TestDecoders_TimeoutAboveTheMaximum(t *testing.T) {
	t.Parallel()
	for _, ms := range []int64{MaxTimeoutMS, MaxTimeoutMS + 1, 9223372036855} {
		for _, n := range []int{1, small().minParallel + 5} {
			var b strings.Builder
			b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive"}],"resources":[`)
			for k := range n {
				if k > 0 {
					b.WriteString(",\n")
				}
				fmt.Fprintf(&b, `{"id":"r-%d","type":"custom","owner":"c","state":"active"`, k)
				if k == n-1 {
					fmt.Fprintf(&b, `,"cleanup":{"timeout_ms":%d}`, ms)
				}
				b.WriteString("}")
			}
			fmt.Fprintf(&b, `],"cleanups":[{"component":"c","priority":0,"timeout_ms":%d}]}`, ms)
			data := []byte(b.String())
			compareModes(t, data)
			s, err := Parse(data, "in")
			if ms <= MaxTimeoutMS {
				if err != nil || *s.Cleanups[0].TimeoutMS != ms || *s.Resources[n-1].Cleanup.TimeoutMS != ms {
					t.Errorf("timeout_ms %d: %v", ms, err)
				}
				continue
			}
			got := errText(err)
			want := fmt.Sprintf(`resources[%d].cleanup.timeout_ms: timeout_ms %d is more than the maximum`, n-1, ms)
			if !strings.Contains(got, want) || !strings.Contains(got, "cleanups[0].timeout_ms: timeout_ms") {
				t.Errorf("timeout_ms %d: errors\n%s", ms, got)
			}
		}
	}
}

// Elements with the same unknown fields share one Extra map, on both the
// in-memory and the windowed path; others have maps of their own; the
// unknown fields of an element the fast path gives up on (a 19-digit
// size, which only the strict decoder reads) do not reach the next one.
func TestFast_SameUnknownFieldsShareAMap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive","v":2},{"id":"d","state":"alive","v":2}],"resources":[`)
	n := small().minParallel * 3
	elements(&b, n, func(k int) {
		switch {
		case k == n/2:
			fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active","gone":1,"size_bytes":1234567890123456789}`, k)
		case k%2 == 0:
			fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active","labels":{"tab":"t1"},"v":2}`, k)
		default:
			fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active"}`, k)
		}
	})
	b.WriteString(`]}`)
	data := []byte(b.String())
	compareModes(t, data)
	mapOf := func(m map[string]json.RawMessage) uintptr { return reflect.ValueOf(m).Pointer() }
	check := func(how string, s *Snapshot) {
		t.Helper()
		if mapOf(s.Components[0].Extra) != mapOf(s.Components[1].Extra) {
			t.Errorf("%s: the components' equal unknown fields are two maps", how)
		}
		shared, maps := mapOf(s.Resources[0].Extra), map[uintptr]bool{}
		for k, r := range s.Resources {
			switch {
			case k == n/2:
				if string(r.Extra["gone"]) != "1" || len(r.Extra) != 1 || mapOf(r.Extra) == shared {
					t.Errorf("%s: resource %d: Extra %v", how, k, r.Extra)
				}
			case k%2 == 0:
				if string(r.Extra["labels"]) != `{"tab":"t1"}` || string(r.Extra["v"]) != "2" || len(r.Extra) != 2 {
					t.Errorf("%s: resource %d: Extra %v", how, k, r.Extra)
				}
				maps[mapOf(r.Extra)] = true
			default:
				if r.Extra != nil {
					t.Errorf("%s: resource %d: Extra %v, want none", how, k, r.Extra)
				}
			}
		}
		// Each cursor has its cache: a map per worker at most, and one
		// for the strict decoder's cursor after the element it took over.
		if len(maps) > runtime.GOMAXPROCS(0)+1 {
			t.Errorf("%s: %d maps for %d equal sets of unknown fields", how, len(maps), n/2)
		}
	}
	bothWays(t, data, check)
}

// Components with the same labels share one map, in memory and by
// windows; labels that differ, by a value, a key or a null, do not.
func TestFast_SameLabelsShareAMap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[`)
	n := small().minParallel * 3
	elements(&b, n, func(k int) {
		switch {
		case k == n/2:
			fmt.Fprintf(&b, `{"id":"c-%d","state":"alive","labels":{"kind":"tab","app":"other"}}`, k)
		case k == n/2+1:
			fmt.Fprintf(&b, `{"id":"c-%d","state":"alive","labels":{"kind":"tab","app":"media","x":"y"}}`, k)
		case k == n/2+2:
			fmt.Fprintf(&b, `{"id":"c-%d","state":"alive","labels":{"kind":"tab","app":null}}`, k)
		case k%3 == 0:
			fmt.Fprintf(&b, `{"id":"c-%d","state":"alive"}`, k)
		default:
			fmt.Fprintf(&b, `{"id":"c-%d","state":"alive","labels":{"kind":"tab","app":"media"}}`, k)
		}
	})
	b.WriteString(`],"resources":[]}`)
	data := []byte(b.String())
	compareModes(t, data)
	mapOf := func(m map[string]string) uintptr { return reflect.ValueOf(m).Pointer() }
	check := func(how string, s *Snapshot) {
		t.Helper()
		maps := map[uintptr]bool{}
		for k, c := range s.Components {
			want := map[string]string{"kind": "tab", "app": "media"}
			switch {
			case k == n/2:
				want["app"] = "other"
			case k == n/2+1:
				want["x"] = "y"
			case k == n/2+2:
				delete(want, "app")
			case k%3 == 0:
				want = nil
			}
			if !reflect.DeepEqual(c.Labels, want) {
				t.Fatalf("%s: component %d: labels %v, want %v", how, k, c.Labels, want)
			}
			if k >= n/2 && k <= n/2+2 {
				if maps[mapOf(c.Labels)] {
					t.Errorf("%s: component %d shares the map of other labels", how, k)
				}
			} else if want != nil {
				maps[mapOf(c.Labels)] = true
			}
		}
		// Each cursor has its cache: a map per worker at most.
		if len(maps) > runtime.GOMAXPROCS(0)+1 {
			t.Errorf("%s: %d maps for one set of labels", how, len(maps))
		}
	}
	bothWays(t, data, check)
}

// bothWays decodes data on the fast path in memory and by windows, and
// checks each snapshot.
func bothWays(t *testing.T, data []byte, check func(how string, s *Snapshot)) {
	t.Helper()
	s, err := parse(context.Background(), append([]byte(nil), data...), "in", false, small())
	if err != nil {
		t.Fatal(err)
	}
	check("in memory", s)
	s, err = loadTuned(writeTemp(t, "snap.json", data), small())
	if err != nil {
		t.Fatal(err)
	}
	check("by windows", s)
}

// elements writes n elements of an array to b, element k by write(k),
// one a line.
func elements(b *strings.Builder, n int, write func(k int)) {
	for k := range n {
		if k > 0 {
			b.WriteString(",\n")
		}
		write(k)
	}
}

// The fast path reads a resource's keys in the order the encoders write
// them by comparing bytes (lexer.object's known), and any other way of
// writing them as before: out of order, escaped, spaced before the
// colon, next to an unknown key that starts like a known one. A key given
// twice still leaves the object to the strict decoder.
func TestFast_KeysInTheirOrder(t *testing.T) {
	const inOrder = `{"id":"r","type":"file","owner":"c","name":"n","state":"active","running":true,"size_bytes":7,"created_at":"2026-11-27T12:00:00Z","depends_on":["q"],"created_by":["a.py:1 f"],"metadata":{"k":1}}`
	cases := []struct {
		name, text string
		ok         bool
	}{
		{"in order", inOrder, true},
		{"reversed", `{"metadata":{"k":1},"created_by":["a.py:1 f"],"depends_on":["q"],"created_at":"2026-11-27T12:00:00Z","size_bytes":7,"running":true,"state":"active","name":"n","owner":"c","type":"file","id":"r"}`, true},
		{"escaped", strings.Replace(strings.Replace(inOrder, `"name"`, `"\u006eame"`, 1), `"owner"`, `"ow\u006eer"`, 1), true},
		{"spaced", strings.ReplaceAll(inOrder, `":`, `" :`), true},
		{"unknown like a known one", strings.Replace(inOrder, `"name":"n"`, `"names":"x","name":"n"`, 1), true},
		{"unknown as long as the one expected", strings.Replace(inOrder, `"name":"n"`, `"nome":"x","name":"n"`, 1), true},
		{"given twice", strings.Replace(inOrder, `"name":"n"`, `"name":"n","name":"n"`, 1), false},
		{"known twice, expected", strings.Replace(inOrder, `"state":"active"`, `"state":"active","owner":"c"`, 1), false},
	}
	for _, c := range cases {
		f := &fast{lexer: lexer{data: []byte(c.text)}}
		var r Resource
		_, ok := f.resource(&r)
		if ok != c.ok {
			t.Fatalf("%s: fast path ok %v, want %v", c.name, ok, c.ok)
		}
		if !ok {
			continue
		}
		if f.pos != len(c.text) || r.ID != "r" || r.Type != "file" || r.Owner != "c" || r.Name != "n" || r.State != StateActive ||
			!r.Running || r.SizeBytes != 7 || r.CreatedAt.IsZero() || len(r.DependsOn) != 1 || r.CreatedBy.Top() != "a.py:1 f" || r.Metadata.IsZero() {
			t.Errorf("%s: %+v (read to %d of %d)", c.name, r, f.pos, len(c.text))
		}
		if c.name == "unknown like a known one" && string(r.Extra["names"]) != `"x"` || c.name == "unknown as long as the one expected" && string(r.Extra["nome"]) != `"x"` {
			t.Errorf("%s: extra %v", c.name, r.Extra)
		}
	}
}
