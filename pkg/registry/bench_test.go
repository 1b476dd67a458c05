package registry_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rescoord/rescoord/pkg/registry"
)

// BenchmarkTrackRelease tracks and releases one resource per iteration.
func BenchmarkTrackRelease(b *testing.B) {
	for _, stacks := range []bool{false, true} {
		b.Run(fmt.Sprintf("stacks=%v", stacks), func(b *testing.B) {
			r := registry.New(registry.WithStackCapture(stacks))
			if err := r.RegisterComponent("c"); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				h, err := r.Track("c", nil, registry.WithSize(64))
				if err != nil {
					b.Fatal(err)
				}
				if err := h.Release(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrackReleaseParallel does the same from GOMAXPROCS goroutines,
// each under its own component.
func BenchmarkTrackReleaseParallel(b *testing.B) {
	for _, stacks := range []bool{false, true} {
		b.Run(fmt.Sprintf("stacks=%v", stacks), func(b *testing.B) {
			r := registry.New(registry.WithStackCapture(stacks))
			var n atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				owner := fmt.Sprintf("c%d", n.Add(1))
				if err := r.RegisterComponent(owner); err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					h, err := r.Track(owner, nil, registry.WithSize(64))
					if err != nil {
						b.Error(err)
						return
					}
					_ = h.Release(ctx)
				}
			})
		})
	}
}

// filled returns a registry with n resources under n/100 components in a
// tree (window → tabs → controllers), some with dependencies.
func filled(b testing.TB, n int) *registry.Registry {
	b.Helper()
	r := registry.New()
	_ = r.RegisterComponent("main", registry.WithType("window"))
	comps := max(n/100, 1)
	owners := make([]string, comps)
	for i := range owners {
		owners[i] = fmt.Sprintf("c%d", i)
		parent := "main"
		if i%10 != 0 {
			parent = owners[i-i%10]
		}
		if err := r.RegisterComponent(owners[i], registry.WithParent(parent), registry.WithType("controller")); err != nil {
			b.Fatal(err)
		}
	}
	types := []string{"worker", "file", "memory", "timer", "qobject"}
	var prev *registry.Handle
	for i := 0; i < n; i++ {
		opts := []registry.TrackOption{registry.WithType(types[i%len(types)]), registry.WithSize(int64(i % 4096)), registry.WithName("res")}
		if i%10 == 1 {
			opts = append(opts, registry.WithDependsOn(prev))
		}
		h, err := r.Track(owners[i%comps], nil, opts...)
		if err != nil {
			b.Fatal(err)
		}
		prev = h
	}
	return r
}

// BenchmarkSnapshot takes snapshots of a registry of 10k and 1M
// resources. BenchmarkSnapshotPause (internal_bench_test.go) measures how
// long a snapshot holds trackers up.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			r := filled(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if s := r.Snapshot(); len(s.Resources) != n {
					b.Fatalf("%d resources", len(s.Resources))
				}
			}
		})
	}
}
