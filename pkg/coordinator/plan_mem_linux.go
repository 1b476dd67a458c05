package coordinator

import (
	"syscall"
	"unsafe"
)

// hugePageSize is the size of a transparent huge page on Linux.
const hugePageSize = 2 << 20

// makeLarge returns make([]T, n), and asks Linux to back a large slice
// with transparent huge pages (MADV_HUGEPAGE) before it is first written.
// Where the system gives huge pages only on request, a 4 KiB page fault
// costs microseconds on a virtual machine: the first write to a 160 MB
// []Step took about 40,000 of them. It is a hint: errors are ignored.
// pkg/snapshot does the same for the decoded snapshot.
func makeLarge[T any](n int) []T {
	s := make([]T, n)
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	if size < hugePageSize {
		return s
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	start := (p + hugePageSize - 1) &^ (hugePageSize - 1)
	end := (p + size) &^ (hugePageSize - 1)
	if end > start {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_HUGEPAGE)
	}
	return s
}

// faultIn writes to every page of s, so that the kernel maps (and zeroes)
// them now, on the calling core, rather than when they are first filled.
func faultIn[T any](s []T) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if size == 0 {
		return
	}
	step := max(4096/size, 1)
	for i := 0; i < len(s); i += step {
		s[i] = zero
	}
}
