//go:build unix

package snapshot

import "syscall"

// tempBlock returns n bytes of memory mapped for the time of a read, which
// freeBlock gives back to the system at once (the collector would free
// heap memory only later, and the process would hold it meanwhile). It
// falls back to the heap.
func tempBlock(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// freeBlock unmaps a block of tempBlock; nothing may point into it.
func freeBlock(b []byte) {
	_ = syscall.Munmap(b[:cap(b)]) // a heap block: EINVAL, left to the collector
}
