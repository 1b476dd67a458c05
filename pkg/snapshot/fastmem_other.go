//go:build !linux

package snapshot

import "unsafe"

// hugePages is a no-op where transparent huge pages are not requested by madvise.
func hugePages(p unsafe.Pointer, size uintptr) {}
