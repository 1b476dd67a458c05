package render

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestTruncate(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly-10", 10, "exactly-10"},
		{"analysis-worker (r-1042)", 10, "analysis-…"},
		{"日本語のテキスト", 7, "日本語…"},                               // a wide character is not split across the edge
		{"naïve café", 6, "naïve…"},                           // é as e + combining acute is one cluster
		{`ab\x1bcd`, 4, "ab…"},                                // \x1b as Escape wrote it is not cut
		{`ab\x1bcd`, 7, `ab\x1b…`},                            // nor kept in part
		{`a\u202eb`, 6, `a…`},                                 // \u202e likewise
		{`a\nbcdef`, 4, `a\n…`},                               // and \n
		{"\x1b[1mbold text\x1b[0m", 5, "\x1b[1mbold…\x1b[0m"}, // the style is reset
		{"\x1b[1mbo\x1b[0m plain", 6, "\x1b[1mbo\x1b[0m pl…"}, // a closed style needs no reset
	}
	for _, c := range cases {
		got := Truncate(c.in, c.width)
		if got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
		if w := ansi.StringWidth(got); w > c.width {
			t.Errorf("Truncate(%q, %d) is %d cells wide", c.in, c.width, w)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q: not UTF-8", c.in, c.width, got)
		}
	}
}

func TestFitTable(t *testing.T) {
	header := []string{"ID", "NAME", "REASON"}
	rows := [][]string{
		{"r-1", "a-rather-long-resource-name-here", "because it depends on something far away"},
		{"r-2", "short", "ok"},
	}
	st := NewStyles(io.Discard, false)
	var whole bytes.Buffer
	if err := Table(&whole, st, header, rows); err != nil {
		t.Fatal(err)
	}
	st.Width = 40
	var fitted bytes.Buffer
	if err := FitTable(&fitted, st, header, rows, "NAME", "REASON"); err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(fitted.String()) {
		if w := ansi.StringWidth(strings.TrimRight(line, "\n")); w > 40 {
			t.Errorf("line is %d cells wide, want at most 40: %q", w, line)
		}
	}
	if !strings.Contains(fitted.String(), "r-2  short") || !strings.Contains(fitted.String(), Ellipsis) {
		t.Errorf("fitted table:\n%s", fitted.String())
	}
	// Without a width, or naming no column, nothing is cut.
	st.Width = 0
	var unfitted bytes.Buffer
	FitTable(&unfitted, st, header, rows, "NAME", "REASON")
	if unfitted.String() != whole.String() {
		t.Errorf("width 0 changed the table:\n%s", unfitted.String())
	}
	st.Width = 40
	var unnamed bytes.Buffer
	FitTable(&unnamed, st, header, rows)
	if unnamed.String() != whole.String() {
		t.Errorf("no shrinkable column, yet the table changed:\n%s", unnamed.String())
	}
}
