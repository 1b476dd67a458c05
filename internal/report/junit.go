package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// JUnitSuites is the JUnit XML document the junit format writes, as CI
// systems (Jenkins, GitLab, GitHub test reporters) read it. It is exported
// so tests and tools can parse reports back.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one testsuite: the leak report of one snapshot.
type JUnitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []JUnitCase `xml:"testcase"`
}

// JUnitCase is one test case: a group of findings (classname is the rule,
// name the signature and what the group is about), or a rule that found
// nothing.
type JUnitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut *JUnitOutput  `xml:"system-out,omitempty"`
}

// JUnitOutput is a test case's system-out: the trace of a passing group.
type JUnitOutput struct {
	Text string `xml:",cdata"`
}

// JUnitFailure marks a group at or above --fail-on; its text is the trace.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// JUnitSkipped marks a group reported by a suppression with action report.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitPrinter writes a test case per group (failing at or above
// --fail-on, skipped when an action-report suppression matched, passing
// otherwise with the trace as system-out), and a passing case per rule
// that ran and found nothing.
type junitPrinter struct{ opts Options }

// Print implements Printer.
func (p *junitPrinter) Print(w io.Writer, r *coordinator.Report) error {
	t := newTracer(r.Index)
	suite := JUnitSuite{Name: "rescoord leaks: " + p.opts.Input, Time: "0"}
	for gi := range r.Groups {
		g := &r.Groups[gi]
		f := &g.Findings[0]
		name := g.Signature + " " + t.subject(f)
		if len(g.Findings) > 1 {
			name += " " + countLabel(len(g.Findings))
		}
		c := JUnitCase{Classname: string(g.Rule), Name: name, Time: "0"}
		body := strings.Join(textLines(t, g), "\n")
		switch {
		case g.Fails:
			c.Failure = &JUnitFailure{Message: f.Message, Type: g.Severity.String(), Text: body}
			suite.Failures++
		case f.SuppressedBy != nil:
			c.Skipped = &JUnitSkipped{Message: fmt.Sprintf("suppressed with action report at %s: %s", f.SuppressedBy.Where(), f.SuppressedBy.Reason)}
			c.SystemOut = &JUnitOutput{Text: body}
			suite.Skipped++
		default:
			c.SystemOut = &JUnitOutput{Text: fmt.Sprintf("%s (below --fail-on %s)\n%s", g.Severity, r.FailOn, body)}
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, rule := range r.Rules {
		if r.RuleCounts[rule] == 0 {
			suite.Cases = append(suite.Cases, JUnitCase{Classname: string(rule), Name: "no findings", Time: "0"})
		}
	}
	suite.Tests = len(suite.Cases)
	doc := JUnitSuites{Name: "rescoord leaks", Tests: suite.Tests, Failures: suite.Failures, Suites: []JUnitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
