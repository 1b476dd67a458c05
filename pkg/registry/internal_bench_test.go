package registry

import (
	"compress/gzip"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
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
			mustRegister(b, r, "quiet", "busy")
			quiet := trackLoop(r, "quiet", time.After(200*time.Millisecond))
			stop := make(chan struct{})
			var worst time.Duration
			var wg sync.WaitGroup
			wg.Go(func() { worst = trackLoop(r, "busy", stop) })
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

// mustRegister registers the tracker components owners.
func mustRegister(b testing.TB, r *Registry, owners ...string) {
	b.Helper()
	for _, o := range owners {
		if err := r.RegisterComponent(o); err != nil {
			b.Fatal(err)
		}
	}
}

// trackLoop tracks and releases a resource of owner (registered) in a
// loop until stop, and returns the slowest single Track+Release.
func trackLoop[T any](r *Registry, owner string, stop <-chan T) time.Duration {
	return tracker(r, owner, stop, nil)
}

// tickTracker tracks and releases a resource of owner (registered) every
// millisecond, as a busy application would, until stop, and returns the
// slowest Track+Release. Unlike trackLoop it allocates next to nothing,
// so that B/op is the serving's own.
func tickTracker(r *Registry, owner string, stop <-chan struct{}) time.Duration {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	return tracker(r, owner, stop, t.C)
}

// tracker tracks and releases a resource of owner at each tick (nil: in a
// loop) until stop, and returns the slowest Track+Release.
func tracker[T any](r *Registry, owner string, stop <-chan T, tick <-chan time.Time) time.Duration {
	ctx := context.Background()
	var worst time.Duration
	for {
		if tick == nil {
			select {
			case <-stop:
				return worst
			default:
			}
		} else {
			select {
			case <-stop:
				return worst
			case <-tick:
			}
		}
		start := time.Now()
		h, _ := r.Track(owner, nil, WithSize(1))
		_ = h.Release(ctx)
		worst = max(worst, time.Since(start))
	}
}

// BenchmarkServeSnapshot serves GET /snapshot (gzip, as the rescoord
// client asks) from a registry of 100k and 1M resources while a tracker
// keeps tracking, streamed as the server does and, side by side, built
// whole first as it did before: lock-ms is the registry lock held per
// request, max-gc-pause-ms the longest collector pause (runtime/metrics
// /sched/pauses/total/gc:seconds) in the process during the run,
// max-track-ms the slowest Track+Release the tracker (one a millisecond)
// saw.
func BenchmarkServeSnapshot(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		r := New(WithStackCapture(false))
		comps := max(n/100, 1)
		for c := range comps {
			_ = r.RegisterComponent(fmt.Sprintf("c%d", c))
		}
		for i := range n {
			if _, err := r.Track(fmt.Sprintf("c%d", i%comps), nil, WithSize(64), WithName("res"), WithType("worker")); err != nil {
				b.Fatal(err)
			}
		}
		runs := 0
		req := httptest.NewRequest(http.MethodGet, "/snapshot", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		for _, way := range []struct {
			name  string
			serve func(http.ResponseWriter, *http.Request)
		}{
			{"streamed", r.serveSnapshot},
			{"built", r.serveSnapshotBuilt},
		} {
			b.Run(fmt.Sprintf("resources=%d/%s", n, way.name), func(b *testing.B) {
				var held time.Duration
				r.lockHeld = func(d time.Duration) { held += d }
				defer func() { r.lockHeld = nil }()
				runtime.GC()
				pauses := gcPauses()
				stop := make(chan struct{})
				var worst time.Duration
				var wg sync.WaitGroup
				// The registry serves every run (-count): each has a tracker of its own.
				runs++
				owner := fmt.Sprintf("tracker-%s-%d", way.name, runs)
				mustRegister(b, r, owner)
				wg.Go(func() { worst = tickTracker(r, owner, stop) })
				b.ReportAllocs()
				for b.Loop() {
					way.serve(discardResponse{h: http.Header{}}, req)
				}
				close(stop)
				wg.Wait()
				b.ReportMetric(float64(held.Microseconds())/1000/float64(b.N), "lock-ms")
				b.ReportMetric(maxNewPause(pauses, gcPauses())*1000, "max-gc-pause-ms")
				b.ReportMetric(float64(worst.Microseconds())/1000, "max-track-ms")
			})
		}
	}
}

// serveSnapshotBuilt is how /snapshot was served before it streamed: the
// whole snapshot built, then its whole JSON, then written.
func (r *Registry) serveSnapshotBuilt(w http.ResponseWriter, req *http.Request) {
	body := append(r.Snapshot().AppendJSON(nil), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Encoding", "gzip")
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	zw.Write(body)
	zw.Close()
}

// discardResponse is a ResponseWriter that keeps nothing.
type discardResponse struct{ h http.Header }

func (d discardResponse) Header() http.Header         { return d.h }
func (d discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d discardResponse) WriteHeader(int)             {}

// gcPauses reads the histogram of collector pauses.
func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// maxNewPause is the upper bound of the highest bucket that gained pauses
// between two readings of the histogram, in seconds.
func maxNewPause(before, after *metrics.Float64Histogram) float64 {
	for i := len(after.Counts) - 1; i >= 0; i-- {
		if after.Counts[i] > before.Counts[i] {
			hi := after.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = after.Buckets[i]
			}
			return hi
		}
	}
	return 0
}
