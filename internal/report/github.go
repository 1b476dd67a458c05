package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/rescoord/rescoord/pkg/leaks"
)

// githubPrinter writes GitHub Actions workflow commands: one annotation
// per group (::error for critical and error, ::warning, ::notice for info
// and for groups reported by an action-report suppression), placed at the
// first created_by frame that parses as file:line, then the summary line.
type githubPrinter struct{ opts Options }

// githubBlockGroups is how many annotations make one block.
const githubBlockGroups = 256

// Print implements Printer, a block of groups at a time on every core
// (see writeBlocks).
func (p *githubPrinter) Print(w io.Writer, r *leaks.Report) error {
	t := newTracer(r.Index)
	err := writeBlocks(w, len(r.Groups), githubBlockGroups, func(b []byte, from, to int) []byte {
		var text []byte
		for gi := from; gi < to; gi++ {
			g := &r.Groups[gi]
			f := &g.Findings[0]
			cmd := "notice"
			switch {
			case f.SuppressedBy != nil:
			case g.Severity >= leaks.SeverityError:
				cmd = "error"
			case g.Severity == leaks.SeverityWarning:
				cmd = "warning"
			}
			var props []string
			if file, line, ok := t.location(f); ok {
				props = append(props, "file="+escapeProperty(file), fmt.Sprintf("line=%d", line))
			}
			title := fmt.Sprintf("rescoord %s %s: %s", g.Rule, countLabel(len(g.Findings)), t.subject(f))
			props = append(props, "title="+escapeProperty(title))
			b = fmt.Appendf(b, "::%s %s::", cmd, strings.Join(props, ","))
			text = appendText(text[:0], t, g)
			b = appendEscapedData(b, text)
			b = append(b, '\n')
		}
		return b
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "rescoord leaks: "+summaryLine(r)+"\n")
	return err
}

// appendEscapedData appends a workflow command's message, escaped: % and
// line breaks.
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

// escapeProperty escapes a workflow command's property value: also : and ,.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }

var propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
