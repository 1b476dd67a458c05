package render

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles are every style rescoord prints with. With colour off, each one
// renders its text unchanged, so piped output is plain and stable.
type Styles struct {
	Color bool
	// Width is the number of cells a line of a table should fit (FitTable):
	// the terminal's width, or 0 for output that is not fitted (a pipe, a
	// file).
	Width int

	Header   lipgloss.Style
	Title    lipgloss.Style
	Dim      lipgloss.Style
	Bold     lipgloss.Style
	Critical lipgloss.Style
	Error    lipgloss.Style
	Warning  lipgloss.Style
	Info     lipgloss.Style
	OK       lipgloss.Style
	ID       lipgloss.Style
	Dead     lipgloss.Style
}

// NewStyles returns the styles for output written to w.
func NewStyles(w io.Writer, color bool) *Styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := r.NewStyle
	return &Styles{
		Color:    color,
		Header:   s().Bold(true),
		Title:    s().Bold(true).Underline(true),
		Dim:      s().Faint(true),
		Bold:     s().Bold(true),
		Critical: s().Bold(true).Foreground(lipgloss.Color("197")),
		Error:    s().Foreground(lipgloss.Color("203")),
		Warning:  s().Foreground(lipgloss.Color("214")),
		Info:     s().Foreground(lipgloss.Color("39")),
		OK:       s().Foreground(lipgloss.Color("42")),
		ID:       s().Foreground(lipgloss.Color("110")),
		Dead:     s().Foreground(lipgloss.Color("245")).Strikethrough(true),
	}
}

// Unfitted returns a copy of s whose tables are not fitted to a width.
func (s *Styles) Unfitted() *Styles {
	c := *s
	c.Width = 0
	return &c
}

// Paint renders text with style, or returns it as it is with colour off:
// the same text as Render then, without its cost (a tree of 50,000 lines
// renders a few styles per line).
func (s *Styles) Paint(style lipgloss.Style, text string) string {
	if !s.Color {
		return text
	}
	return style.Render(text)
}

// Severity returns the style for a finding severity.
func (s *Styles) Severity(sev string) lipgloss.Style {
	switch sev {
	case "critical":
		return s.Critical
	case "error":
		return s.Error
	case "warning":
		return s.Warning
	default:
		return s.Info
	}
}

// ColorEnabled decides whether to style output: never with NO_COLOR or
// TERM=dumb, always with CLICOLOR_FORCE (other than "0"), otherwise only on
// a terminal. mode "always" and "never" override the environment.
func ColorEnabled(mode string, isTerminal bool, getenv func(string) string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	return isTerminal
}
