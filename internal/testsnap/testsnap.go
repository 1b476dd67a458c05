// Package testsnap builds the snapshot indexes the planner's and the leak
// rules' tests share: the demo (testdata/snapshots/media-app.json, as
// docs/snapshot-format.md shows it) and small snapshots written inline.
package testsnap

import (
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// root is the repository's root, found from this file's place in it.
var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// Demo returns the index of the built-in demo snapshot.
func Demo(t testing.TB) *snapshot.Index {
	t.Helper()
	return File(t, filepath.Join(root, "testdata", "snapshots", "media-app.json"))
}

// File loads and indexes the snapshot at path.
func File(t testing.TB, path string) *snapshot.Index {
	t.Helper()
	s, err := snapshot.Load(path)
	return index(t, s, err)
}

// Lists builds a snapshot from the JSON of its three lists ("" for no
// cleanups) and indexes it.
func Lists(t testing.TB, components, resources, cleanups string) *snapshot.Index {
	t.Helper()
	if cleanups == "" {
		cleanups = "[]"
	}
	doc := `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:00Z",` +
		`"components":` + components + `,"resources":` + resources + `,"cleanups":` + cleanups + `}`
	s, err := snapshot.Parse([]byte(doc), "test")
	if err != nil {
		t.Fatalf("bad test snapshot: %v", err)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// Generated generates the snapshot of cfg (internal/gensnap), decodes and
// indexes it.
func Generated(t testing.TB, cfg gensnap.Config) *snapshot.Index {
	t.Helper()
	var buf bytes.Buffer
	if err := gensnap.Generate(cfg, &buf); err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Parse(buf.Bytes(), "generated.json")
	return index(t, s, err)
}

// index indexes s, failing the test on err or an index error.
func index(t testing.TB, s *snapshot.Snapshot, err error) *snapshot.Index {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}
