package registry

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkSnapshotPause measures the longest pause a snapshot imposes on
// trackers, at 10k and 1M resources: max-lock-ms is the longest time a
// snapshot held the registry's lock (a tracker arriving just then waits
// that long); max-track-ms is the slowest Track+Release a concurrent
// tracker saw while snapshots ran, which adds garbage-collector and
// scheduler noise, and quiet-track-ms the slowest without snapshots.
func BenchmarkSnapshotPause(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			r := New(WithStackCapture(false))
			for c := 0; c < max(n/100, 1); c++ {
				_ = r.RegisterComponent(fmt.Sprintf("c%d", c))
			}
			for i := 0; i < n; i++ {
				if _, err := r.Track(fmt.Sprintf("c%d", i%max(n/100, 1)), nil, WithSize(64)); err != nil {
					b.Fatal(err)
				}
			}
			var maxHold time.Duration
			r.lockHeld = func(d time.Duration) { maxHold = max(maxHold, d) }
			quiet := trackLoop(b, r, "quiet", time.After(200*time.Millisecond))
			stop := make(chan struct{})
			var worst time.Duration
			var wg sync.WaitGroup
			wg.Go(func() { worst = trackLoop(b, r, "busy", stop) })
			for b.Loop() {
				_ = r.Snapshot()
			}
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(maxHold.Microseconds())/1000, "max-lock-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-track-ms")
			b.ReportMetric(float64(quiet.Microseconds())/1000, "quiet-track-ms")
		})
	}
}

// trackLoop tracks and releases in a loop until stop, and returns the
// slowest single Track+Release.
func trackLoop[T any](b testing.TB, r *Registry, owner string, stop <-chan T) time.Duration {
	if err := r.RegisterComponent(owner); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var worst time.Duration
	for {
		select {
		case <-stop:
			return worst
		default:
		}
		start := time.Now()
		h, _ := r.Track(owner, nil, WithSize(1))
		_ = h.Release(ctx)
		worst = max(worst, time.Since(start))
	}
}
