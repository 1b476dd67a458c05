package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/human"
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
	Skipped  int          `xml:"skipped,attr"`
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
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	Time      string `xml:"time,attr"`
	// File and Line are where the group points in source (its first
	// created_by frame that parses as file:line), as pytest writes them.
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
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
// that ran and found nothing. Past maxJUnitGroups groups, the others are
// summarised: one case per rule and outcome, with their count.
type junitPrinter struct{ opts Options }

// junitBlockGroups is how many test cases make one block.
const junitBlockGroups = 128

// maxJUnitGroups is how many groups get a test case of their own: a CI
// test view of a hundred thousand leak groups is not read, and a file of
// that size is slow to upload and parse. The others are counted in one case
// per rule and outcome (docs/leaks.md#junit).
const maxJUnitGroups = 1000

// junitOutcome is what a group's test case says.
type junitOutcome int

const (
	junitPass junitOutcome = iota
	junitFail
	junitSkip
)

func outcomeOf(g *leaks.Group) junitOutcome {
	switch {
	case g.Fails:
		return junitFail
	case g.Findings[0].SuppressedBy != nil:
		return junitSkip
	}
	return junitPass
}

// xmlChars returns s with every character XML 1.0 cannot hold shown
// visibly instead: C0 controls but tab, newline and carriage return as
// \xNN, U+FFFE and U+FFFF as \uNNNN, and bytes that are not UTF-8 (lone
// surrogates among them) as \xNN. encoding/xml writes U+FFFD for them in
// attributes, and nothing stops them in character data.
func xmlChars(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !xmlChar(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case xmlChar(r, n):
			b = append(b, s[i:i+n]...)
		case r == utf8.RuneError && n == 1, r < 0x20:
			b = fmt.Appendf(b, `\x%02x`, s[i])
		default:
			b = fmt.Appendf(b, `\u%04X`, r)
		}
		i += n
	}
	return string(b)
}

// xmlChar reports whether the rune r, n bytes long, is a Char of XML 1.0.
func xmlChar(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return false
	case r == '\t', r == '\n', r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return true
}

// safe returns the case with every string made fit for XML (xmlChars).
func (c JUnitCase) safe() JUnitCase {
	c.Classname, c.Name, c.File = xmlChars(c.Classname), xmlChars(c.Name), xmlChars(c.File)
	if c.Failure != nil {
		f := *c.Failure
		f.Message, f.Type, f.Text = xmlChars(f.Message), xmlChars(f.Type), xmlChars(f.Text)
		c.Failure = &f
	}
	if c.Skipped != nil {
		c.Skipped = &JUnitSkipped{Message: xmlChars(c.Skipped.Message)}
	}
	if c.SystemOut != nil {
		c.SystemOut = &JUnitOutput{Text: xmlChars(c.SystemOut.Text)}
	}
	return c
}

// junitSummary is the case that counts the groups of one rule and outcome
// past maxJUnitGroups.
type junitSummary struct {
	rule             leaks.Rule
	outcome          junitOutcome
	groups, findings int
	severity         leaks.Severity // the most severe
	signatures       []string       // the first few
}

// maxSummarySignatures is how many signatures a summary case lists.
const maxSummarySignatures = 20

