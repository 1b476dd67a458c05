package planner

import "unsafe"

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
