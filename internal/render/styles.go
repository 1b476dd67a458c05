package render

import (
	"io"
	"strings"

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
	Title    Style
	Dim      lipgloss.Style
	Bold     lipgloss.Style
	Critical lipgloss.Style
	Error    lipgloss.Style
	Warning  lipgloss.Style
	Info     lipgloss.Style
	OK       lipgloss.Style
	ID       lipgloss.Style
	Dead     Style
}

// Style is a style that lipgloss would render one escape sequence per
// character (it does so for underline and strikethrough, to leave the
// blanks unstyled): Render writes one sequence for the whole text, so that
// a heading can be found in coloured output (grep "Cleanup plan").
type Style struct {
	te termenv.Style
	on bool
}

// Render returns strs joined by blanks, as lipgloss.Style.Render does,
// styled as one run of text.
func (s Style) Render(strs ...string) string {
	text := strings.Join(strs, " ")
	if !s.on || text == "" {
		return text
	}
	return s.te.Styled(text)
}

// Renderer is what renders a style: a lipgloss.Style or a Style.
type Renderer interface {
	Render(strs ...string) string
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
	p := termenv.ANSI256
	if !color {
		p = termenv.Ascii
	}
	return &Styles{
		Color:    color,
		Header:   s().Bold(true),
		Title:    Style{te: p.String().Bold().Underline(), on: color},
		Dim:      s().Faint(true),
		Bold:     s().Bold(true),
		Critical: s().Bold(true).Foreground(lipgloss.Color("197")),
		Error:    s().Foreground(lipgloss.Color("203")),
		Warning:  s().Foreground(lipgloss.Color("214")),
		Info:     s().Foreground(lipgloss.Color("39")),
		OK:       s().Foreground(lipgloss.Color("42")),
		ID:       s().Foreground(lipgloss.Color("110")),
		Dead:     Style{te: p.String().Foreground(p.Color("245")).CrossOut(), on: color},
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
func (s *Styles) Paint(style Renderer, text string) string {
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