// Print implements Printer. The document is written as encoding/xml
// indents it, the test cases a block of groups at a time on every core
// (see writeBlocks), so that a report of many groups is never held in
// memory as XML.
//
// The traces in it are escaped (appendText), every string is made fit for
// XML 1.0 (xmlChars), and internal/printer writes it through
// render.SafeWriter, so no line of it starts a CI workflow command when it
// goes to standard output.
func (p *junitPrinter) Print(w io.Writer, r *leaks.Report) error {
	t := newTracer(r.Index)
	t.paths = p.opts.Paths
	suite := JUnitSuite{Name: xmlChars("rescoord leaks: " + render.Escape(p.opts.Input)), Time: "0"}
	shown := min(len(r.Groups), maxJUnitGroups)
	r.CompleteGroups(r.Groups[:shown], groupRead) // the others are counted
	count := func(o junitOutcome) {
		switch o {
		case junitFail:
			suite.Failures++
		case junitSkip:
			suite.Skipped++
		}
	}
	for gi := range r.Groups[:shown] {
		count(outcomeOf(&r.Groups[gi]))
	}
	var summaries []*junitSummary
	index := map[[2]int]*junitSummary{}
	ruleNo := map[leaks.Rule]int{}
	for i, ri := range leaks.Rules() {
		ruleNo[ri.ID] = i
	}
	for gi := range r.Groups[shown:] {
		g := &r.Groups[shown+gi]
		o := outcomeOf(g)
		key := [2]int{ruleNo[g.Rule], int(o)}
		s := index[key]
		if s == nil {
			s = &junitSummary{rule: g.Rule, outcome: o, severity: g.Severity}
			index[key] = s
			summaries = append(summaries, s)
			count(o)
		}
		s.groups++
		s.findings += len(g.Findings)
		s.severity = max(s.severity, g.Severity)
		if len(s.signatures) < maxSummarySignatures {
			s.signatures = append(s.signatures, g.Signature+" "+t.subject(&g.Findings[0]))
		}
	}
	var quiet []JUnitCase // the rules that ran and found nothing
	for _, rule := range r.Rules {
		if r.RuleCounts[rule] == 0 {
			quiet = append(quiet, JUnitCase{Classname: string(rule), Name: "no findings", Time: "0"})
		}
	}
	suite.Tests = shown + len(summaries) + len(quiet)
	doc := JUnitSuites{Name: "rescoord leaks", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped}

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
		sc := c.safe()
		if err := enc.EncodeElement(&sc, xml.StartElement{Name: xml.Name{Local: "testcase"}}); err != nil {
			encErr.CompareAndSwap(nil, err)
		}
		return buf.Bytes()
	}
	err := writeBlocks(w, shown, junitBlockGroups, func(b []byte, from, to int) []byte {
		for gi := from; gi < to; gi++ {
			g := &r.Groups[gi]
			f := &g.Findings[0]
			name := g.Signature + " " + t.subject(f)
			if len(g.Findings) > 1 {
				name += " " + countLabel(len(g.Findings))
			}
			c := JUnitCase{Classname: string(g.Rule), Name: name, Time: "0"}
			if file, line, ok := t.locationWhere(f, nil); ok {
				c.File, c.Line = render.Escape(file), line
			}
			body := textOf(t, g)
			switch outcomeOf(g) {
			case junitFail:
				c.Failure = &JUnitFailure{Message: render.Escape(f.Message), Type: g.Severity.String(), Text: body}
			case junitSkip:
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
	for _, s := range summaries {
		c := JUnitCase{Classname: string(s.rule), Time: "0",
			Name: fmt.Sprintf("%d more %s of %s (%s)", s.groups, human.Plural(s.groups, "group", "groups"), s.rule, countLabel(s.findings))}
		var body strings.Builder
		fmt.Fprintf(&body, "%d %s of %s (%d %s, up to %s) past the first %d groups of the report are counted here, not listed; every group is in the full report: %s\n",
			s.groups, human.Plural(s.groups, "group", "groups"), s.rule, s.findings, human.Plural(s.findings, "finding", "findings"), s.severity, maxJUnitGroups, fullReport(p.opts))
		for _, sig := range s.signatures {
			body.WriteString("signature " + sig + "\n")
		}
		if s.groups > len(s.signatures) {
			fmt.Fprintf(&body, "… and %d more\n", s.groups-len(s.signatures))
		}
		switch s.outcome {
		case junitFail:
			c.Failure = &JUnitFailure{Message: fmt.Sprintf("%d more failing %s of %s", s.groups, human.Plural(s.groups, "group", "groups"), s.rule), Type: s.severity.String(), Text: body.String()}
		case junitSkip:
			c.Skipped = &JUnitSkipped{Message: fmt.Sprintf("%d more %s of %s reported by action report suppressions", s.groups, human.Plural(s.groups, "group", "groups"), s.rule)}
			c.SystemOut = &JUnitOutput{Text: body.String()}
		default:
			c.SystemOut = &JUnitOutput{Text: fmt.Sprintf("below --fail-on %s\n%s", r.FailOn, body.String())}
		}
		tail = appendCase(tail, &c)
	}
	for i := range quiet {
		tail = appendCase(tail, &quiet[i])
	}
	if err, _ := encErr.Load().(error); err != nil {
		return err
	}
	tail = append(tail, "\n  </testsuite>\n</testsuites>\n"...)
	_, err = w.Write(tail)
	return err
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
