package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// maxOthers is how many other ids a group lists after its trace.
const maxOthers = 5

// maxTextGroups is how many groups the text report shows, each with its
// trace; one line counts the others ("… 92113 more groups (use -o json
// for all)"). The report is for people: a leaky snapshot of a million
// resources has about a hundred thousand groups, which nobody reads and
// which take seconds to print. The summary line still counts every
// finding, and the other formats list every group.
const maxTextGroups = 1000

// textPrinter writes the report people read: groups most severe first,
// each with its leak trace, then the suppressions and a summary line.
type textPrinter struct {
	opts Options
	// maxGroups is how many groups are shown (maxTextGroups).
	maxGroups int
}

// Print implements Printer. Every string from the input is escaped where
// it is formatted (render.Escape); internal/printer writes the whole
// report through render.SafeWriter.
func (p *textPrinter) Print(w io.Writer, r *leaks.Report) error {
	bw := bufio.NewWriter(w)
	st := p.opts.Styles
	s := r.Index.Snap
	t := newTracer(r.Index)

	head := []string{"rescoord leaks", render.Escape(p.opts.Input)}
	if src := render.Escape(s.Source.Process); src != "" {
		if s.Source.PID > 0 {
			src += fmt.Sprintf(" (pid %d)", s.Source.PID)
		}
		if s.Source.Host != "" {
			src += " on " + render.Escape(s.Source.Host)
		}
		head = append(head, src)
	}
	head = append(head, "taken "+s.TakenAt.UTC().Format("2006-01-02 15:04:05Z07:00"))
	fmt.Fprintln(bw, st.Title.Render(strings.Join(head, " · ")))
	if p.opts.Baseline != "" {
		fmt.Fprintf(bw, "compared with baseline %s: findings it has are not shown\n", render.Escape(p.opts.Baseline))
	}
	if p.opts.Grace > 0 {
		fmt.Fprintf(bw, "grace %s: leaks of owners destroyed less than that before the snapshot are info\n", p.opts.Grace)
	}
	if len(p.opts.Series) > 0 {
		fmt.Fprintf(bw, "growth across %d snapshots: %s, then this one\n", len(p.opts.Series)+1, render.Escape(strings.Join(p.opts.Series, ", ")))
	}
	fmt.Fprintln(bw)

	if len(r.Groups) == 0 {
		fmt.Fprintln(bw, st.OK.Render("no leaks found"))
		fmt.Fprintln(bw)
	}
	shown := min(len(r.Groups), p.maxGroups)
	r.Complete(shownFindings(r, shown))
	for gi := range r.Groups[:shown] {
		p.group(bw, t, &r.Groups[gi])
	}
	if rest := len(r.Groups) - shown; rest > 0 {
		fmt.Fprintln(bw, st.Dim.Render(fmt.Sprintf("… %d more %s (use -o json for all)", rest, human.Plural(rest, "group", "groups"))))
		fmt.Fprintln(bw)
	}
	p.suppressions(bw, r)
	line := summaryLine(r)
	switch {
	case r.Failed:
		line = st.Error.Render(line)
	default:
		line = st.OK.Render(line)
	}
	fmt.Fprintln(bw, line)
	return bw.Flush()
}

// shownFindings are the findings of r's first shown groups: since the
// groups are windows of r.Findings in order (leaks.Report), its first
// ones. Groups laid out otherwise get all of them.
func shownFindings(r *leaks.Report, shown int) []leaks.Finding {
	n := 0
	for _, g := range r.Groups[:shown] {
		if len(g.Findings) == 0 || n+len(g.Findings) > len(r.Findings) || &g.Findings[0] != &r.Findings[n] {
			return r.Findings
		}
		n += len(g.Findings)
	}
	return r.Findings[:n]
}

