package safeid

import (
	"testing"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/tabletest"
)

func TestEscape(t *testing.T) {
	tabletest.Func(t, "Escape", Escape, map[string]string{
		"plain": "plain", "é": "é", "a\xffb": `a\xffb`, `a\xffb`: `a\\xffb`, "\xfe": `\xfe`, `\`: `\\`,
	})
}

func FuzzEscape(f *testing.F) {
	f.Add("a\xffb", `a\xffb`)
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := Escape(a), Escape(b)
		if !utf8.ValidString(ea) {
			t.Fatalf("Escape(%q) = %q: not UTF-8", a, ea)
		}
		if a != b && ea == eb {
			t.Fatalf("Escape(%q) == Escape(%q) == %q", a, b, ea)
		}
	})
}
