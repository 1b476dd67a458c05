package planner

import (
	"testing"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// TestStepFiller_KeepsItsMemory fills a lazy plan range after range with
// one filler, as the JSON printer does, and wants no allocation once the
// filler has seen the plan: its After lists and reasons reuse one array
// each (docs/performance.md, "No garbage left by growth"). Every resource here
// has several predecessors, more than the filler first makes room for.
func TestStepFiller_KeepsItsMemory(t *testing.T) {
	s := largeSnapshot(20_000)
	for i := range s.Resources {
		if i >= 8 {
			s.Resources[i].DependsOn = []string{s.Resources[i-1].ID, s.Resources[i-3].ID, s.Resources[i-5].ID, s.Resources[i-8].ID}
		}
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewLazyPlan(ix, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	const size = 1024
	fl, buf := p.Filler(), make([]Step, size)
	fillAll := func() {
		for lo := 0; lo < p.Len(); lo += size {
			fl.Fill(buf[:min(size, p.Len()-lo)], lo)
		}
	}
	fillAll()
	if n := testing.AllocsPerRun(3, fillAll); n > 0 {
		t.Errorf("filling the plan of %d steps again, in ranges of %d: %.0f allocations, want none", p.Len(), size, n)
	}
}

// TestScanResources_RoomForEveryDependency wants each worker's array of
// resolved dependencies made once, with room for all those of its range,
// rather than grown by appends (docs/performance.md, "No garbage left
// by growth").
func TestScanResources_RoomForEveryDependency(t *testing.T) {
	ix, err := snapshot.NewIndex(largeSnapshot(20_000))
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		p := newPlanner(ix, tuning{workers: workers, parallelMin: 1})
		p.scanResources()
		if len(p.links) != workers {
			t.Fatalf("%d workers: %d arrays of links", workers, len(p.links))
		}
		total := 0
		for w, links := range p.links {
			lo, hi := len(ix.Snap.Resources)*w/workers, len(ix.Snap.Resources)*(w+1)/workers
			room := 0
			for _, r := range ix.Snap.Resources[lo:hi] {
				room += len(r.DependsOn)
			}
			if cap(links) != room || len(links) == 0 {
				t.Errorf("%d workers, range %d: %d links in an array of %d, want one of %d", workers, w, len(links), cap(links), room)
			}
			total += len(links)
		}
		if total == 0 {
			t.Fatalf("%d workers: no links resolved", workers)
		}
	}
}
