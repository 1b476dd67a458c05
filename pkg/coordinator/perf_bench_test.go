package coordinator

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

// The Generated benchmarks time the planner and the leak rules on the
// snapshots bench/run.sh measures (internal/gensnap, docs/snapshot-format.md shape). 10k
// resources always run; the 100k and 1M sizes (1M is a 343 MB registry,
// seconds to generate and decode) run when RESCOORD_BENCH_LARGE=1 or
// when the -bench pattern names them:
//
//	go test ./pkg/coordinator -run '^$' -bench Generated -benchmem
//	RESCOORD_BENCH_LARGE=1 go test ./pkg/coordinator -run '^$' -bench Generated -benchmem
//	go test ./pkg/coordinator -run '^$' -bench 'Generated.*/1M' -benchmem
//
// Each timed run starts after a collection, as in rescoord, which plans
// or analyses a snapshot it has just loaded: otherwise the runs before
// start one that scans the snapshot while the next is timed.

var perfSizes = []struct {
	name string
	cfg  gensnap.Config
}{
	{"10k", gensnap.Tiny},
	{"100k", gensnap.Small},
	{"1M", gensnap.Large},
}

var perfIndexes sync.Map // name -> func() *snapshot.Index

// perfIndex decodes and indexes the generated snapshot, once per process.
func perfIndex(b *testing.B, name string, cfg gensnap.Config) *snapshot.Index {
	b.Helper()
	if name != "10k" && os.Getenv("RESCOORD_BENCH_LARGE") == "" {
		if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), name) {
			b.Skipf("%s: set RESCOORD_BENCH_LARGE=1 or name %s in -bench", name, name)
		}
	}
	f, _ := perfIndexes.LoadOrStore(name, sync.OnceValue(func() *snapshot.Index {
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

// benchGenerated runs fn on each size's index, a collection before each
// timed run, and reports what fn returns as a metric named unit.
func benchGenerated(b *testing.B, unit string, fn func(ix *snapshot.Index) int) {
	for _, sz := range perfSizes {
		b.Run(sz.name, func(b *testing.B) {
			ix := perfIndex(b, sz.name, sz.cfg)
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

func BenchmarkGeneratedNewPlan(b *testing.B) {
	benchGenerated(b, "steps", func(ix *snapshot.Index) int {
		p, err := NewPlan(ix, Scope{})
		if err != nil {
			b.Fatal(err)
		}
		return len(p.Steps)
	})
}

// BenchmarkGeneratedLazyPlan is what `rescoord cleanup -o json` computes:
// a lazy plan, its steps filled block by block into one buffer.
func BenchmarkGeneratedLazyPlan(b *testing.B) {
	benchGenerated(b, "steps", func(ix *snapshot.Index) int {
		p, err := NewLazyPlan(ix, Scope{})
		if err != nil {
			b.Fatal(err)
		}
		fl, block := p.Filler(), make([]Step, 1024)
		for lo := 0; lo < p.Len(); lo += len(block) {
			fl.Fill(block[:min(len(block), p.Len()-lo)], lo)
		}
		return p.Len()
	})
}

func BenchmarkGeneratedFindLeaks(b *testing.B) {
	benchGenerated(b, "findings", func(ix *snapshot.Index) int {
		return len(FindLeaks(ix, LeakOptions{}))
	})
}

// BenchmarkGeneratedAnalyze is what `rescoord leaks` computes: the rules,
// suppressions and grouping.
func BenchmarkGeneratedAnalyze(b *testing.B) {
	benchGenerated(b, "groups", func(ix *snapshot.Index) int {
		return len(Analyze(ix, ReportOptions{FailOn: SeverityError}).Groups)
	})
}
