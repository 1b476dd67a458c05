package printer

import (
	"testing"

	"github.com/rescoord/rescoord/internal/tabletest"
)

func TestGraph_Escaping(t *testing.T) {
	tests := []struct{ in, dot, mermaid string }{
		{`plain`, `plain`, `plain`},
		{`say "hi"`, `say \"hi\"`, `say #34;hi#34;`},
		{`C:\dir`, `C:\\dir`, `C:\dir`},
		{"two\nlines", `two\\nlines`, `two\nlines`},
		{"\x1b]0;t\x07\r\u202e", `\\x1b]0;t\\x07\\r\\u202e`, `\x1b]0;t\x07\r\u202e`},
		{"<b>#1</b> & `x`", "<b>#1</b> & `x`", "#60;b#62;#35;1#60;/b#62; #38; #96;x#96;"},
	}
	for _, tt := range tests {
		if got := dotEscape(tt.in); got != tt.dot {
			t.Errorf("dotEscape(%q) = %q, want %q", tt.in, got, tt.dot)
		}
		if got := mermaidEscape(tt.in); got != tt.mermaid {
			t.Errorf("mermaidEscape(%q) = %q, want %q", tt.in, got, tt.mermaid)
		}
	}
}

// The Markdown plan escapes control characters and every character
// Markdown reads as formatting, and nothing else.
func TestMarkdown_Escaping(t *testing.T) {
	tabletest.Func(t, "mdEscape", mdEscape, map[string]string{
		"plain tab-1":        "plain tab-1",
		"*bold* _it_ `code`": "\\*bold\\* \\_it\\_ \\`code\\`",
		`a\b [x](y) <b> |#~`: `a\\b \[x\](y) \<b\> \|\#\~`,
		"bell\a\u202e":       `bell\\x07\\u202e`, // rendered: bell\x07\u202e
	})
}
