package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		frame string
		file  string
		line  int
		ok    bool
	}{
		{"media_analysis_controller.py:88 start_analysis_workflow", "media_analysis_controller.py", 88, true},
		{"pkg/worker/pool.go:12:5 (*Pool).Start", "pkg/worker/pool.go", 12, true},
		{`C:\app\main.py:7 main`, `C:\app\main.py`, 7, true},
		{"main.py:7", "main.py", 7, true},
		{"start_analysis_workflow", "", 0, false},
		{"main.py:x f", "", 0, false},
		{":12 f", "", 0, false},
		{"", "", 0, false},
	} {
		file, line, ok := parseFrame(tc.frame)
		if file != tc.file || line != tc.line || ok != tc.ok {
			t.Errorf("%q: %q %d %v, want %q %d %v", tc.frame, file, line, ok, tc.file, tc.line, tc.ok)
		}
	}
}

func TestGitHubEscaping(t *testing.T) {
	if got := string(appendEscapedData(nil, []byte("50% done\r\nnext"))); got != "50%25 done%0D%0Anext" {
		t.Errorf("data: %q", got)
	}
	if got := escapeProperty("a: b, c%\n"); got != "a%3A b%2C c%25%0A" {
		t.Errorf("property: %q", got)
	}
}

func TestFileURI(t *testing.T) {
	tabletest.Func(t, "fileURI", fileURI, map[string]string{
		"media_app.py":     "media_app.py",
		"src/my file.py":   "src/my%20file.py",
		"/home/ana/app.py": "file:///home/ana/app.py",
		`C:\work\app.py`:   "file:///C:/work/app.py",
		"pkg:odd/name.py":  "./pkg:odd/name.py",
	})
}

func TestNew_UnknownFormat(t *testing.T) {
	if _, err := New("yaml", Options{}); err == nil || !strings.Contains(err.Error(), "text, json, sarif, junit, github, markdown") {
		t.Errorf("error should name the formats: %v", err)
	}
}

// manyLeaks is a snapshot with n distinct leak groups.
func manyLeaks(t *testing.T, n int) *leaks.Report { return manyLeaksWith(t, n, false) }

// manyLeaksWith is manyLeaks, the findings' text left for later with
// deferText (leaks.ReportOptions.DeferText).
func manyLeaksWith(t *testing.T, n int, deferText bool) *leaks.Report {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)}
	for i := range n {
		s.Resources = append(s.Resources, snapshot.Resource{ID: fmt.Sprintf("r-%d", i), Type: "memory", Owner: "gone", Name: fmt.Sprintf("buffer-%d", i),
			State: snapshot.StateActive, CreatedBy: snapshot.NewStack(fmt.Sprintf("module_%d.py:%d alloc", i, i+1), strings.Repeat("deep_frame.py:1 f ", 10))})
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return leaks.Analyze(ix, leaks.ReportOptions{FailOn: leaks.SeverityError, DeferText: deferText})
}

// Every format prints an empty report without failing, and JSON lists are [] not null.
func TestFormats_EmptyReport(t *testing.T) {
	r := manyLeaks(t, 0)
	for _, f := range Formats {
		b := bytes.NewBuffer(printReport(t, f, Options{Input: "empty.json", Version: "test"}, r))
		if f == "json" && b.String() != "{\n  \"findings\": [],\n  \"summary\": {\n    \"critical\": 0,\n    \"error\": 0,\n    \"warning\": 0,\n    \"info\": 0,\n    \"suppressed\": 0\n  }\n}\n" {
			t.Errorf("empty json:\n%s", b.String())
		}
		if f == "sarif" && (!strings.Contains(b.String(), `"results": []`) || strings.Contains(b.String(), "null")) {
			t.Errorf("empty sarif:\n%s", b.String())
		}
	}
}

