package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

var sarifSchemaOnce = sync.OnceValues(func() (*jsonschema.Schema, error) {
	path, err := filepath.Abs(filepath.Join(schemasDir, "sarif-schema-2.1.0.json"))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	return c.Compile(path)
})

// sarifLog is what the tests read of a SARIF log.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Version         string `json:"version"`
				SemanticVersion string `json:"semanticVersion"`
				Rules           []struct {
					ID         string `json:"id"`
					Name       string `json:"name"`
					HelpURI    string `json:"helpUri"`
					Properties struct {
						Tags             []string `json:"tags"`
						SecuritySeverity string   `json:"security-severity"`
						ProblemSeverity  string   `json:"problem.severity"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			OccurrenceCount     int               `json:"occurrenceCount"`
			Suppressions        *[]any            `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

// docAnchors are the anchors of docs/leaks.md's headings, as GitHub makes
// them: lower case, punctuation but - and _ dropped, spaces as -.
func docAnchors(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile(leaksDoc)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for line := range strings.Lines(string(doc)) {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

var numericVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// checkSARIF holds a SARIF log to the OASIS schema and to what GitHub code
// scanning documents it accepts ("SARIF support for code scanning"), and
// returns it parsed.
func checkSARIF(t *testing.T, data []byte) *sarifLog {
	t.Helper()
	return checkSARIFLimits(t, data, true)
}

// checkSARIFLimits is checkSARIF, validating against the schema only when
// schema is set: validating 25,000 results takes seconds under -race.
func checkSARIFLimits(t *testing.T, data []byte, schema bool) *sarifLog {
	t.Helper()
	if schema {
		sch, err := sarifSchemaOnce()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Fatalf("the SARIF log does not validate against the SARIF 2.1.0 schema: %v", err)
		}
	}
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatal(err)
	}
	if n := len(log.Runs); n < 1 || n > MaxSARIFRuns {
		t.Fatalf("%d runs, want 1 to %d", n, MaxSARIFRuns)
	}
	anchors := docAnchors(t)
	for _, run := range log.Runs {
		d := run.Tool.Driver
		if !numericVersion.MatchString(d.Version) || d.SemanticVersion == "" {
			t.Errorf("driver version %q, semanticVersion %q: want MAJOR.MINOR.PATCH and a semantic version", d.Version, d.SemanticVersion)
		}
		if len(d.Rules) > MaxSARIFRules {
			t.Errorf("%d rules, over %d", len(d.Rules), MaxSARIFRules)
		}
		seenLevels := map[string]bool{}
		for _, rule := range d.Rules {
			if rule.Name == "" || rule.Name == rule.ID || !regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`).MatchString(rule.Name) {
				t.Errorf("rule %s: name %q, want PascalCase and unlike the id", rule.ID, rule.Name)
			}
			base, anchor, _ := strings.Cut(rule.HelpURI, "#")
			if base != docsURI || !anchors[anchor] {
				t.Errorf("rule %s: helpUri %q is no heading of docs/leaks.md", rule.ID, rule.HelpURI)
			}
			if len(rule.Properties.Tags) > MaxSARIFTagsPerRule {
				t.Errorf("rule %s: %d tags", rule.ID, len(rule.Properties.Tags))
			}
			switch rule.Properties.ProblemSeverity {
			case "error", "warning", "recommendation":
			default:
				t.Errorf("rule %s: problem.severity %q", rule.ID, rule.Properties.ProblemSeverity)
			}
			if rule.Properties.SecuritySeverity == "" {
				t.Errorf("rule %s: no security-severity", rule.ID)
			}
			seenLevels[rule.Properties.SecuritySeverity] = true
		}
		// critical, error, warning and info are told apart.
		for _, want := range []string{"9.0", "7.0", "4.0", "1.0"} {
			if !seenLevels[want] {
				t.Errorf("no rule has security-severity %s", want)
			}
		}
		if n := len(run.Results); n > MaxSARIFResults {
			t.Errorf("%d results in a run, over %d", n, MaxSARIFResults)
		}
		hashes := map[string]bool{}
		suppressed := 0
		for i, res := range run.Results {
			if res.RuleIndex < 0 || res.RuleIndex >= len(d.Rules) || d.Rules[res.RuleIndex].ID != res.RuleID {
				t.Fatalf("result %d: ruleIndex %d does not name rule %s", i, res.RuleIndex, res.RuleID)
			}
			if n := len(res.Locations); n < 1 || n > MaxSARIFLocationsPerResult {
				t.Fatalf("result %d: %d locations, want 1 to %d", i, n, MaxSARIFLocationsPerResult)
			}
			for _, l := range res.Locations {
				pl := l.PhysicalLocation
				if pl == nil {
					t.Fatalf("result %d has a location with no physicalLocation", i)
				}
				uri := pl.ArtifactLocation.URI
				if uri == "" || uri == "stdin" || uri == "-" || strings.Contains(uri, ":") || strings.HasPrefix(uri, "/") || strings.Contains(uri, "..") || pl.Region.StartLine < 1 {
					t.Fatalf("result %d: location %q line %d, want a relative path in the repository and a line", i, uri, pl.Region.StartLine)
				}
			}
			if n := utf8.RuneCountInString(res.Message.Text); n == 0 || n > MaxSARIFMessage {
				t.Errorf("result %d: message of %d characters", i, n)
			}
			h := res.PartialFingerprints["primaryLocationLineHash"]
			if h == "" || hashes[h] {
				t.Fatalf("result %d: primaryLocationLineHash %q missing or shared", i, h)
			}
			hashes[h] = true
			if res.RuleID != truncatedRule && res.PartialFingerprints[leaks.SignatureScheme] == "" {
				t.Errorf("result %d: no %s fingerprint", i, leaks.SignatureScheme)
			}
			if res.OccurrenceCount < 1 {
				t.Errorf("result %d: occurrenceCount %d", i, res.OccurrenceCount)
			}
			if res.Suppressions != nil {
				suppressed++
			}
		}
		if suppressed != 0 && suppressed != len(run.Results) {
			t.Errorf("%d of %d results have suppressions: SARIF wants all or none", suppressed, len(run.Results))
		}
	}
	return &log
}

func TestSARIF_ConsumersAcceptTheDemo(t *testing.T) {
	r := demoReport(t)
	log := checkSARIF(t, printReport(t, "sarif", Options{Input: demoSnapshot, Artifact: "testdata/snapshots/media-app.json", Version: "v1.2.3 go1.26.8"}, r))
	res := log.Runs[0].Results
	if len(res) != len(r.Groups) {
		t.Errorf("%d results for %d groups", len(res), len(r.Groups))
	}
	if d := log.Runs[0].Tool.Driver; d.Version != "1.2.3" || d.SemanticVersion != "1.2.3" {
		t.Errorf("version %q %q, want 1.2.3", d.Version, d.SemanticVersion)
	}
	for i, g := range r.Groups {
		if res[i].RuleID != string(g.Rule) || res[i].OccurrenceCount != len(g.Findings) || res[i].PartialFingerprints[leaks.SignatureScheme] != g.Signature {
			t.Errorf("result %d is not group %d (%s ×%d %s)", i, i, g.Rule, len(g.Findings), g.Signature)
		}
	}
	// Stable across runs: the same snapshot gives the same fingerprints.
	again := checkSARIF(t, printReport(t, "sarif", Options{Input: demoSnapshot, Version: "v1.2.3"}, demoReport(t)))
	for i := range res {
		if res[i].PartialFingerprints["primaryLocationLineHash"] != again.Runs[0].Results[i].PartialFingerprints["primaryLocationLineHash"] {
			t.Errorf("result %d: fingerprint changed between two runs", i)
		}
	}
}

// With a suppression of action report, every result has a suppressions
// array: the suppressed ones say why, the others are empty.
func TestSARIF_SuppressionsAllOrNone(t *testing.T) {
	r := reportedFiles(t)
	log := checkSARIF(t, printReport(t, "sarif", Options{Input: "-"}, r))
	with, empty := 0, 0
	for _, res := range log.Runs[0].Results {
		switch {
		case res.Suppressions == nil:
			t.Fatalf("result %s has no suppressions array", res.RuleID)
		case len(*res.Suppressions) == 0:
			empty++
		default:
			with++
		}
	}
	if with == 0 || empty == 0 {
		t.Errorf("%d suppressed and %d unsuppressed results: the suppression should match some results only", with, empty)
	}
	// Without any suppressed result, no result has the array.
	if out := printReport(t, "sarif", Options{Input: "-"}, demoReport(t)); bytes.Contains(out, []byte(`"suppressions"`)) {
		t.Error("a log with no suppressed result has suppressions arrays")
	}
}

// Results are located at the innermost frame in the repository: absolute
// paths, URLs, pseudo-files and paths out of it are passed over, and a
// finding with none of its own is located at the snapshot, never at
// "stdin".
func TestSARIF_LocationsInTheRepository(t *testing.T) {
	r := hostileReport(t)
	for _, artifact := range []string{"", "snaps/run 1.json"} {
		log := checkSARIF(t, printReport(t, "sarif", Options{Input: "-", Artifact: artifact}, r))
		atSnapshot := 0
		want := SnapshotArtifact
		if artifact != "" {
			want = "snaps/run%201.json"
		}
		for _, res := range log.Runs[0].Results {
			uri := res.Locations[0].PhysicalLocation.ArtifactLocation.URI
			switch {
			case uri == want:
				atSnapshot++
			case strings.HasPrefix(uri, "/abs"):
				t.Errorf("located at an absolute frame: %q", uri)
			case !strings.HasSuffix(uri, "/mod.py"):
				t.Errorf("located at %q", uri)
			}
		}
		// The memory resources' only frame is no file:line.
		if atSnapshot < len(hostileNames) {
			t.Errorf("artifact %q: %d results at the snapshot, want at least %d", artifact, atSnapshot, len(hostileNames))
		}
	}
	for file, ok := range map[string]bool{
		"a/b.py": true, "./a.py": true, "pkg:odd/name.py": true,
		"/abs/a.py": false, `C:\a.py`: false, "https://x/a.py": false, "../a.py": false, "a/../../b.py": false, "<string>": false, "": false,
	} {
		if repoRelative(file) != ok {
			t.Errorf("repoRelative(%q) = %v", file, !ok)
		}
	}
}

// A report of more groups than code scanning takes keeps the most severe
// ones and says, in a last note, how many it left out and where they are.
func TestSARIF_CapsResults(t *testing.T) {
	r := manyLeaks(t, MaxSARIFResults+10)
	for i, tc := range []struct{ full, where string }{
		{"", "run `rescoord leaks -o json`"},
		{"out/leaks.json", "the full report is out/leaks.json"},
	} {
		out := printReport(t, "sarif", Options{Input: "big.json", Artifact: "big.json", FullReport: tc.full}, r)
		// The schema once, and only with -short: otherwise
		// TestSARIF_ConsumersAcceptALargeSnapshot validates a log cut to
		// 25,000 results too.
		log := checkSARIFLimits(t, out, i == 0 && testing.Short())
		res := log.Runs[0].Results
		if len(res) != MaxSARIFResults {
			t.Fatalf("%d results, want %d", len(res), MaxSARIFResults)
		}
		last := res[len(res)-1]
		if last.RuleID != truncatedRule || last.Level != "note" || last.OccurrenceCount != 11 ||
			!strings.HasPrefix(last.Message.Text, "11 more groups of findings (11 findings)") || !strings.Contains(last.Message.Text, tc.where) {
			t.Errorf("last result: %+v", last)
		}
		if res[len(res)-2].PartialFingerprints[leaks.SignatureScheme] != r.Groups[MaxSARIFResults-2].Signature {
			t.Error("the results are not the first groups, in report order")
		}
	}
	// Up to the cap, no note.
	res := checkSARIF(t, printReport(t, "sarif", Options{}, manyLeaks(t, 100))).Runs[0].Results
	if len(res) != 100 || res[99].RuleID == truncatedRule {
		t.Errorf("%d results for 100 groups", len(res))
	}
}

func TestSARIF_LongMessagesAreCut(t *testing.T) {
	long := strings.Repeat("é", MaxSARIFMessage*2)
	if got := cutMessage(long); utf8.RuneCountInString(got) > MaxSARIFMessage || !strings.HasSuffix(got, "more characters: see the full report") || !utf8.ValidString(got) {
		t.Errorf("cut to %d characters: …%q", utf8.RuneCountInString(got), got[len(got)-60:])
	}
	if got := cutMessage("short"); got != "short" {
		t.Errorf("%q", got)
	}
}

func TestDriverVersions(t *testing.T) {
	for in, want := range map[string][2]string{
		"v1.4.2 go1.26.8":              {"1.4.2", "1.4.2"},
		"v0.3.0-rc.1 go1.26.8":         {"0.3.0", "0.3.0-rc.1"},
		"v0.0.0-20261201-abcdef012345": {"0.0.0", "0.0.0-20261201-abcdef012345"},
		"(devel) 0123456789ab go1.26":  {"0.0.0", "0.0.0"},
		"unknown":                      {"0.0.0", "0.0.0"},
		"":                             {"0.0.0", "0.0.0"},
	} {
		if v, s := driverVersions(in); v != want[0] || s != want[1] {
			t.Errorf("%q: %q %q, want %q %q", in, v, s, want[0], want[1])
		}
	}
}

// The generated snapshot of largeResources resources has more groups than
// code scanning takes: the log stays within every documented limit.
func TestSARIF_ConsumersAcceptALargeSnapshot(t *testing.T) {
	r := largeReport(t)
	out := printReport(t, "sarif", Options{Input: "large.json", Artifact: "large.json", FullReport: "leaks.json"}, r)
	log := checkSARIF(t, out)
	res := log.Runs[0].Results
	want := min(len(r.Groups), MaxSARIFResults)
	if len(res) != want {
		t.Errorf("%d results for %d groups, want %d", len(res), len(r.Groups), want)
	}
	t.Logf("%d resources: %d groups, %d results, %d bytes of SARIF", largeResources, len(r.Groups), len(res), len(out))
}

// Two groups can have one signature — here one is reported by an action
// report entry that matches a deeper frame of one resource only — and
// still get distinct primaryLocationLineHash values.
func TestSARIF_OneSignatureTwoGroups(t *testing.T) {
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)}
	for i, second := range []string{"vendor/a.py:1 f", "app/b.py:2 g"} {
		s.Resources = append(s.Resources, snapshot.Resource{ID: fmt.Sprintf("r-%d", i), Type: "memory", Owner: "gone", Name: "buf",
			State: snapshot.StateActive, CreatedBy: snapshot.NewStack("alloc.py:7 alloc", second)})
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	sup, err := leaks.ParseSuppressions([]byte("suppressions:\n  - frame: \"vendor/**\"\n    action: report\n    reason: vendored\n"), "ignore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := leaks.Analyze(ix, leaks.ReportOptions{FailOn: leaks.SeverityError, Suppressions: sup})
	if len(r.Groups) != 2 || r.Groups[0].Signature != r.Groups[1].Signature {
		t.Fatalf("want two groups of one signature: %+v", r.Groups)
	}
	res := checkSARIF(t, printReport(t, "sarif", Options{}, r)).Runs[0].Results
	if len(res) != 2 || res[0].PartialFingerprints["primaryLocationLineHash"] == res[1].PartialFingerprints["primaryLocationLineHash"] {
		t.Errorf("results: %+v", res)
	}
}

// appendSARIFString escapes the C1 controls and the bidirectional marks,
// overrides and isolates, and those only: the runes at and around the
// edges of each range, alone and amid other text, against a rune-by-rune
// reading of encoding/json's output.
func TestAppendSARIFString_EscapesWhatTerminalsActOn(t *testing.T) {
	escaped := func(r rune) bool {
		return r >= 0x80 && r <= 0x9f || r == 0x061c || r == 0x200e || r == 0x200f ||
			r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
	}
	want := func(s string) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		var out strings.Builder
		for _, r := range strings.TrimSuffix(buf.String(), "\n") {
			if escaped(r) {
				fmt.Fprintf(&out, `\u%04x`, r)
			} else {
				out.WriteRune(r)
			}
		}
		return out.String()
	}
	var runes []rune
	for _, edge := range []rune{0x80, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069} {
		runes = append(runes, edge-1, edge, edge+1)
	}
	runes = append(runes, '└', '─', 0xc0, 0x7f, 0x2028, 0xfeff, 0x1f600)
	seen := 0
	for _, r := range runes {
		if escaped(r) {
			seen++
		}
		for _, s := range []string{string(r), "a" + string(r) + "b", "└─ " + string(r) + " ─┘", string(r) + "\xff" + string(r)} {
			if got := string(appendSARIFString([]byte("x"), s)); got != "x"+want(s) {
				t.Errorf("appendSARIFString(%q) = %s, want %s", s, got[1:], want(s))
			}
		}
	}
	if seen < 15 {
		t.Fatalf("only %d runes to escape: the test proves little", seen)
	}
}
