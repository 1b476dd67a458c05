//go:build !linux

package coordinator

// makeLarge returns make([]T, n); on Linux it also asks for huge pages.
func makeLarge[T any](n int) []T { return make([]T, n) }

// faultIn does nothing: on Linux it maps the pages of s ahead of use.
func faultIn[T any](s []T) {}
