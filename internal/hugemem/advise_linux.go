package hugemem

import (
	"syscall"
	"unsafe"
)

// Advise asks Linux to back the memory [p, p+size) of a large allocation
// that has not been written yet with huge pages (MADV_HUGEPAGE). Only the
// huge pages wholly inside the allocation are advised: one that straddles
// its end also holds other memory of the heap, small objects or free
// spans, and backed by a huge page the first write to any of it would
// make all 2 MiB resident (docs/performance.md, "Huge pages inside the
// allocation"). It is a hint: errors are ignored.
func Advise(p unsafe.Pointer, size uintptr) {
	if size < minSize {
		return
	}
	start := (uintptr(p) + PageSize - 1) &^ (PageSize - 1)
	end := (uintptr(p) + size) &^ (PageSize - 1)
	if end <= start {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_HUGEPAGE)
}

// release gives the whole small pages of [p, p+size) back to the kernel
// (MADV_DONTNEED): they read as zeros from then on, and count in the
// process's resident memory again only once written.
func release(p unsafe.Pointer, size uintptr) {
	const small = 4 << 10
	start := (uintptr(p) + small - 1) &^ (small - 1)
	end := (uintptr(p) + size) &^ (small - 1)
	if end > start {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED)
	}
}
