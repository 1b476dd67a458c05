//go:build !unix

package snapshot

// tempBlock returns n bytes for the time of a read.
func tempBlock(n int) []byte { return make([]byte, n) }

// freeBlock leaves b to the collector.
func freeBlock(b []byte) {}
