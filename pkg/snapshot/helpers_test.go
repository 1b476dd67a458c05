package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/gensnap"
)

// generated is the snapshot gensnap makes of cfg.
func generated(tb testing.TB, cfg gensnap.Config) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := gensnap.Generate(cfg, &buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// writeTemp writes data to a file of that name in a temporary directory
// and returns its path.
func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	testfs.WriteFile(tb, path, data, 0o600)
	return path
}

// openTemp writes data to a temporary file and opens it; it is closed
// when the test ends.
func openTemp(tb testing.TB, data []byte) *os.File {
	tb.Helper()
	f, err := os.Open(writeTemp(tb, "snap.json", data))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// addSeeds adds every snapshot of testdata/snapshots and testdata/broken
// to f's seed corpus.
func addSeeds(f *testing.F) {
	for _, dir := range []string{"snapshots", "broken"} {
		paths, _ := filepath.Glob(filepath.Join(testdata, dir, "*.json"))
		for _, p := range paths {
			f.Add([]byte(testfs.Read(f, p)))
		}
	}
}
