package render

import (
	"io"
	"strings"
	"testing"
)

// TestStyles_OneSequencePerRun: an underlined or struck-through text is
// one styled run, so that the text can be found in coloured output
// (lipgloss styles such text one character at a time).
func TestStyles_OneSequencePerRun(t *testing.T) {
	st := NewStyles(io.Discard, true)
	for name, got := range map[string]string{
		"Title": st.Title.Render("Cleanup plan for the whole registry"),
		"Dead":  st.Paint(st.Dead, "Cleanup plan for the whole registry"),
	} {
		if !strings.Contains(got, "Cleanup plan for the whole registry") {
			t.Errorf("%s: the text is cut by escapes: %q", name, got)
		}
		if n := strings.Count(got, "\x1b["); n != 2 {
			t.Errorf("%s: %d escape sequences, want 2 (on, off): %q", name, n, got)
		}
	}
	if got := st.Title.Render("a", "b"); !strings.Contains(got, "a b") {
		t.Errorf("Render joins its strings with a blank as lipgloss does: %q", got)
	}
	plain := NewStyles(io.Discard, false)
	if got := plain.Title.Render("Snapshot"); got != "Snapshot" {
		t.Errorf("without colour Title is %q", got)
	}
	if got := plain.Paint(plain.Dead, "gone"); got != "gone" {
		t.Errorf("without colour Dead is %q", got)
	}
}
