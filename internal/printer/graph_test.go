package printer

import "testing"

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
