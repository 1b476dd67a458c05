package snapshot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/gensnap"
)

// TestOutline_WindowsDoNotMatter feeds documents to the structural scan
// whole and cut into windows of many sizes — so that strings, escapes and
// elements straddle them — and wants the same outline every time.
func TestOutline_WindowsDoNotMatter(t *testing.T) {
	var gen bytes.Buffer
	if err := gensnap.Generate(gensnap.Config{Components: 40, Resources: 400, Cleanups: 30, Seed: 3}, &gen); err != nil {
		t.Fatal(err)
	}
	nested := []byte(`{"format":"rescoord/v1","resources":[` +
		`{"id":"a","metadata":[{"a":1},{"b":[{"c":"},{\"]\\"}]},  {"d":"\\\\"}],"x":"[{"},` +
		"\n  " + `{"id":"b","s":"\u005d\"\\"},{"id":"c","m":{"k":[[[]]],"e":{}}}` +
		`],"components":[{"id":"x"}],"cleanups":[],"tail":{"k":[1,{"z":"]"}]}}`)
	for name, doc := range map[string][]byte{"generated": gen.Bytes(), "nested": nested} {
		whole := &outliner{valueOf: -1, cur: -1}
		whole.feed(doc, 0)
		if whole.bad || !whole.done {
			t.Fatalf("%s: the whole document does not outline (bad %v, done %v)", name, whole.bad, whole.done)
		}
		for _, size := range []int{1, 2, 3, 5, 8, 13, 64, 1000} {
			o := &outliner{valueOf: -1, cur: -1}
			for at := 0; at < len(doc); at += size {
				o.feed(doc[at:min(at+size, len(doc))], at)
			}
			if !reflect.DeepEqual(o.out, whole.out) || o.bad || !o.done {
				t.Errorf("%s in windows of %d bytes: outline %+v (bad %v, done %v), want %+v", name, size, o.out, o.bad, o.done, whole.out)
			}
		}
	}
	// Counts, for the nested document: three resources, one component.
	o := &outliner{valueOf: -1, cur: -1}
	o.feed(nested, 0)
	if n := [3]int{o.out.arrays[0].n, o.out.arrays[1].n, o.out.arrays[2].n}; n != [3]int{1, 3, 0} {
		t.Errorf("nested: counted %v elements, want [1 3 0]", n)
	}
}

// TestLoad_SharesRepeatedStacks wants a file loaded by windows to share
// the creation stacks that repeat, each shared list closed to appends.
func TestLoad_SharesRepeatedStacks(t *testing.T) {
	s := loadByWindows(t, gensnap.Config{Components: 300, Resources: 5000, Seed: 5})
	lists := map[*string]bool{}
	stacks := 0
	for i := range s.Resources {
		if cb := s.Resources[i].CreatedBy.Frames(); len(cb) > 0 {
			stacks++
			lists[&cb[0]] = true
			if cap(cb) != len(cb) {
				t.Fatalf("resources[%d].created_by has room to grow (cap %d, len %d)", i, cap(cb), len(cb))
			}
		}
	}
	if stacks < 4000 || len(lists)*4 > stacks {
		t.Errorf("%d creation stacks in %d lists, want them shared", stacks, len(lists))
	}
}

// loadByWindows generates a snapshot, writes it to a file and loads it
// as a large file, by windows of 64 KiB.
func loadByWindows(t *testing.T, cfg gensnap.Config) *Snapshot {
	t.Helper()
	s, _ := loadByWindowsTables(t, cfg)
	return s
}

// loadByWindowsTables is loadByWindows with the decoder's id tables.
func loadByWindowsTables(t *testing.T, cfg gensnap.Config) (*Snapshot, *tables) {
	t.Helper()
	path := writeTemp(t, "snap.json", generated(t, cfg))
	tu := small()
	s, tabs, err := load(context.Background(), path, Options{tune: &tu})
	if err != nil {
		t.Fatal(err)
	}
	return s, tabs
}

