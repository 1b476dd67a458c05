package snapshot

import (
	"os"
	"syscall"
	"unsafe"
)

// hugePageSize is the size of a transparent huge page on Linux.
const hugePageSize = 2 << 20

// hugePages asks Linux to back the memory of a large, not yet touched
// allocation with transparent huge pages (MADV_HUGEPAGE), where the system
// allows them only on request. A 4 KiB page fault costs microseconds on a
// virtual machine, and a 300 MB input and its decoded slices take about
// 200,000 of them; huge pages take 500 times fewer. It is a hint: errors
// are ignored, and small allocations are left alone.
func hugePages(p unsafe.Pointer, size uintptr) {
	if os.Getenv("NOHUGE") != "" {
		return
	}
	start := (uintptr(p) + hugePageSize - 1) &^ (hugePageSize - 1)
	end := (uintptr(p) + size) &^ (hugePageSize - 1)
	if end <= start {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_HUGEPAGE)
}
