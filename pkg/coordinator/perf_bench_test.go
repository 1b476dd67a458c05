package coordinator

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// The Generated benchmarks time the planner and the leak rules on the
// snapshots bench/run.sh measures (internal/gensnap, SPEC §2 shape). 10k
// resources always run; the 1M size (a 343 MB registry, several seconds
// to generate and decode) runs when RESCOORD_BENCH_LARGE=1 or when the -bench
// pattern names it:
//
//	go test ./pkg/coordinator -run '^$' -bench 'Generated.*/1M' -benchmem

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

func BenchmarkGeneratedNewPlan(b *testing.B) {
	for _, sz := range perfSizes {
		b.Run(sz.name, func(b *testing.B) {
			ix := perfIndex(b, sz.name, sz.cfg)
			b.ReportAllocs()
			var steps int
			for b.Loop() {
				p, err := NewPlan(ix, Scope{})
				if err != nil {
					b.Fatal(err)
				}
				steps = len(p.Steps)
			}
			b.ReportMetric(float64(steps), "steps")
		})
	}
}

func BenchmarkGeneratedFindLeaks(b *testing.B) {
	for _, sz := range perfSizes {
		b.Run(sz.name, func(b *testing.B) {
			ix := perfIndex(b, sz.name, sz.cfg)
			b.ReportAllocs()
			var found int
			for b.Loop() {
				found = len(FindLeaks(ix, LeakOptions{}))
			}
			b.ReportMetric(float64(found), "findings")
		})
	}
}

// BenchmarkGeneratedAnalyze is what `rescoord leaks` computes: the rules,
// suppressions and grouping.
func BenchmarkGeneratedAnalyze(b *testing.B) {
	for _, sz := range perfSizes {
		b.Run(sz.name, func(b *testing.B) {
			ix := perfIndex(b, sz.name, sz.cfg)
			b.ReportAllocs()
			for b.Loop() {
				Analyze(ix, ReportOptions{FailOn: SeverityError})
			}
		})
	}
}