func (p *textPrinter) group(w io.Writer, t *tracer, g *leaks.Group) {
	st := p.opts.Styles
	f := &g.Findings[0]
	label := st.Severity(g.Severity.String()).Bold(true).Render(fmt.Sprintf("%-8s", strings.ToUpper(g.Severity.String())))
	title := fmt.Sprintf("%s %s %s · %s", label, st.Bold.Render(string(g.Rule)), countLabel(len(g.Findings)), t.subject(f))
	fmt.Fprintln(w, strings.TrimRight(title, " "))
	fmt.Fprintln(w, "  "+render.Escape(f.Message))
	if f.SuppressedBy != nil {
		fmt.Fprintln(w, "  "+st.Dim.Render(fmt.Sprintf("reported, not failing: suppressed with action report at %s (%s)", render.Escape(f.SuppressedBy.Where()), render.Escape(f.SuppressedBy.Reason))))
	}
	tr := t.trace(f)
	if len(tr.hops) > 0 {
		fmt.Fprintln(w, "  leak trace:")
		for d, h := range tr.hops {
			if h.elided {
				fmt.Fprintf(w, "    %s%s\n", treePrefix(d), st.Dim.Render(h.label))
				continue
			}
			state := h.state
			if h.bad {
				state = st.Error.Render(state)
			}
			fmt.Fprintf(w, "    %s%s  %s\n", treePrefix(d), h.label, state)
		}
	}
	for _, n := range tr.notes {
		fmt.Fprintln(w, "  "+n)
	}
	if len(tr.frames) > 0 {
		fmt.Fprintln(w, "  created by:")
		for _, fr := range tr.frames {
			fmt.Fprintln(w, "    "+fr)
		}
	}
	if len(g.Findings) > 1 {
		fmt.Fprintln(w, "  also: "+others(g, maxOthers))
	}
	fmt.Fprintln(w, "  "+st.Dim.Render("signature "+g.Signature))
	fmt.Fprintln(w)
}

// countLabel is "×37".
func countLabel(n int) string { return fmt.Sprintf("×%d", n) }

func (p *textPrinter) suppressions(w io.Writer, r *leaks.Report) {
	if r.Suppressions == nil {
		return
	}
	st := p.opts.Styles
	fmt.Fprintln(w, st.Title.Render("Suppressions ("+render.Escape(r.Suppressions.File)+")"))
	if len(r.Uses) == 0 {
		fmt.Fprintln(w, "  no entries")
	}
	rows := make([][]string, 0, len(r.Uses))
	for _, u := range r.Uses {
		e := u.Entry
		status := string(e.Action)
		hits := fmt.Sprintf("%d", u.Hits)
		switch {
		case u.Expired:
			status = st.Warning.Render("expired " + e.Expires.Format("2006-01-02"))
			hits += ", reported again"
		case u.Hits == 0:
			status = st.Info.Render("unused")
		}
		rows = append(rows, []string{fmt.Sprint(e.Line), status, hits, render.Escape(e.Patterns()), render.Escape(e.Reason)})
	}
	if len(rows) > 0 {
		var buf bytes.Buffer
		_ = render.Table(&buf, st, []string{"LINE", "STATUS", "HITS", "PATTERNS", "REASON"}, rows)
		for line := range strings.Lines(buf.String()) {
			fmt.Fprint(w, "  "+line)
		}
	}
	fmt.Fprintln(w)
}

// appendText appends a group's leak trace for the plain formats (junit,
// github, markdown, sarif): its lines, separated by newlines, every string
// from the input escaped (render.Escape), so no line of it can start a CI
// workflow command or break out of a code block.
func appendText(b []byte, t *tracer, g *leaks.Group) []byte {
	f := &g.Findings[0]
	b = append(b, render.Escape(f.Message)...)
	if f.SuppressedBy != nil {
		b = fmt.Appendf(b, "\nreported, not failing: suppressed with action report at %s (%s)", render.Escape(f.SuppressedBy.Where()), render.Escape(f.SuppressedBy.Reason))
	}
	b = t.trace(f).appendPlain(b)
	if len(g.Findings) > 1 {
		b = append(b, "\nalso: "...)
		b = append(b, others(g, maxOthers)...)
	}
	b = append(b, "\nsignature "...)
	return append(b, g.Signature...)
}

// textOf is appendText as a string.
func textOf(t *tracer, g *leaks.Group) string { return string(appendText(nil, t, g)) }
