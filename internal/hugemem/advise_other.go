//go:build !linux

package hugemem

import "unsafe"

// Advise does nothing: outside Linux there is no huge page advice to give.
func Advise(p unsafe.Pointer, size uintptr) {}

// release does nothing outside Linux.
func release(p unsafe.Pointer, size uintptr) {}
