package snapshot

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the expected errors of testdata/broken")

const testdata = "../../testdata"

func validSnapshots(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testdata, "snapshots", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no valid snapshots: %v", err)
	}
	return paths
}

// TestLoad_ValidSnapshots decodes every valid snapshot in testdata and indexes it.
func TestLoad_ValidSnapshots(t *testing.T) {
	for _, p := range validSnapshots(t) {
		if strings.HasPrefix(filepath.Base(p), "plan-cycle") {
			continue // valid input whose cleanup has no plan
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			s, err := Load(p)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if _, err := NewIndex(s); err != nil {
				t.Fatalf("NewIndex: %v", err)
			}
		})
	}
}

// TestLoad_BrokenSnapshots checks that every broken snapshot in
// testdata/broken fails with exactly the errors in its .err file.
func TestLoad_BrokenSnapshots(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(testdata, "broken", "*.json"))
	if len(paths) < 10 {
		t.Fatalf("expected at least 10 broken snapshots, found %d", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, filepath.Base(p))
			var list *Errors
			if !errors.As(err, &list) {
				t.Fatalf("want *Errors, got %v", err)
			}
			var got strings.Builder
			for _, e := range list.List {
				if e.Path == "" && e.Line == 0 {
					t.Errorf("error without a place: %v", e)
				}
				got.WriteString(e.Error() + "\n")
			}
			golden.Check(t, strings.TrimSuffix(p, ".json")+".err", got.String(), *update, "go test ./pkg/snapshot -update")
		})
	}
}

func TestDecode_Gzip(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "snapshots", "media-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	path := filepath.Join(t.TempDir(), "snap.json.gz")
	testfs.WriteFile(t, path, buf.Bytes(), 0o644)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Resources) != 28 {
		t.Errorf("resources = %d, want 28", len(s.Resources))
	}
	if _, err := Decode(bytes.NewReader(buf.Bytes()[:20]), "cut.gz"); err == nil {
		t.Error("a truncated gzip stream decoded without error")
	}
}

func TestDecode_KeepsUnknownFields(t *testing.T) {
	in := `{"format":"rescoord/v1.3","taken_at":"2026-11-27T12:00:05+01:00","future":{"a":1},
	"components":[{"id":"a","state":"alive","color":"red"}],
	"resources":[{"id":"r","type":"gpu-buffer","owner":"gone","state":"active","extra":[1,2]}]}`
	s, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Extra["future"]); got != `{"a":1}` {
		t.Errorf("top-level extra = %q", got)
	}
	if got := string(s.Components[0].Extra["color"]); got != `"red"` {
		t.Errorf("component extra = %q", got)
	}
	if !s.TakenAt.Equal(time.Date(2026, 11, 27, 11, 0, 5, 0, time.UTC)) {
		t.Errorf("taken_at = %v", s.TakenAt)
	}
	out, err := json.Marshal(s.Resources[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"r","type":"gpu-buffer","owner":"gone","state":"active","extra":[1,2]}`; string(out) != want {
		t.Errorf("resource JSON = %s, want %s", out, want)
	}
}

func TestDecode_MissingOwnerAndParentAreNotErrors(t *testing.T) {
	in := `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z",
	"components":[{"id":"a","parent":"vanished","state":"alive"}],
	"resources":[{"id":"r","type":"worker","owner":"gone","state":"active","depends_on":["nope"]}],
	"cleanups":[{"component":"nobody","priority":1}]}`
	s, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatalf("want findings, not errors: %v", err)
	}
	ix, err := NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Owner(0) != -1 || ix.Parent(0) != -1 || ix.Depth(0) != 0 {
		t.Errorf("owner=%d parent=%d depth=%d, want -1 -1 0", ix.Owner(0), ix.Parent(0), ix.Depth(0))
	}
}

func TestDecode_Strings(t *testing.T) {
	in := `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05.123456789Z","components":[],
	"resources":[{"id":"r\"1\\\/\b\f\n\r\t\u00e9\ud83d\ude00","type":"file","owner":"o","state":"active"}]}`
	s, err := Parse([]byte(in), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Resources[0].ID, "r\"1\\/\b\f\n\r\té😀"; got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	if s.TakenAt.Nanosecond() != 123456789 {
		t.Errorf("nanoseconds = %d", s.TakenAt.Nanosecond())
	}
}

func TestDecode_ErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[],"resources":[`)
	for i := range MaxErrors + 7 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"r","type":"file","owner":"o","state":"bad"}`)
	}
	b.WriteString("]}")
	_, err := Parse([]byte(b.String()), "")
	var list *Errors
	if !errors.As(err, &list) {
		t.Fatal(err)
	}
	if len(list.List) != MaxErrors || list.Total() <= MaxErrors {
		t.Errorf("kept %d of %d errors, want %d kept and more counted", len(list.List), list.Total(), MaxErrors)
	}
	if !strings.Contains(list.Error(), "more errors") {
		t.Errorf("message %q does not count the rest", list.Error())
	}
}

// TestDecode_AgreesWithEncodingJSON decodes the valid snapshots with
// encoding/json too and compares the results field by field.
func TestDecode_AgreesWithEncodingJSON(t *testing.T) {
	for _, p := range validSnapshots(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := Parse(data, p)
		if err != nil {
			t.Fatal(err)
		}
		type plain Snapshot
		var std plain
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(ours)
		std.Extra = ours.Extra
		b, _ := json.Marshal(Snapshot(std))
		// encoding/json drops unknown fields: the testdata snapshots have
		// none below the top level.
		if !bytes.Equal(a, b) {
			t.Errorf("%s: decoders disagree\nours: %s\nstd:  %s", p, a, b)
		}
	}
}
