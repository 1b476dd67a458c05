package planner

import (
	"testing"

	"github.com/rescoord/rescoord/internal/benchsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// The Generated benchmarks time the planner on the
// snapshots bench/run.sh measures (internal/gensnap, docs/snapshot-format.md shape). 10k
// resources always run; the 100k and 1M sizes (1M is a 343 MB registry,
// seconds to generate and decode) run when RESCOORD_BENCH_LARGE=1 or
// when the -bench pattern names them:
//
//	go test ./pkg/planner -run '^$' -bench Generated -benchmem
//	RESCOORD_BENCH_LARGE=1 go test ./pkg/planner -run '^$' -bench Generated -benchmem
//	go test ./pkg/planner -run '^$' -bench 'Generated.*/1M' -benchmem
//
// Each timed run starts after a collection, as in rescoord, which plans
// or analyses a snapshot it has just loaded: otherwise the runs before
// start one that scans the snapshot while the next is timed.

func BenchmarkGeneratedNewPlan(b *testing.B) {
	benchsnap.Generated(b, "steps", func(ix *snapshot.Index) int {
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
	benchsnap.Generated(b, "steps", func(ix *snapshot.Index) int {
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
