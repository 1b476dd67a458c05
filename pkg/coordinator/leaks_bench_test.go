package coordinator

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// BenchmarkLeaks times the leak rules (FindLeaks) and what `rescoord
// leaks` computes with them (Analyze: grouping, suppressions) on the
// registries bench/run.sh measures (internal/gensnap): 10,000 resources,
// and with RESCOORD_BENCH_LARGE=1 also 1,000,000 (343 MB of JSON, seconds
// to generate and decode):
//
//	RESCOORD_BENCH_LARGE=1 go test ./pkg/coordinator -run '^$' -bench Leaks -benchmem
func BenchmarkLeaks(b *testing.B) {
	sizes := []gensnap.Config{gensnap.Tiny}
	if os.Getenv("RESCOORD_BENCH_LARGE") != "" {
		sizes = append(sizes, gensnap.Large)
	}
	for _, cfg := range sizes {
		ix := generatedIndex(b, cfg)
		n := strconv.Itoa(cfg.Resources)
		b.Run("FindLeaks/"+n, func(b *testing.B) {
			b.ReportAllocs()
			var found int
			for b.Loop() {
				found = len(FindLeaks(ix, LeakOptions{}))
			}
			b.ReportMetric(float64(found), "findings")
		})
		b.Run("Analyze/"+n, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Analyze(ix, ReportOptions{FailOn: SeverityError})
			}
		})
	}
}

// generatedIndex generates, decodes and indexes a registry.
func generatedIndex(b *testing.B, cfg gensnap.Config) *snapshot.Index {
	b.Helper()
	var buf bytes.Buffer
	if err := gensnap.Generate(cfg, &buf); err != nil {
		b.Fatal(err)
	}
	s, err := snapshot.Parse(buf.Bytes(), "generated.json")
	if err != nil {
		b.Fatal(err)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		b.Fatal(err)
	}
	return ix
}
