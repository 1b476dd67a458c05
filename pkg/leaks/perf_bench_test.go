package leaks

import (
	"hash/maphash"
	"strconv"
	"testing"

	"github.com/rescoord/rescoord/internal/benchsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// The Generated benchmarks time the leak rules on the
// snapshots bench/run.sh measures (internal/gensnap, docs/snapshot-format.md shape). 10k
// resources always run; the 100k and 1M sizes (1M is a 343 MB registry,
// seconds to generate and decode) run when RESCOORD_BENCH_LARGE=1 or
// when the -bench pattern names them:
//
//	go test ./pkg/leaks -run '^$' -bench Generated -benchmem
//	RESCOORD_BENCH_LARGE=1 go test ./pkg/leaks -run '^$' -bench Generated -benchmem
//	go test ./pkg/leaks -run '^$' -bench 'Generated.*/1M' -benchmem
//
// Each timed run starts after a collection, as in rescoord, which plans
// or analyses a snapshot it has just loaded: otherwise the runs before
// start one that scans the snapshot while the next is timed.

func BenchmarkGeneratedFindLeaks(b *testing.B) {
	benchsnap.Generated(b, "findings", func(ix *snapshot.Index) int {
		return len(FindLeaks(ix, LeakOptions{}))
	})
}

// BenchmarkGeneratedAnalyze is what `rescoord leaks` computes: the rules,
// suppressions and grouping.
func BenchmarkGeneratedAnalyze(b *testing.B) {
	benchsnap.Generated(b, "groups", func(ix *snapshot.Index) int {
		return len(Analyze(ix, ReportOptions{FailOn: SeverityError}).Groups)
	})
}

// BenchmarkFindGroups groups 312,000 findings of distinct signatures, as
// many as the deep 1M snapshot's report has.
func BenchmarkFindGroups(b *testing.B) {
	fs := make([]Finding, 312_000)
	for i := range fs {
		fs[i] = Finding{Rule: ruleSlots[i%3], Severity: Severity(1 + i%4), Signature: strconv.FormatUint(uint64(i)*0x9e3779b97f4a7c15, 16)}
	}
	for b.Loop() {
		findGroups(fs, maphash.String, defaults())
	}
}
