package registry_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Many goroutines track, resize and release while others snapshot and
// read stats: every snapshot is a consistent point in time, and at the
// end every count reconciles exactly.
func TestConcurrency_TrackReleaseSnapshotLoseNothing(t *testing.T) {
	const (
		trackers = 8
		perG     = 2000
	)
	types := []string{"memory", "file", "worker"}
	r := registry.New()
	for g := 0; g < trackers; g++ {
		if err := r.RegisterComponent(fmt.Sprintf("g%d", g)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var snaps atomic.Int64
	for i := 0; i < 2; i++ {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := r.Snapshot()
				snaps.Add(1)
				if _, err := snapshot.NewIndex(snap); err != nil {
					t.Error(err)
					return
				}
				// Each tracker tracks its next resource before it releases
				// the previous one: a point-in-time view sees one or two
				// live resources per tracker (none before its first).
				live := map[string]int{}
				for _, res := range snap.Resources {
					live[res.Owner]++
				}
				for owner, n := range live {
					if n > 2 {
						t.Errorf("snapshot shows %d live resources of %s", n, owner)
						return
					}
				}
				_ = r.Stats()
			}
		})
	}
	var trackersWG sync.WaitGroup
	for g := 0; g < trackers; g++ {
		owner := fmt.Sprintf("g%d", g)
		trackersWG.Go(func() {
			ctx := context.Background()
			var prev *registry.Handle
			for i := 0; i < perG; i++ {
				h, err := r.Track(owner, nil, registry.WithType(types[i%len(types)]), registry.WithSize(1))
				if err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					_ = h.Resize(3)
				}
				if prev != nil {
					if err := prev.Release(ctx); err != nil {
						t.Error(err)
					}
				}
				prev = h
			}
			// Half the trackers destroy their component, releasing the rest.
			if g%2 == 0 {
				if err := r.Destroy(ctx, owner); err != nil {
					t.Error(err)
				}
			}
		})
	}
	trackersWG.Wait()
	close(stop)
	readers.Wait()

	st := r.Stats()
	var created, released uint64
	var bytes int64
	for _, ts := range st.ByType {
		created += ts.Created
		released += ts.Released
		bytes += ts.Bytes
	}
	const kept = trackers / 2
	if created != trackers*perG || released != trackers*perG-kept || st.Live != kept || st.Releasing != 0 {
		t.Errorf("created %d released %d live %d releasing %d", created, released, st.Live, st.Releasing)
	}
	if want := int64(kept); st.LiveBytes != want || bytes != want {
		t.Errorf("live bytes %d (by type %d), want %d", st.LiveBytes, bytes, want)
	}
	if st.AliveComponents != kept {
		t.Errorf("alive components %d", st.AliveComponents)
	}
	for id, cs := range st.ByComponent {
		if cs.Created != perG || cs.Released != perG-1 || cs.Live != 1 {
			t.Errorf("%s: %+v", id, cs)
		}
	}
	if n := len(r.Snapshot().Resources); n != kept {
		t.Errorf("final snapshot has %d resources, want %d", n, kept)
	}
	if snaps.Load() == 0 {
		t.Error("no snapshot was taken during the run")
	}
}
