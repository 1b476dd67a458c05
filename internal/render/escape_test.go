package render

import (
	"bytes"
	"testing"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"media_tab_2", "media_tab_2"},
		{"naïve ✓ 日本", "naïve ✓ 日本"},
		{`C:\path`, `C:\path`},
		{"a\nb", `a\nb`},
		{"a\r\tb", `a\r\tb`},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"\x1b[2J", `\x1b[2J`},
		{"del\x7f", `del\x7f`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"sep\u2028\u2029", `sep\u2028\u2029`},
		{"bidi\u202eevil\u2066\u2069\u200f", `bidi\u202eevil\u2066\u2069\u200f`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\n::error file=x::boom", `\n::error file=x::boom`},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEscape_CleanStringIsNotCopied(t *testing.T) {
	s := "plain text"
	if got := Escape(s); got != s {
		t.Fatalf("Escape changed %q", s)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Fatalf("Escape of a clean string allocates %v times", n)
	}
}

func TestSafeWriter(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain\n\tindented\n", "plain\n\tindented\n"},
		{"\x1b[1;31mred\x1b[0m\n", "\x1b[1;31mred\x1b[0m\n"},
		{"\x1b[H\x1b[2J", "\x1b[H\x1b[2J"},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`},
		{"over\rwrite", `over\rwrite`},
		{"cursor\x1b[5A", `cursor\x1b[5A`},
		{"bell\x07 c1\u009b bidi\u202e", `bell\x07 c1\u009b bidi\u202e`},
		{"bad\xfe", `bad\xfe`},
		{"ok ✓", "ok ✓"},
	}
	for _, c := range cases {
		var b bytes.Buffer
		w := SafeWriter(&b)
		n, err := w.Write([]byte(c.in))
		if err != nil || n != len(c.in) {
			t.Fatalf("Write(%q) = %d, %v", c.in, n, err)
		}
		if b.String() != c.want {
			t.Errorf("SafeWriter(%q) wrote %q, want %q", c.in, b.String(), c.want)
		}
	}
	var b bytes.Buffer
	if w := SafeWriter(&b); SafeWriter(w) != w {
		t.Error("SafeWriter wraps a SafeWriter again")
	}
}

func TestSafeWriter_SplitWrites(t *testing.T) {
	// Every split of a styled, non-ASCII line writes what one Write does.
	in := "\x1b[1;31m→ naïve\x1b[0m ✓\n"
	wantEverySplit(t, in, in)
}

func TestSafeWriter_FlushEscapesWhatIsHeld(t *testing.T) {
	var b bytes.Buffer
	w := SafeWriter(&b)
	w.Write([]byte("end\xe2\x80"))
	if err := Flush(w); err != nil {
		t.Fatal(err)
	}
	if want := `end\xe2\x80`; b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}

func TestCell(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[38;5;214mexpired\x1b[0m", "\x1b[38;5;214mexpired\x1b[0m"},
		{"a\nb", `a\nb`},
		{"\x1b[2J\x1b]0;t\x07", `\x1b[2J\x1b]0;t\x07`},
		{"bidi\u202e", `bidi\u202e`},
	}
	for _, c := range cases {
		if got := Cell(c.in); got != c.want {
			t.Errorf("Cell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSafeWriter_NoLineStartsAWorkflowCommand(t *testing.T) {
	in := "::error file=x::boom\n  \t::warning::w\n\x1b[1m::notice::n\x1b[0m\nid ::ok:: here\n:single\n"
	want := "\\x3a:error file=x::boom\n  \t\\x3a:warning::w\n\x1b[1m\\x3a:notice::n\x1b[0m\nid ::ok:: here\n:single\n"
	wantEverySplit(t, in, want)
}

// wantEverySplit checks that writing in to a SafeWriter in two writes,
// split at every byte, writes want.
func wantEverySplit(t *testing.T, in, want string) {
	t.Helper()
	for k := range len(in) + 1 {
		var b bytes.Buffer
		w := SafeWriter(&b)
		w.Write([]byte(in[:k]))
		w.Write([]byte(in[k:]))
		if err := Flush(w); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("split at %d: wrote %q, want %q", k, b.String(), want)
		}
	}
}
