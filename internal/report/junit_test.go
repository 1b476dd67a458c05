package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/pkg/leaks"
)

var junitXSD = filepath.Join(schemasDir, "jenkins-junit-10-extended.xsd")

// junitCounts is what junitparser reads back of a JUnit file.
type junitCounts struct {
	Tests, Failures, Skipped, Errors int
	Suites                           []struct {
		Tests, Failures, Skipped, Errors int
		Cases, CaseFailures, CaseSkipped int
		Names                            []string
		Files                            []string
	}
}

// junitParser reads a JUnit file with python3-junitparser, as CI plugins
// read it, and reports the counts of the document and what its cases are.
const junitParser = `
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
out = {"Tests": xml.tests, "Failures": xml.failures, "Skipped": xml.skipped, "Errors": xml.errors, "Suites": []}
for s in xml:
    cases = list(s)
    out["Suites"].append({
        "Tests": s.tests, "Failures": s.failures, "Skipped": s.skipped, "Errors": s.errors,
        "Cases": len(cases),
        "CaseFailures": sum(1 for c in cases if any(isinstance(r, Failure) for r in c.result)),
        "CaseSkipped": sum(1 for c in cases if any(isinstance(r, Skipped) for r in c.result)),
        "Names": [c.name for c in cases],
        "Files": [c._elem.get("file") or "" for c in cases],
    })
json.dump(out, sys.stdout)
`

// checkJUnit holds a JUnit document to XML 1.0 (xmllint), to the Jenkins
// XSD extended by skipped, file and line (xmllint --schema), and to what
// junitparser reads back: counts that agree with the cases.
func checkJUnit(t *testing.T, data []byte) *junitCounts {
	t.Helper()
	path := writeTemp(t, "report.xml", data)
	xmllint := consumer(t, "xmllint")
	if out, err := exec.Command(xmllint, "--noout", "--huge", "--schema", junitXSD, path).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, limitOutput(out))
	}
	py := python3With(t, "junitparser")
	out, err := exec.Command(py, "-c", junitParser, path).Output()
	if err != nil {
		t.Fatalf("junitparser: %v", err)
	}
	var c junitCounts
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Suites) != 1 {
		t.Fatalf("%d suites", len(c.Suites))
	}
	s := c.Suites[0]
	if s.Tests != s.Cases || s.Failures != s.CaseFailures || s.Skipped != s.CaseSkipped || s.Errors != 0 ||
		c.Tests != s.Tests || c.Failures != s.Failures || c.Skipped != s.Skipped {
		t.Errorf("counts disagree with the cases: %+v", c)
	}
	return &c
}

func limitOutput(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "…"...)
	}
	return b
}

