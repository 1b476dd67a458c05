package coordinator

import (
	"unsafe"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// makeLarge returns make([]T, n), backed by huge pages where it is large
// (see internal/hugemem): the planner's arrays and steps are written
// once, right after they are made, and the first write to fresh memory
// is much of what filling them costs.
func makeLarge[T any](n int) []T { return hugemem.Make[T](n) }

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
