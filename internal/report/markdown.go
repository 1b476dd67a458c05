package report

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// Markdown limits: a pull-request comment holds at most 65,536 characters.
const (
	maxMarkdownBytes = 60_000
	maxMarkdownRows  = 50
)

// markdownPrinter writes a pull-request comment: a verdict, the counts, a
// table of the top groups and each group's trace in a collapsed block,
// capped to fit in a comment.
type markdownPrinter struct{ opts Options }

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
	fmt.Fprintf(&b, "Snapshot `%s`", render.Escape(p.opts.Input))
	if s.Source.Process != "" {
		fmt.Fprintf(&b, " of %s", html.EscapeString(render.Escape(s.Source.Process)))
	}
	fmt.Fprintf(&b, ", taken %s.", s.TakenAt.UTC().Format("2006-01-02 15:04:05Z07:00"))
	if p.opts.Baseline != "" {
		fmt.Fprintf(&b, " Compared with baseline `%s`: %d known %s not shown.", render.Escape(p.opts.Baseline), r.InBaseline, plural(r.InBaseline, "finding", "findings"))
	}
	b.WriteString("\n\n")

	sum := r.Summary
	if err := render.Markdown(&b, []string{"critical", "error", "warning", "info", "suppressed"},
		[][]string{{strconv.Itoa(sum.Critical), strconv.Itoa(sum.Error), strconv.Itoa(sum.Warning), strconv.Itoa(sum.Info), strconv.Itoa(sum.Suppressed)}}); err != nil {
		return err
	}
	b.WriteString("\n")
	if len(r.Groups) == 0 {
		b.WriteString("No leaks found.\n")
	} else {
		rows := make([][]string, 0, min(len(r.Groups), maxMarkdownRows))
		for gi := range r.Groups[:min(len(r.Groups), maxMarkdownRows)] {
			g := &r.Groups[gi]
			sev := g.Severity.String()
			if g.Fails {
				sev = "**" + sev + "**"
			}
			rows = append(rows, []string{sev, "`" + string(g.Rule) + "`", strconv.Itoa(len(g.Findings)), t.subject(&g.Findings[0])})
		}
		if err := render.Markdown(&b, []string{"severity", "rule", "count", "finding"}, rows); err != nil {
			return err
		}
		if len(r.Groups) > maxMarkdownRows {
			fmt.Fprintf(&b, "\n…and %d more groups: see the full report.\n", len(r.Groups)-maxMarkdownRows)
		}
		b.WriteString("\n")
	}

	shown := 0
	for gi := range r.Groups {
		g := &r.Groups[gi]
		var d bytes.Buffer
		fmt.Fprintf(&d, "<details>\n<summary><b>%s</b> <code>%s</code> %s · %s</summary>\n\n",
			g.Severity, g.Rule, countLabel(len(g.Findings)), html.EscapeString(t.subject(&g.Findings[0])))
		d.WriteString("```text\n")
		d.WriteString(strings.ReplaceAll(textOf(t, g), "```", "ˋˋˋ"))
		d.WriteString("\n```\n\n</details>\n\n")
		if b.Len()+d.Len() > maxMarkdownBytes {
			break
		}
		b.Write(d.Bytes())
		shown++
	}
	if shown < len(r.Groups) {
		fmt.Fprintf(&b, "Traces of %d more groups are not shown, to fit in a comment: see the full report.\n\n", len(r.Groups)-shown)
	}
	if r.Suppressions != nil && len(r.Uses) > 0 {
		rows := make([][]string, 0, len(r.Uses))
		for _, u := range r.Uses {
			status := string(u.Entry.Action)
			switch {
			case u.Expired:
				status = "expired " + u.Entry.Expires.Format("2006-01-02")
			case u.Hits == 0:
				status = "unused"
			}
			rows = append(rows, []string{u.Entry.Where(), status, strconv.Itoa(u.Hits), u.Entry.Patterns(), u.Entry.Reason})
		}
		b.WriteString("<details>\n<summary>Suppressions</summary>\n\n")
		if err := render.Markdown(&b, []string{"entry", "status", "hits", "patterns", "reason"}, rows); err != nil {
			return err
		}
		b.WriteString("\n</details>\n\n")
	}
	fmt.Fprintf(&b, "<sub>%s</sub>\n", html.EscapeString(summaryLine(r)))
	// Through render.SafeWriter: no line of the comment starts a CI
	// workflow command when it goes to standard output.
	w = render.SafeWriter(w)
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	return render.Flush(w)
}
