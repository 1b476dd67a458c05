package snapshot

import "runtime"

// tuning holds the package's thresholds. They are fields of a value, not
// package variables, so that the tests run the concurrent and windowed
// paths on small inputs, in parallel (docs/architecture.md, "Tuning and
// tests").
type tuning struct {
	// minParallel is the smallest array worth splitting between cores.
	minParallel int
	// largeFile is the size from which Load reads a file by windows
	// (largefile.go), and windowSize how much of the file one window holds.
	largeFile  int64
	windowSize int
	// dropMetadata is Options.DropMetadata: both decoders check metadata
	// and keep none.
	dropMetadata bool
}

// defaultTuning is the tuning of every exported entry point.
func defaultTuning() tuning {
	return tuning{minParallel: 16 * markEvery, largeFile: 32 << 20, windowSize: 8 << 20}
}

// parallelism is how many goroutines n elements are worth.
func (t tuning) parallelism(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/t.minParallel+1))
}