// TestLoad_SkimsAndFallsBackToTheExactOutline wants generated files
// loaded with the skimmed outline, and files where a '}' followed by
// ",{" stands inside an element (an array of objects in metadata, a
// string) loaded all the same, through the exact outline, equal to Parse.
func TestLoad_SkimsAndFallsBackToTheExactOutline(t *testing.T) {
	var gen bytes.Buffer
	if err := gensnap.Generate(gensnap.Config{Components: 300, Resources: 4000, Seed: 6}, &gen); err != nil {
		t.Fatal(err)
	}
	trapped := func(old, new string) []byte {
		if !bytes.Contains(gen.Bytes(), []byte(old)) {
			t.Fatalf("no %s in the generated snapshot", old)
		}
		return bytes.Replace(gen.Bytes(), []byte(old), []byte(new), 1)
	}
	for name, tc := range map[string]struct {
		data  []byte
		skims bool
	}{
		"generated":         {gen.Bytes(), true},
		"objects in arrays": {trapped(`"metadata":{`, `"metadata":{"list":[{"a":1}, {"b":2}],`), false},
		"in a string":       {trapped(`"name":"`, `"name":"}, {\"x`), false},
		"last in a string":  {trapped(`"name":"`, `"name":"}]`), false},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snap.json")
			testfs.WriteFile(t, path, tc.data, 0o644)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			size := int64(len(tc.data))
			bufs := [2][]byte{make([]byte, small().windowSize), make([]byte, small().windowSize)}
			if _, _, ok := loadWindows(context.Background(), f, size, path, bufs, true, true, small()); ok != tc.skims {
				t.Errorf("loading with the skimmed outline: ok %v, want %v", ok, tc.skims)
			}
			got, ok := loadLarge(context.Background(), f, size, path, small())
			if !ok {
				t.Fatal("loadLarge gave up")
			}
			want, err := Parse(append([]byte(nil), tc.data...), path)
			if err != nil {
				t.Fatal(err)
			}
			if !sameSnapshot(want, got) {
				t.Error("Load and Parse disagree")
			}
		})
	}
}

// TestLoad_NoCollect: loading a large file forces a collection, and
// Options.NoCollect turns it off.
func TestLoad_NoCollect(t *testing.T) {
	path := writeTemp(t, "snap.json", generated(t, gensnap.Config{Components: 300, Resources: 5000, Seed: 3}))
	forced := func(opts Options) uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(s)
		before := s[0].Value.Uint64()
		tu := small()
		opts.tune = &tu
		if _, err := LoadIndex(context.Background(), path, opts); err != nil {
			t.Fatal(err)
		}
		metrics.Read(s)
		return s[0].Value.Uint64() - before
	}
	if n := forced(Options{}); n == 0 {
		t.Error("loading a large file forced no collection")
	}
	if n := forced(Options{NoCollect: true}); n != 0 {
		t.Errorf("NoCollect: %d forced collections", n)
	}
}

// TestLoad_HandsBackItsWindows loads files by windows large enough to be
// handed back to the system once read (hugemem.Release), and wants the
// snapshot equal to Parse's all the same: nothing it holds — ids, names,
// metadata, labels, unknown fields, stacks — may point into a window.
func TestLoad_HandsBackItsWindows(t *testing.T) {
	for _, name := range gensnap.Shapes {
		t.Run(name, func(t *testing.T) {
			shape, _ := gensnap.ParseShape(name)
			data := generated(t, gensnap.Config{Components: 400, Resources: 12000, Cleanups: 600, Seed: 8, Shape: shape})
			tu := small()
			tu.windowSize = 1 << 20 // the least hugemem.Release gives back
			if len(data) < 3*tu.windowSize {
				t.Fatalf("a file of %d bytes: want several windows", len(data))
			}
			got, err := LoadContext(context.Background(), writeTemp(t, "snap.json", data), Options{tune: &tu})
			if err != nil {
				t.Fatal(err)
			}
			want, err := Parse(data, "snap.json")
			if err != nil {
				t.Fatal(err)
			}
			if !sameSnapshot(want, got) {
				t.Error("Load and Parse disagree")
			}
		})
	}
}

// The workers take a window's groups one at a time, whichever is free,
// from windows of many groups and windows of one group larger than the
// buffer: the snapshot is Parse's, without the strict decoder, with one
// worker and with several.
func TestLoad_GroupsTakenOneAtATime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, name := range gensnap.Shapes {
		shape, _ := gensnap.ParseShape(name)
		data := generated(t, gensnap.Config{Components: 500, Resources: 20*markEvery + 17, Cleanups: 900, Seed: 5, Shape: shape})
		path := writeTemp(t, "snap.json", data)
		want, err := Parse(append([]byte(nil), data...), path)
		if err != nil {
			t.Fatal(err)
		}
		for _, window := range []int{64 << 10, 2 << 20} {
			for _, procs := range []int{1, 3} {
				runtime.GOMAXPROCS(procs)
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				tu := small()
				tu.windowSize = window
				got, ok := loadLarge(context.Background(), f, int64(len(data)), path, tu)
				f.Close()
				if !ok {
					t.Fatalf("%s, %d-byte windows, %d cores: loadLarge gave up", name, window, procs)
				}
				if !sameSnapshot(want, got) {
					t.Fatalf("%s, %d-byte windows, %d cores: Load and Parse disagree", name, window, procs)
				}
			}
		}
	}
}