// The extended XSD is the Jenkins one with three optional attributes
// added, nothing else.
func TestJUnit_ExtendedXSDAddsOnlyThreeAttributes(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(schemasDir, "jenkins-junit-10.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := os.ReadFile(junitXSD)
	if err != nil {
		t.Fatal(err)
	}
	var kept, added []string
	for line := range strings.Lines(string(ext)) {
		if strings.Contains(line, "<!-- rescoord: added") {
			added = append(added, strings.TrimSpace(line[:strings.Index(line, "<!--")]))
			continue
		}
		kept = append(kept, line)
	}
	if strings.Join(kept, "") != string(orig) {
		t.Error("the extended XSD changes more than the lines marked as added")
	}
	want := []string{`<xs:attribute name="file" type="xs:string"/>`, `<xs:attribute name="line" type="xs:nonNegativeInteger"/>`, `<xs:attribute name="skipped" type="xs:string" />`}
	if strings.Join(added, "\n") != strings.Join(want, "\n") {
		t.Errorf("added: %q", added)
	}
}

func TestJUnit_ConsumersReadTheDemo(t *testing.T) {
	r := demoReport(t)
	c := checkJUnit(t, printReport(t, "junit", Options{Input: demoSnapshot}, r))
	s := c.Suites[0]
	if s.Failures != 6 || s.Cases != 13 || s.Skipped != 0 { // a case per finding group, and one per rule that found nothing
		t.Errorf("%+v", s)
	}
	if s.Files[0] != "media_analysis_controller.py" {
		t.Errorf("first case's file %q", s.Files[0])
	}

	// With action report suppressions: skipped cases, counted on
	// <testsuites> too.
	r = reportedFiles(t)
	c = checkJUnit(t, printReport(t, "junit", Options{Input: demoSnapshot}, r))
	if c.Skipped == 0 || c.Skipped != c.Suites[0].CaseSkipped {
		t.Errorf("skipped %d on <testsuites>, %d cases skipped", c.Skipped, c.Suites[0].CaseSkipped)
	}
}

// Names holding what XML 1.0 cannot (controls, U+FFFE, bytes that are
// not UTF-8) or what breaks it when not escaped (]]>, quotes, <, &) give a
// well-formed, valid document that says them visibly.
func TestJUnit_HostileNames(t *testing.T) {
	r := hostileReport(t)
	out := printReport(t, "junit", Options{Input: "snap\x01\uFFFE\xff.json"}, r)
	if !utf8.Valid(out) {
		t.Error("not UTF-8")
	}
	c := checkJUnit(t, out)
	s := c.Suites[0]
	if s.Cases != len(r.Groups)+quietRules(r) || s.Failures != len(r.Groups) {
		t.Errorf("%d cases, %d failures for %d groups", s.Cases, s.Failures, len(r.Groups))
	}
	names := strings.Join(s.Names, "\n")
	for _, want := range []string{`ctl\x01bell\x07`, `esc\x1b[31mred`, `nonchar\uFFFE\uFFFFend`, `bad\xffutf8\xc3`, `cdata]]>end`, `quote"apos'amp&lt`} {
		if !strings.Contains(names, want) {
			t.Errorf("no case name shows %q:\n%s", want, names)
		}
	}
	// Below --fail-on, the traces go to system-out: as safe.
	r.FailOn = leaks.SeverityCritical
	for i := range r.Groups {
		r.Groups[i].Fails = false
	}
	c = checkJUnit(t, printReport(t, "junit", Options{}, r))
	if c.Suites[0].Failures != 0 {
		t.Errorf("%d failures", c.Suites[0].Failures)
	}

	// And encoding/xml reads it back too.
	var doc JUnitSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Error(err)
	}
	if !bytes.Contains(out, []byte(`name="rescoord leaks: snap\x01\uFFFE\xff.json"`)) {
		t.Errorf("suite name:\n%s", out[:300])
	}
}

func TestXMLChars(t *testing.T) {
	tabletest.Func(t, "xmlChars", xmlChars, map[string]string{
		"plain é ✓ 𝄞":      "plain é ✓ 𝄞",
		"tab\tnl\ncr\r":    "tab\tnl\ncr\r",
		"\x00\x01\x1b\x1f": `\x00\x01\x1b\x1f`,
		"\uFFFE\uFFFF":     `\uFFFE\uFFFF`,
		"\xff\xed\xa0\x80": `\xff\xed\xa0\x80`, // \xed\xa0\x80 is a lone surrogate, U+D800
		"\uFFFD":           "\uFFFD",
	})
}

// A report of more groups than maxJUnitGroups lists the first ones and
// counts the others in one case per rule and outcome.
func TestJUnit_SummarisesPastTheCap(t *testing.T) {
	r := manyLeaks(t, 1025) // docs/leaks.md: the first 1000 groups
	c := checkJUnit(t, printReport(t, "junit", Options{FullReport: "leaks.json"}, r))
	s := c.Suites[0]
	quiet := quietRules(r)
	if s.Cases != 1001+quiet || s.Failures != 1001 {
		t.Fatalf("%d cases, %d failing; want %d and %d", s.Cases, s.Failures, 1001+quiet, 1001)
	}
	if got := s.Names[1000]; got != "25 more groups of orphaned-resource (×25)" {
		t.Errorf("summary case %q", got)
	}
	out := string(printReport(t, "junit", Options{FullReport: "leaks.json"}, r))
	if !strings.Contains(out, "every group is in the full report: leaks.json") || !strings.Contains(out, "… and 5 more") {
		t.Error("the summary case does not say where the others are")
	}
}

func TestJUnit_ConsumersReadALargeSnapshot(t *testing.T) {
	r := largeReport(t)
	out := printReport(t, "junit", Options{Input: "large.json", FullReport: "leaks.json"}, r)
	c := checkJUnit(t, out)
	s := c.Suites[0]
	if s.Cases > maxJUnitGroups+3*len(leaks.Rules()) {
		t.Errorf("%d cases", s.Cases)
	}
	if len(out) > 8<<20 {
		t.Errorf("%d bytes", len(out))
	}
	t.Logf("%d groups: %d cases (%d failing, %d skipped), %d bytes", len(r.Groups), s.Cases, s.Failures, s.Skipped, len(out))
}

// quietRules counts the rules that ran and found nothing: each is a
// passing case.
func quietRules(r *leaks.Report) int {
	n := 0
	for _, rule := range r.Rules {
		if r.RuleCounts[rule] == 0 {
			n++
		}
	}
	return n
}
