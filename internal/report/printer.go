package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// Formats are the report formats, in the order help text lists them.
var Formats = []string{"text", "json", "sarif", "junit", "github", "markdown"}

// Printer writes a leak report in one format.
type Printer interface {
	Print(w io.Writer, r *leaks.Report) error
}

// Options describe the run a report comes from, for the formats that say so.
type Options struct {
	// Styles colour the text format; nil prints plain text.
	Styles *render.Styles
	// Input names the snapshot: a path, "stdin", "demo" or an attach target.
	Input string
	// Version is rescoord's version, for SARIF and JUnit.
	Version string
	// Baseline is the --baseline path; Series the older snapshots of a
	// three-snapshot run, oldest first.
	Baseline string
	Series   []string
	// Grace is the --grace in force, shown in the text header.
	Grace time.Duration
	// Artifact is the snapshot as a location in the repository, for SARIF
	// results with no frame there: its path relative to the working
	// directory, or "" (SnapshotArtifact is used) when it is no file
	// inside it.
	Artifact string
	// FullReport is the path of the JSON report of the same run (-o
	// json=PATH), "" when there is none: the reports that leave groups
	// out say where all of them are.
	FullReport string
	// StepSummary is the file the github format appends the Markdown
	// report to ($GITHUB_STEP_SUMMARY), "" for none.
	StepSummary string
	// Paths maps frames' files before SARIF, GitHub and JUnit locate
	// findings (--path-map, --source-root).
	Paths Paths
}

// New returns the printer for format, or an error naming the formats.
func New(format string, opts Options) (Printer, error) {
	if opts.Styles == nil {
		opts.Styles = render.NewStyles(io.Discard, false)
	}
	switch format {
	case "text":
		return &textPrinter{opts: opts, maxGroups: maxTextGroups}, nil
	case "json":
		return jsonPrinter{}, nil
	case "sarif":
		return &sarifPrinter{opts}, nil
	case "junit":
		return &junitPrinter{opts}, nil
	case "github":
		return &githubPrinter{opts}, nil
	case "markdown":
		return &markdownPrinter{opts}, nil
	}
	return nil, fmt.Errorf("unknown format %q: want %s", format, strings.Join(Formats, ", "))
}

// groupRead is how many findings of a group the reports read the text of
// (appendText): the first, and the others it lists. A printer makes the
// text a report left for later (leaks.ReportOptions.DeferText) of the
// groups it shows only, with leaks.Report.CompleteGroups; the JSON printer
// makes it as it writes.
const groupRead = 1 + maxOthers

// summaryLine is the closing line of a report: "2 critical, 5 errors,
// 3 warnings, 1 info · 4 suppressed · fails on error: FAIL (7 findings)".
func summaryLine(r *leaks.Report) string {
	s := r.Summary
	parts := []string{fmt.Sprintf("%d critical, %d %s, %d %s, %d info",
		s.Critical, s.Error, human.Plural(s.Error, "error", "errors"), s.Warning, human.Plural(s.Warning, "warning", "warnings"), s.Info)}
	parts = append(parts, fmt.Sprintf("%d suppressed", s.Suppressed))
	if r.InBaseline > 0 {
		parts = append(parts, fmt.Sprintf("%d in baseline", r.InBaseline))
	}
	if r.Hidden > 0 {
		parts = append(parts, fmt.Sprintf("%d below %s not shown", r.Hidden, r.Show))
	}
	parts = append(parts, verdict(r))
	return strings.Join(parts, " · ")
}

// verdict says what --fail-on made of the report.
func verdict(r *leaks.Report) string {
	if r.FailOn == 0 {
		return "fails on none: pass"
	}
	if r.Failed {
		return fmt.Sprintf("fails on %s: FAIL (%d %s)", r.FailOn, r.Failing, human.Plural(r.Failing, "finding", "findings"))
	}
	return fmt.Sprintf("fails on %s: pass", r.FailOn)
}
