package render

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// TestTable_FastPathMatchesTablewriter prints the same tables through
// tablewriter and through the fast path for large tables: same text.
func TestTable_FastPathMatchesTablewriter(t *testing.T) {
	header := []string{"ID", "TYPE", "NAME", "OWNER", "SIZE"}
	rows := [][]string{
		{"r-1", "worker", "analysis-worker", "media_analysis_tab", "12.0 MiB"},
		{"r-1002222", "file", "source: interview-cam-a.mov", "copy_verify_resources", "-"},
		{"r-3", "gpu-texture", "wäveform → texture", "audio_plugin", "3.0 MiB"},
		{"r-4", "memory", "", "x", ""},
	}
	for i := range 20 {
		rows = append(rows, []string{fmt.Sprintf("b-%d", i), "memory", "thumbnail-buffer", "thumbnail_controller", "24.0 MiB"})
	}
	st := NewStyles(io.Discard, false)
	var slow, fast bytes.Buffer
	if err := Table(&slow, st, header, rows); err != nil {
		t.Fatal(err)
	}
	if err := alignedTable(&fast, st, header, rows); err != nil {
		t.Fatal(err)
	}
	if slow.String() != fast.String() {
		t.Errorf("fast path differs\n--- tablewriter ---\n%s--- fast ---\n%s", slow.String(), fast.String())
	}
}

func BenchmarkTable100k(b *testing.B) {
	rows := make([][]string, 100_000)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("r-%d", i), "memory", "thumbnail-buffer", "thumbnail_controller", "active", "24.0 MiB", "1m05s"}
	}
	st := NewStyles(io.Discard, false)
	for b.Loop() {
		Table(io.Discard, st, []string{"ID", "TYPE", "NAME", "OWNER", "STATE", "SIZE", "AGE"}, rows)
	}
}
