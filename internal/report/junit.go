package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
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

// junitBlockGroups is how many test cases make one block.
const junitBlockGroups = 128

// Print implements Printer. The document is written as encoding/xml
// indents it, the test cases a block of groups at a time on every core
// (see writeBlocks), so that a report of many groups is never held in
// memory as XML.
//
// The traces in it are escaped (appendText) and it is written through
// render.SafeWriter, so no line of it starts a CI workflow command when it
// goes to standard output.
func (p *junitPrinter) Print(w io.Writer, r *leaks.Report) error {
	w = render.SafeWriter(w)
	t := newTracer(r.Index)
	suite := JUnitSuite{Name: "rescoord leaks: " + p.opts.Input, Time: "0"}
	for gi := range r.Groups {
		switch g := &r.Groups[gi]; {
		case g.Fails:
			suite.Failures++
		case g.Findings[0].SuppressedBy != nil:
			suite.Skipped++
		}
	}
	var quiet []JUnitCase // the rules that ran and found nothing
	for _, rule := range r.Rules {
		if r.RuleCounts[rule] == 0 {
			quiet = append(quiet, JUnitCase{Classname: string(rule), Name: "no findings", Time: "0"})
		}
	}
	suite.Tests = len(r.Groups) + len(quiet)
	doc := JUnitSuites{Name: "rescoord leaks", Tests: suite.Tests, Failures: suite.Failures}

	// The opening tags, as the encoder writes them.
	var head bytes.Buffer
	head.WriteString(xml.Header)
	enc := xml.NewEncoder(&head)
	enc.Indent("", "  ")
	for _, v := range []struct {
		v    any
		name string
	}{{doc, "testsuites"}, {suite, "testsuite"}} {
		start, err := startElement(v.v)
		if err != nil {
			return err
		}
		start.Name.Local = v.name // a JUnitSuite is named by its parent's field
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}
	var encErr atomic.Value
	appendCase := func(b []byte, c *JUnitCase) []byte {
		buf := bytes.NewBuffer(append(b, '\n'))
		enc := xml.NewEncoder(buf)
		enc.Indent("    ", "  ")
		if err := enc.EncodeElement(c, xml.StartElement{Name: xml.Name{Local: "testcase"}}); err != nil {
			encErr.CompareAndSwap(nil, err)
		}
		return buf.Bytes()
	}
	err := writeBlocks(w, len(r.Groups), junitBlockGroups, func(b []byte, from, to int) []byte {
		for gi := from; gi < to; gi++ {
			g := &r.Groups[gi]
			f := &g.Findings[0]
			name := g.Signature + " " + t.subject(f)
			if len(g.Findings) > 1 {
				name += " " + countLabel(len(g.Findings))
			}
			c := JUnitCase{Classname: string(g.Rule), Name: name, Time: "0"}
			body := textOf(t, g)
			switch {
			case g.Fails:
				c.Failure = &JUnitFailure{Message: render.Escape(f.Message), Type: g.Severity.String(), Text: body}
			case f.SuppressedBy != nil:
				c.Skipped = &JUnitSkipped{Message: fmt.Sprintf("suppressed with action report at %s: %s", render.Escape(f.SuppressedBy.Where()), render.Escape(f.SuppressedBy.Reason))}
				c.SystemOut = &JUnitOutput{Text: body}
			default:
				c.SystemOut = &JUnitOutput{Text: fmt.Sprintf("%s (below --fail-on %s)\n%s", g.Severity, r.FailOn, body)}
			}
			b = appendCase(b, &c)
		}
		return b
	})
	if err != nil {
		return err
	}
	var tail []byte
	for i := range quiet {
		tail = appendCase(tail, &quiet[i])
	}
	if err, _ := encErr.Load().(error); err != nil {
		return err
	}
	tail = append(tail, "\n  </testsuite>\n</testsuites>\n"...)
	if _, err = w.Write(tail); err != nil {
		return err
	}
	return render.Flush(w)
}

// startElement is the start tag encoding/xml writes for v, with its
// attributes: v marshalled without its children, cut at the first '>'.
func startElement(v any) (xml.StartElement, error) {
	var start xml.StartElement
	x, err := xml.Marshal(v)
	if err != nil {
		return start, err
	}
	d := xml.NewDecoder(bytes.NewReader(x))
	for {
		tok, err := d.Token()
		if err != nil {
			return start, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s.Copy(), nil
		}
	}
}