// The text report shows the first maxTextGroups groups, each with its
// trace, and counts the others in one line; the summary counts them all.
func TestText_CapsGroupsShownInFull(t *testing.T) {
	r := manyLeaks(t, maxTextGroups+3)
	var b bytes.Buffer
	p, _ := New("text", Options{Input: "big.json"})
	if err := p.Print(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\n  signature "); n != maxTextGroups {
		t.Errorf("%d groups shown in full, want %d", n, maxTextGroups)
	}
	if !strings.Contains(out, "\n… 3 more groups (use -o json for all)\n\n") {
		t.Errorf("the groups left out are not announced:\n%s", out[len(out)-400:])
	}
	if !strings.HasSuffix(out, "0 critical, 1003 errors, 0 warnings, 0 info · 0 suppressed · fails on error: FAIL (1003 findings)\n") {
		t.Errorf("the summary should count every finding:\n%s", out[len(out)-200:])
	}

	// Up to the cap, no such line.
	b.Reset()
	if err := p.Print(&b, manyLeaks(t, maxTextGroups)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "more group") {
		t.Errorf("a report of %d groups is shown whole", maxTextGroups)
	}
}

// writeBlocks writes the blocks in order, on one goroutine or several,
// and stops at the first write error.
func TestWriteBlocks_InOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	appendBlock := func(b []byte, from, to int) []byte {
		for i := from; i < to; i++ {
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, '\n')
		}
		return b
	}
	var want strings.Builder
	for i := range 10_000 {
		fmt.Fprintln(&want, i)
	}
	for _, per := range []int{1, 7, 3000, 20_000} {
		var got bytes.Buffer
		if err := writeBlocks(&got, 10_000, per, appendBlock); err != nil || got.String() != want.String() {
			t.Errorf("blocks of %d: %v, or not in order", per, err)
		}
		if err := writeBlocks(failingWriter{}, 10_000, per, appendBlock); err != errWrite {
			t.Errorf("blocks of %d: error %v, want %v", per, err, errWrite)
		}
	}
}

var errWrite = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

// TestSARIFResult_MatchesEncodingJSON holds the hand-written encoder of a
// SARIF result to what encoding/json writes, indented, without HTML
// escaping.
func TestSARIFResult_MatchesEncodingJSON(t *testing.T) {
	odd := "a <b> & \"c\" \\ \u2028 \x01 é \xff"
	for name, r := range map[string]sarifResult{
		"plain": {
			RuleID: "running-orphan", RuleIndex: 0, Level: "error",
			Message:             sarifText{Text: "line one\nline two"},
			Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: "a/b.py"}, Region: sarifRegion{StartLine: 12}}}},
			PartialFingerprints: map[string]string{"rescoordSignature/v1": "0123456789abcdef"},
			OccurrenceCount:     3,
			Properties:          sarifResultProps{Severity: "critical", Resources: []string{"r-1", "r-2"}, Path: []string{"w", "t"}},
		},
		"empty lists, suppressed, markdown, odd strings": {
			RuleID: odd, RuleIndex: 7, Level: "note",
			Message:             sarifText{Text: odd, Markdown: odd},
			Locations:           []sarifLocation{{}, {PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: odd}}}},
			PartialFingerprints: map[string]string{"b": odd, "a": "1"},
			Suppressions:        []sarifSuppression{{Kind: "external", Status: "accepted", Justification: odd}, {}},
			Properties:          sarifResultProps{Severity: "info", Resources: []string{}, Path: []string{}},
		},
		"zero": {},
	} {
		want, err := appendIndented(nil, &r, "      ")
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil, "      "); string(got) != string(want) {
			t.Errorf("%s:\n--- appendJSON ---\n%s\n--- encoding/json ---\n%s", name, got, want)
		}
	}
}

