// Package golden compares test output with the golden files under
// testdata/ (docs/testing.md): on a mismatch it prints a unified diff, and
// with update it rewrites the file instead.
package golden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
)

// Check compares got with the file at path, or rewrites the file when
// update is set. how says how to accept a change ("go test ./internal/cmd -update").
func Check(t testing.TB, path, got string, update bool, how string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run %s to create it): %v", how, err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run %s to accept):\n%s", path, how, diff.Diff("want", want, "got", []byte(got)))
	}
}
