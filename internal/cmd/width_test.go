package cmd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestTables_FitTheTerminal: on a terminal of 80 columns the human tables
// are narrowed and truncated to fit; -o wide shows every column; piped
// output is the complete table of the other golden files.
func TestTables_FitTheTerminal(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
		narrow bool
	}{
		{"cleanup/demo-narrow.txt", []string{"cleanup", "--dry-run", "--demo"}, true},
		{"cleanup/demo-wide.txt", []string{"cleanup", "--dry-run", "--demo", "-o", "wide"}, false},
		{"list/table-narrow.txt", []string{"list", "--demo"}, true},
		{"list/wide-terminal.txt", []string{"list", "--demo", "-o", "wide"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			c := newCLI(t)
			c.tty = true
			c.env = map[string]string{"COLUMNS": "80", "NO_COLOR": "1"}
			res := c.run(tt.args...)
			if res.Code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", res.Code, res.Stderr)
			}
			golden(t, tt.golden, res.Stdout)
			widest := maxWidth(res.Stdout)
			if tt.narrow && widest > 80 {
				t.Errorf("the widest line is %d cells on a terminal of 80", widest)
			}
			if !tt.narrow && (widest <= 80 || strings.Contains(res.Stdout, "…")) {
				t.Errorf("-o wide is %d cells wide and truncates: %v", widest, strings.Contains(res.Stdout, "…"))
			}
			// Styled, it fits as well.
			c.env = map[string]string{"COLUMNS": "80"}
			styled := c.run(tt.args...)
			if !strings.Contains(styled.Stdout, "\x1b[") {
				t.Fatal("terminal output is not styled")
			}
			if tt.narrow && maxWidth(styled.Stdout) > 80 {
				t.Errorf("styled, the widest line is %d cells", maxWidth(styled.Stdout))
			}
		})
	}
}

// TestTables_PipedAreComplete: without a terminal or COLUMNS the tables
// are what they always were, whatever the terminal's width would be.
func TestTables_PipedAreComplete(t *testing.T) {
	for name, args := range map[string][]string{
		"cleanup/demo.txt": {"cleanup", "--dry-run", "--demo"},
		"list/table.txt":   {"list", "--demo"},
	} {
		res := runCLI(t, args...)
		golden(t, name, res.Stdout)
		if strings.Contains(res.Stdout, "…") {
			t.Errorf("%s: piped output is truncated", name)
		}
		wide := runCLI(t, append(args, "-o", "wide")...)
		if name == "cleanup/demo.txt" && wide.Stdout != res.Stdout {
			t.Errorf("piped, cleanup -o wide differs from text")
		}
	}
}

// TestTables_COLUMNSWithoutTerminal: COLUMNS alone fits a piped table
// too (`COLUMNS=80 rescoord cleanup --dry-run --demo | less`).
func TestTables_COLUMNSWithoutTerminal(t *testing.T) {
	c := newCLI(t)
	c.env = map[string]string{"COLUMNS": "80"}
	res := c.run("cleanup", "--dry-run", "--demo")
	if w := maxWidth(res.Stdout); w > 80 {
		t.Errorf("widest line %d cells with COLUMNS=80", w)
	}
	if strings.Contains(res.Stdout, "\x1b[") {
		t.Error("piped output is styled")
	}
	c.env = map[string]string{"COLUMNS": "junk"}
	if res := c.run("cleanup", "--dry-run", "--demo"); maxWidth(res.Stdout) <= 80 {
		t.Error("a COLUMNS that is not a number narrowed the table")
	}
}

// partialEscape is an escape of render.Escape cut short by the ellipsis.
var partialEscape = regexp.MustCompile(`\\(x[0-9a-f]?|u[0-9a-f]{0,3})…`)

// TestTables_TruncationKeepsEscapesWhole: hostile names cut to the width
// never show half an escape nor let a control character through.
func TestTables_TruncationKeepsEscapesWhole(t *testing.T) {
	path := hostileSnapshot(t)
	for _, args := range [][]string{
		{"cleanup", "--dry-run", path},
		{"list", path},
	} {
		for _, width := range []string{"40", "60", "80"} {
			for _, color := range []string{"never", "always"} {
				c := newCLI(t)
				c.tty = true
				c.env = map[string]string{"COLUMNS": width}
				res := c.run(append(args, "--color", color)...)
				what := strings.Join(args[:1], " ") + " COLUMNS=" + width + " --color " + color
				checkNoControls(t, what, res.Stdout, color == "always", false)
				if m := partialEscape.FindString(res.Stdout); m != "" {
					t.Errorf("%s: a partial escape %q", what, m)
				}
				if !strings.Contains(res.Stdout, "…") {
					t.Errorf("%s: nothing truncated:\n%s", what, res.Stdout)
				}
			}
		}
	}
}

func maxWidth(s string) int {
	n := 0
	for line := range strings.Lines(s) {
		n = max(n, ansi.StringWidth(strings.TrimRight(line, "\n")))
	}
	return n
}

// TestHeadings_FoundInColouredOutput: `rescoord cleanup --dry-run --demo
// --color always | grep "Cleanup plan"` finds the heading, as do the
// headings of stats and the struck-through names of list --tree.
func TestHeadings_FoundInColouredOutput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		text string
	}{
		{[]string{"cleanup", "--dry-run", "--demo", "--color", "always"}, "Cleanup plan for the whole registry"},
		{[]string{"cleanup", "--dry-run", "--demo", "--critical-chain", "--color", "always"}, "Critical chain of the cleanup plan"},
		{[]string{"stats", "--demo", "--color", "always"}, "Top components by live bytes"},
		{[]string{"list", "--demo", "--tree", "--color", "always"}, "MediaAnalysisTab"},
	} {
		out := runCLI(t, tt.args...).Stdout
		if !strings.Contains(out, "\x1b[") {
			t.Errorf("%v: not styled", tt.args)
		}
		if !strings.Contains(out, tt.text) {
			t.Errorf("%v: %q is not in the coloured output", tt.args, tt.text)
		}
	}
}
