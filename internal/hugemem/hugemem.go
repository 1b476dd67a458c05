// Package hugemem allocates the large slices of rescoord's decoder,
// index, planner and leak analysis so that Linux backs them with
// transparent huge pages, and hands the memory of those used as scratch
// back to the system once they are done with (Release).
//
// On the virtual machines CI runs on, the first write to a page of fresh
// memory is the most expensive thing rescoord does: about 12 µs for each
// 4 KiB page, some 3 ms per megabyte, where a 2 MiB huge page costs about
// half as much per megabyte. Where the kernel gives huge pages only on
// request (transparent_hugepage/enabled set to madvise, the common
// default), a slice has to ask before it is first written: that is what
// Make and Advise do. Elsewhere they only allocate.
package hugemem

import (
	"reflect"
	"unsafe"
)

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

// Release hands the memory of large slices back to the operating system
// once their contents are no longer needed: a slice then reads as zeros,
// and its pages count in the process's resident memory again only when
// they are written. It is for scratch arrays that a command is done with
// long before the collector would free them — a command that loads a
// snapshot and exits seldom collects again after loading. Only slices
// whose elements hold no pointers are released (the collector never reads
// their memory); for others, for small slices and for the partial pages at
// either end, Release does nothing.
func Release[T any](ss ...[]T) {
	var zero T
	if hasPointers(reflect.TypeFor[T]()) {
		return
	}
	for _, s := range ss {
		if size := uintptr(cap(s)) * unsafe.Sizeof(zero); size >= minSize {
			release(unsafe.Pointer(unsafe.SliceData(s)), size)
		}
	}
}

// hasPointers reports whether values of type t hold pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
