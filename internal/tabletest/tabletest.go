// Package tabletest runs the commonest table of the repository's tests: a
// function of one argument, and for each input the result it must return
// (docs/architecture.md).
package tabletest

import "testing"

// Func calls f with every key of cases and fails t for each result that is
// not the key's value, naming name, the input, the result and the value.
func Func[In, Out comparable](t testing.TB, name string, f func(In) Out, cases map[In]Out) {
	t.Helper()
	for in, want := range cases {
		if got := f(in); got != want {
			t.Errorf("%s(%#v) = %#v, want %#v", name, in, got, want)
		}
	}
}