// TestFormats_SameOnEveryCore prints a report of many groups, which the
// sarif, junit, github and json printers format in blocks on every core,
// with one core and with several, and wants the same bytes — and a SARIF
// log and a JUnit document that parse, with a result or test case per
// group.
func TestFormats_SameOnEveryCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := manyLeaks(t, 3000)
	for _, format := range []string{"sarif", "junit", "github", "json"} {
		p, err := New(format, Options{Input: "snap.json", Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		var want string
		for _, procs := range []int{1, 3} {
			runtime.GOMAXPROCS(procs)
			var b bytes.Buffer
			if err := p.Print(&b, r); err != nil {
				t.Fatal(err)
			}
			if procs == 1 {
				want = b.String()
				continue
			}
			if b.String() != want {
				t.Fatalf("%s: %d cores print %d bytes unlike one core's %d", format, procs, b.Len(), len(want))
			}
		}
		switch format {
		case "sarif":
			var log struct {
				Runs []struct {
					Results []json.RawMessage `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(want), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) != len(r.Groups) {
				t.Errorf("sarif: %v, want one run of %d results", err, len(r.Groups))
			}
		case "junit":
			var doc JUnitSuites
			if err := xml.Unmarshal([]byte(want), &doc); err != nil || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) < maxJUnitGroups || doc.Tests != len(doc.Suites[0].Cases) {
				t.Errorf("junit: %v, want a suite of at least %d cases, counted", err, maxJUnitGroups)
			}
		}
	}
}

// A report that shows some of the groups makes, when the findings' text
// was left for later, the text of those only, and prints what it prints
// with the text made first: a SARIF log shows 25,000 groups, JUnit 1,000,
// GitHub 10 errors and 10 warnings, Markdown 50.
func TestFormats_MakeOnlyTheTextTheyShow(t *testing.T) {
	for _, c := range []struct {
		format   string
		shown, n int
	}{
		{"sarif", MaxSARIFResults - 1, MaxSARIFResults + 10},
		{"junit", maxJUnitGroups, maxJUnitGroups + 10},
		{"github", MaxGitHubErrors, 40}, // orphaned resources: errors
		{"markdown", maxMarkdownRows, maxMarkdownRows + 10},
	} {
		opts := Options{Input: "snap.json", Version: "test"}
		want := printReport(t, c.format, opts, manyLeaks(t, c.n))
		r := manyLeaksWith(t, c.n, true)
		if got := printReport(t, c.format, opts, r); !bytes.Equal(got, want) {
			t.Errorf("%s: the deferred report prints differently", c.format)
		}
		if len(r.Groups) != c.n {
			t.Fatalf("%s: %d groups, want %d", c.format, len(r.Groups), c.n)
		}
		for gi, g := range r.Groups {
			if made := g.Findings[0].Message != ""; made != (gi < c.shown) {
				t.Fatalf("%s: group %d of %d, %d shown: text made %v", c.format, gi, c.n, c.shown, made)
			}
		}
	}
}

// A report whose findings' text was left for later
// (leaks.ReportOptions.DeferText, as `rescoord leaks` makes it) prints
// the same in every format; the text report makes the text of the groups
// it shows only.
func TestFormats_DeferredTextPrintsTheSame(t *testing.T) {
	ix := testsnap.Generated(t, gensnap.Tiny)
	opts := leaks.ReportOptions{FailOn: leaks.SeverityError, Now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	deferred := opts
	deferred.DeferText = true
	popts := Options{Input: "tiny.json", Version: "test"}
	for _, f := range Formats {
		want := printReport(t, f, popts, leaks.Analyze(ix, opts))
		if got := printReport(t, f, popts, leaks.Analyze(ix, deferred)); !bytes.Equal(want, got) {
			t.Errorf("%s: the deferred report prints differently\nwant %.600s\ngot  %.600s", f, want, got)
		}
	}
	r := leaks.Analyze(ix, deferred)
	if len(r.Groups) < 10 {
		t.Fatalf("%d groups: the test proves little", len(r.Groups))
	}
	var b bytes.Buffer
	p := &textPrinter{opts: Options{Styles: render.NewStyles(io.Discard, false)}, maxGroups: 5}
	if err := p.Print(&b, r); err != nil {
		t.Fatal(err)
	}
	left := 0
	for gi, g := range r.Groups {
		for _, f := range g.Findings {
			switch {
			case gi < p.maxGroups && f.Message == "":
				t.Fatalf("group %d is shown without its text", gi)
			case gi >= p.maxGroups && f.Message == "":
				left++
			}
		}
	}
	if left == 0 {
		t.Error("the text report made the text of groups it does not show")
	}
}
