package report

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// Markdown limits: a pull-request comment holds at most 65,536 characters;
// the report stays under maxMarkdownBytes bytes (so under as many
// characters), whatever the snapshot holds.
const (
	maxMarkdownBytes = 60_000
	maxMarkdownRows  = 50
	// maxMarkdownText bounds, in bytes, a string from the input as the
	// report writes it (a name, a path, a reason, escaped): 50 table rows
	// and 20 suppression entries of them stay well within maxMarkdownBytes.
	maxMarkdownText = 240
	// maxMarkdownUses is how many suppression entries the report lists.
	maxMarkdownUses = 20
)

// markdownPrinter writes a pull-request comment: a verdict, the counts, a
// table of the top groups and the traces of as many of them as fit, each
// in a collapsed block, and where the full report is.
type markdownPrinter struct{ opts Options }

// wordJoiner (U+2060) is put after @ and # and inside autolink triggers
// in untrusted text: it shows nothing, and GitHub neither mentions
// "@\u2060user" nor links "#\u2060123".
const wordJoiner = "\u2060"

// shorten cuts s, as written, to maxMarkdownText bytes at a character
// boundary, marking the cut. A cut inside an escape ("&am…", "\\…") only
// shows: it cannot start markup.
func shorten(s string) string {
	if len(s) <= maxMarkdownText {
		return s
	}
	i := maxMarkdownText - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// breakLinks puts a word joiner where GitHub would make a link or a
// mention of untrusted text: after @ and #, in GH-123, :// and www.
func breakLinks(s string) string {
	if !strings.ContainsAny(s, "@#:wWgG") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		b.WriteByte(c)
		switch {
		case c == '@' || c == '#':
			b.WriteString(wordJoiner)
		case c == ':' && strings.HasPrefix(s[i+1:], "//"):
			b.WriteString(wordJoiner)
		case (c == 'w' || c == 'W') && len(s) >= i+4 && strings.EqualFold(s[i:i+4], "www."):
			b.WriteString(s[i+1 : i+3])
			b.WriteString(wordJoiner)
			i += 2
		case (c == 'h' || c == 'H') && i > 0 && (s[i-1] == 'g' || s[i-1] == 'G') && strings.HasPrefix(s[i+1:], "-"):
			b.WriteString(wordJoiner)
		}
	}
	return b.String()
}

