// Package benchsnap gives the planner's and the leak rules' Generated
// benchmarks the snapshots bench/run.sh measures (internal/gensnap): 10k
// resources always; 100k and 1M (a 343 MB registry, seconds to generate
// and decode) when RESCOORD_BENCH_LARGE=1 or when the -bench pattern names
// them. Each snapshot is generated, decoded and indexed once per process
// (docs/performance.md, "Go benchmarks").
package benchsnap

import (
	"bytes"
	"flag"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

var indexes sync.Map // name -> func() *snapshot.Index

// index decodes and indexes the generated snapshot, once per process.
func index(b *testing.B, name string, cfg gensnap.Config) *snapshot.Index {
	b.Helper()
	if name != "10k" && os.Getenv("RESCOORD_BENCH_LARGE") == "" {
		if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), name) {
			b.Skipf("%s: set RESCOORD_BENCH_LARGE=1 or name %s in -bench", name, name)
		}
	}
	f, _ := indexes.LoadOrStore(name, sync.OnceValue(func() *snapshot.Index {
		var buf bytes.Buffer
		buf.Grow(400 * cfg.Resources) // about 345 bytes a resource: no regrowth
		if err := gensnap.Generate(cfg, &buf); err != nil {
			panic(err)
		}
		s, err := snapshot.Parse(buf.Bytes(), name)
		if err != nil {
			panic(err)
		}
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			panic(err)
		}
		return ix
	}))
	return f.(func() *snapshot.Index)()
}

// Generated runs fn on each size's index, a collection before each
// timed run, and reports what fn returns as a metric named unit.
func Generated(b *testing.B, unit string, fn func(ix *snapshot.Index) int) {
	for _, sz := range gensnap.BenchSizes() {
		b.Run(sz.Name, func(b *testing.B) {
			ix := index(b, sz.Name, sz.Config)
			b.ReportAllocs()
			var n int
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				n = fn(ix)
			}
			if unit != "" {
				b.ReportMetric(float64(n), unit)
			}
		})
	}
}
