package snapshot

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
)

// The benchmarks run on gensnap.BenchSizes. The 1M size (about 343 MB of
// JSON, a few seconds to generate) runs only when asked:
// RESCOORD_BENCH_LARGE=1, or a -bench pattern that names 1M, such as
// go test ./pkg/snapshot -run X -bench 'Decode/1M' -benchmem.

var benchData sync.Map // name -> func() []byte

// benchInput returns the generated snapshot of the named size, once per process.
func benchInput(b *testing.B, name string, cfg gensnap.Config) []byte {
	b.Helper()
	if name != "10k" && !largeAsked(name) {
		b.Skipf("%s: set RESCOORD_BENCH_LARGE=1 or name %s in -bench", name, name)
	}
	return generatedOnce(name, cfg)
}

// generatedOnce returns the snapshot cfg generates, once per process.
func generatedOnce(name string, cfg gensnap.Config) []byte {
	f, _ := benchData.LoadOrStore(name, sync.OnceValue(func() []byte {
		var buf bytes.Buffer
		if err := gensnap.Generate(cfg, &buf); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}))
	return f.(func() []byte)()
}

func largeAsked(name string) bool {
	if os.Getenv("RESCOORD_BENCH_LARGE") != "" {
		return true
	}
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

func BenchmarkDecode(b *testing.B) {
	for _, sz := range gensnap.BenchSizes() {
		b.Run(sz.Name, func(b *testing.B) {
			data := benchInput(b, sz.Name, sz.Config)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeShape decodes 100,000 resources of every shape
// bench/run.sh measures, on one core if run with -cpu 1: the fast path,
// without the file's windows.
func BenchmarkDecodeShape(b *testing.B) {
	for _, name := range gensnap.Shapes {
		shape, _ := gensnap.ParseShape(name)
		b.Run(name, func(b *testing.B) {
			data := generatedOnce("shape-"+name, gensnap.ScaleShape(100_000, shape))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIndex(b *testing.B) {
	for _, sz := range gensnap.BenchSizes() {
		b.Run(sz.Name, func(b *testing.B) {
			s, err := Parse(benchInput(b, sz.Name, sz.Config), "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewIndex(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad reads a generated file from disk (the page cache, after the
// first run), decodes and indexes it: what every command does first.
func BenchmarkLoad(b *testing.B) {
	for _, sz := range gensnap.BenchSizes() {
		b.Run(sz.Name, func(b *testing.B) {
			data := benchInput(b, sz.Name, sz.Config)
			path := writeTemp(b, "snap.json", data)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				s, err := Load(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := NewIndex(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOutlineFile is the structural scan of a large file: in one pass
// on one core, and in two halves at once (the second from a guessed
// element boundary), as Load does with two cores or more. It shows what
// the split buys (docs/performance.md, "Both cores").
func BenchmarkOutlineFile(b *testing.B) {
	data := generated(b, gensnap.Config{Components: 3000, Resources: 300_000, Seed: 1})
	f := openTemp(b, data)
	bufs := [2][]byte{make([]byte, defaultTuning().windowSize), make([]byte, defaultTuning().windowSize)}
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("cores=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, ok := outlineFile(context.Background(), f, len(data), bufs, true); !ok {
					b.Fatal("no outline")
				}
			}
		})
	}
}