// mdText is an untrusted string as GitHub-flavoured Markdown text, in a
// paragraph or a table cell: its controls shown (render.Escape), every
// character Markdown or HTML would act on backslash-escaped or an entity,
// no mention, reference or autolink (breakLinks), shortened.
func mdText(s string) string {
	s = render.Escape(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '(', ')', '~', '|', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return shorten(breakLinks(b.String()))
}

// mdHTML is an untrusted string as the text of an HTML element (a
// <summary>): escaped for HTML, with no mention, reference or autolink.
func mdHTML(s string) string {
	return shorten(html.EscapeString(breakLinks(render.Escape(s))))
}

// mdCode is an untrusted string as a code span (no Markdown, HTML or
// mention in it), for text outside tables.
func mdCode(s string) string {
	s = shorten(render.Escape(s))
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || fence != "`" {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// markdownFullReport says, in Markdown, how to get every group.
func markdownFullReport(opts Options) string {
	if opts.FullReport != "" {
		return "the full report is " + mdCode(opts.FullReport) + " (written with `-o json`)"
	}
	return "run `rescoord leaks -o json` for the full report"
}

// Print implements Printer.
func (p *markdownPrinter) Print(w io.Writer, r *leaks.Report) error {
	var b bytes.Buffer
	t := newTracer(r.Index)
	s := r.Index.Snap
	icon := "✅"
	if r.Failed {
		icon = "❌"
	}
	fmt.Fprintf(&b, "### %s rescoord leaks: %s\n\n", icon, verdict(r))
	fmt.Fprintf(&b, "Snapshot %s", mdCode(p.opts.Input))
	if s.Source.Process != "" {
		fmt.Fprintf(&b, " of %s", mdText(s.Source.Process))
	}
	fmt.Fprintf(&b, ", taken %s.", s.TakenAt.UTC().Format("2006-01-02 15:04:05Z07:00"))
	if p.opts.Baseline != "" {
		fmt.Fprintf(&b, " Compared with baseline %s: %d known %s not shown.", mdCode(p.opts.Baseline), r.InBaseline, human.Plural(r.InBaseline, "finding", "findings"))
	}
	b.WriteString("\n\n")

	sum := r.Summary
	if err := render.Markdown(&b, []string{"critical", "error", "warning", "info", "suppressed"},
		[][]string{{strconv.Itoa(sum.Critical), strconv.Itoa(sum.Error), strconv.Itoa(sum.Warning), strconv.Itoa(sum.Info), strconv.Itoa(sum.Suppressed)}}); err != nil {
		return err
	}
	b.WriteString("\n")
	rows := min(len(r.Groups), maxMarkdownRows)
	r.CompleteGroups(r.Groups[:rows], groupRead)
	if len(r.Groups) == 0 {
		b.WriteString("No leaks found.\n")
	} else {
		cells := make([][]string, 0, rows)
		for gi := range r.Groups[:rows] {
			g := &r.Groups[gi]
			sev := g.Severity.String()
			if g.Fails {
				sev = "**" + sev + "**"
			}
			cells = append(cells, []string{sev, "`" + string(g.Rule) + "`", strconv.Itoa(len(g.Findings)), mdText(t.rawSubject(&g.Findings[0]))})
		}
		if err := render.Markdown(&b, []string{"severity", "rule", "count", "finding"}, cells); err != nil {
			return err
		}
		if rest := len(r.Groups) - rows; rest > 0 {
			fmt.Fprintf(&b, "\n…and %d more %s not in this table: %s.\n", rest, human.Plural(rest, "group", "groups"), markdownFullReport(p.opts))
		}
		b.WriteString("\n")
	}

	// What comes after the traces, first: the traces get what is left.
	var tail bytes.Buffer
	if r.Suppressions != nil && len(r.Uses) > 0 {
		uses := r.Uses[:min(len(r.Uses), maxMarkdownUses)]
		cells := make([][]string, 0, len(uses))
		for _, u := range uses {
			status := string(u.Entry.Action)
			switch {
			case u.Expired:
				status = "expired " + u.Entry.Expires.Format("2006-01-02")
			case u.Hits == 0:
				status = "unused"
			}
			cells = append(cells, []string{mdText(u.Entry.Where()), status, strconv.Itoa(u.Hits), mdText(u.Entry.Patterns()), mdText(u.Entry.Reason)})
		}
		tail.WriteString("<details>\n<summary>Suppressions</summary>\n\n")
		if err := render.Markdown(&tail, []string{"entry", "status", "hits", "patterns", "reason"}, cells); err != nil {
			return err
		}
		if rest := len(r.Uses) - len(uses); rest > 0 {
			fmt.Fprintf(&tail, "\n…and %d more %s: see the text report.\n", rest, human.Plural(rest, "entry", "entries"))
		}
		tail.WriteString("\n</details>\n\n")
	}
	fmt.Fprintf(&tail, "<sub>%s</sub>\n", html.EscapeString(summaryLine(r)))

	// The traces of the groups in the table, as many as fit.
	const noteRoom = 300 // for the line saying how many traces are left out
	budget := maxMarkdownBytes - b.Len() - tail.Len() - noteRoom
	shown := 0
	for gi := range r.Groups[:rows] {
		g := &r.Groups[gi]
		var d bytes.Buffer
		fmt.Fprintf(&d, "<details>\n<summary><b>%s</b> <code>%s</code> %s · %s</summary>\n\n",
			g.Severity, g.Rule, countLabel(len(g.Findings)), mdHTML(t.rawSubject(&g.Findings[0])))
		d.WriteString("```text\n")
		d.WriteString(strings.ReplaceAll(textOf(t, g), "```", "ˋˋˋ"))
		d.WriteString("\n```\n\n</details>\n\n")
		if d.Len() > budget {
			break
		}
		budget -= d.Len()
		b.Write(d.Bytes())
		shown++
	}
	if rest := rows - shown; rest > 0 {
		fmt.Fprintf(&b, "The traces of the other %d %s in the table are not shown, to fit in a comment: %s.\n\n", rest, human.Plural(rest, "group", "groups"), markdownFullReport(p.opts))
	}
	b.Write(tail.Bytes())
	// internal/printer writes it through render.SafeWriter: no line of
	// the comment starts a CI workflow command when it goes to standard
	// output.
	_, err := w.Write(b.Bytes())
	return err
}
