package tabletest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what the table reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestFunc_PassesAndReportsEachWrongResult(t *testing.T) {
	r := &recorder{TB: t}
	Func(r, "ToUpper", strings.ToUpper, map[string]string{"a": "A", "b\n": "B\n"})
	if len(r.errors) != 0 {
		t.Fatalf("right table reported %q", r.errors)
	}
	Func(r, "ToUpper", strings.ToUpper, map[string]string{"a": "A", "b": "b"})
	if want := `ToUpper("b") = "B", want "b"`; len(r.errors) != 1 || r.errors[0] != want {
		t.Fatalf("reported %q, want [%q]", r.errors, want)
	}
	r.errors = nil
	Func(r, "len", func(s string) int { return len(s) }, map[string]int{"ab": 3})
	if want := `len("ab") = 2, want 3`; len(r.errors) != 1 || r.errors[0] != want {
		t.Fatalf("reported %q, want [%q]", r.errors, want)
	}
}
