// Package hugemem allocates the large slices of rescoord's decoder,
// index, planner and leak analysis so that Linux backs them with
// transparent huge pages.
//
// On the virtual machines CI runs on, the first write to a page of fresh
// memory is the most expensive thing rescoord does: about 12 µs for each
// 4 KiB page, some 3 ms per megabyte, where a 2 MiB huge page costs about
// half as much per megabyte. Where the kernel gives huge pages only on
// request (transparent_hugepage/enabled set to madvise, the common
// default), a slice has to ask before it is first written: that is what
// Make and Advise do. Elsewhere they only allocate.
package hugemem

import "unsafe"

// PageSize is the size of a transparent huge page on x86-64 and arm64 Linux.
const PageSize = 2 << 20

// minSize is the smallest allocation worth advising: below it, the huge
// pages the advice covers would hold mostly other memory.
const minSize = PageSize / 2

// Make returns make([]T, n), backed by huge pages where it is large.
func Make[T any](n int) []T {
	return MakeCap[T](n, n)
}

// MakeCap returns make([]T, n, c), backed by huge pages where it is large.
func MakeCap[T any](n, c int) []T {
	s := make([]T, n, c)
	var zero T
	Advise(unsafe.Pointer(unsafe.SliceData(s)), uintptr(c)*unsafe.Sizeof(zero))
	return s
}
