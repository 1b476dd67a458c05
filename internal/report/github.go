package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// GitHub Actions shows at most 10 error, 10 warning and 10 notice
// annotations of a step, 50 of a job (actions/toolkit,
// docs/problem-matchers.md "Limitations"); the others are dropped
// silently. The github format writes no more than it shows.
const (
	MaxGitHubErrors   = 10
	MaxGitHubWarnings = 10
)

// githubPrinter writes GitHub Actions workflow commands (docs/ci.md): an
// ::error for each of the first MaxGitHubErrors groups at critical or
// error, a ::warning for each of the first MaxGitHubWarnings at warning
// (most severe first, as the report orders them), placed at the innermost
// repository frame, then one ::notice with the totals and where the whole
// report is. Info groups and those an action-report suppression reported
// are counted there, not annotated. With Options.StepSummary it appends the
// Markdown report to that file ($GITHUB_STEP_SUMMARY).
type githubPrinter struct{ opts Options }

// Print implements Printer.
func (p *githubPrinter) Print(w io.Writer, r *leaks.Report) error {
	t := newTracer(r.Index)
	t.paths = p.opts.Paths
	var b, text []byte
	errs, warns, left := 0, 0, 0
	for gi := range r.Groups {
		g := &r.Groups[gi]
		f := &g.Findings[0]
		var cmd string
		switch {
		case f.SuppressedBy != nil || g.Severity < leaks.SeverityWarning:
			left++
			continue
		case g.Severity >= leaks.SeverityError && errs < MaxGitHubErrors:
			cmd = "error"
			errs++
		case g.Severity == leaks.SeverityWarning && warns < MaxGitHubWarnings:
			cmd = "warning"
			warns++
		default:
			left++
			continue
		}
		var props []string
		if file, line, ok := t.locationWhere(f, repoRelative); ok {
			props = append(props, "file="+escapeProperty(file), fmt.Sprintf("line=%d", line))
		}
		title := fmt.Sprintf("rescoord %s %s: %s", g.Rule, countLabel(len(g.Findings)), t.subject(f))
		props = append(props, "title="+escapeProperty(title))
		b = fmt.Appendf(b, "::%s %s::", cmd, strings.Join(props, ","))
		r.CompleteGroups(r.Groups[gi:gi+1], groupRead)
		text = appendText(text[:0], t, g)
		b = appendEscapedData(b, text)
		b = append(b, '\n')
	}

	notice := "rescoord leaks: " + summaryLine(r) + "."
	if left > 0 {
		notice += fmt.Sprintf(" %d of %d groups are annotated (GitHub shows %d errors and %d warnings a step).",
			errs+warns, len(r.Groups), MaxGitHubErrors, MaxGitHubWarnings)
	}
	notice += " Full report: " + fullReport(p.opts)
	if p.opts.StepSummary != "" {
		notice += "; the Markdown report is in the job summary"
	}
	notice += "."
	b = append(b, "::notice title=rescoord leaks::"...)
	b = appendEscapedData(b, []byte(notice))
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return err
	}
	if p.opts.StepSummary == "" {
		return nil
	}
	return appendStepSummary(p.opts, r)
}

// fullReport says where every group of the report is: the -o json=PATH
// file of the same run, or the command that prints it.
func fullReport(opts Options) string {
	if opts.FullReport != "" {
		return render.Escape(opts.FullReport)
	}
	return "rescoord leaks -o json"
}

// appendStepSummary appends the Markdown report to opts.StepSummary,
// creating it (0644 less the umask) when missing; a symbolic link there
// is refused, not followed: the path comes from the environment, which a
// step can set for the steps after it (docs/ci.md).
func appendStepSummary(opts Options, r *leaks.Report) error {
	var md bytes.Buffer
	if err := (&markdownPrinter{opts}).Print(&md, r); err != nil {
		return err
	}
	f, err := os.OpenFile(opts.StepSummary, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("the step summary %s is a symbolic link: not written", render.Escape(opts.StepSummary))
	}
	if err != nil {
		return fmt.Errorf("the step summary: %w", err)
	}
	md.WriteByte('\n')
	_, err = f.Write(md.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("the step summary %s: %w", render.Escape(opts.StepSummary), err)
	}
	return nil
}

// appendEscapedData appends a workflow command's message, escaped as
// @actions/core's escapeData does: %, CR and LF.
func appendEscapedData(b, data []byte) []byte {
	for _, c := range data {
		switch c {
		case '%':
			b = append(b, "%25"...)
		case '\r':
			b = append(b, "%0D"...)
		case '\n':
			b = append(b, "%0A"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// escapeProperty escapes a workflow command's property value as
// @actions/core's escapeProperty does: also : and ,.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }

var propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
