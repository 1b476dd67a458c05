package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps the failure message.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Errorf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }
func (r *recorder) Helper()                           {}

func TestCheck_MismatchPrintsADiff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	Check(t, path, "one\ntwo\nthree\n", true, "-update")
	rec := &recorder{TB: t}
	Check(rec, path, "one\n2\nthree\n", false, "-update")
	for _, want := range []string{"-two", "+2", " one", "--- want", "+++ got"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("message lacks %q:\n%s", want, rec.msg)
		}
	}
	rec = &recorder{TB: t}
	Check(rec, path, "one\ntwo\nthree\n", false, "-update")
	if rec.msg != "" {
		t.Errorf("equal output reported: %s", rec.msg)
	}
	if b, _ := os.ReadFile(path); string(b) != "one\ntwo\nthree\n" {
		t.Errorf("the golden file changed: %q", b)
	}
}
