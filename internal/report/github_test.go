package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/pkg/leaks"
)

// githubCommand is one workflow command line: ::NAME PROPS::DATA.
type githubCommand struct {
	name  string
	props map[string]string // unescaped
	data  string            // unescaped
}

// unescapeCommand undoes @actions/core's escaping (%25 last, as its
// parser does).
var unescapeCommand = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")

// parseGitHub reads the github format's output as the runner does: one
// command a line, properties split at commas and "=", the data after the
// second "::". Every line must be a command.
func parseGitHub(t *testing.T, out string) []githubCommand {
	t.Helper()
	var cmds []githubCommand
	for line := range strings.Lines(out) {
		line, ok := strings.CutSuffix(line, "\n")
		if !ok || strings.Contains(line, "\r") {
			t.Fatalf("a line with a raw line break: %q", line)
		}
		rest, ok := strings.CutPrefix(line, "::")
		if !ok {
			t.Fatalf("not a workflow command: %q", line)
		}
		head, data, ok := strings.Cut(rest, "::")
		if !ok {
			t.Fatalf("no data separator: %q", line)
		}
		name, props, _ := strings.Cut(head, " ")
		c := githubCommand{name: name, props: map[string]string{}, data: unescapeCommand.Replace(data)}
		if props != "" {
			for _, kv := range strings.Split(props, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || strings.ContainsAny(v, ":,\n\r") {
					t.Fatalf("property %q badly escaped in %q", kv, line)
				}
				c.props[k] = unescapeCommand.Replace(v)
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// count counts commands by name.
func count(cmds []githubCommand) map[string]int {
	n := map[string]int{}
	for _, c := range cmds {
		n[c.name]++
	}
	return n
}

// The escaping is @actions/core's (command.ts escapeData, escapeProperty):
// % first, then CR and LF, and in properties also : and ,.
func TestGitHub_EscapingMatchesActionsCore(t *testing.T) {
	tabletest.Func(t, "escapeData", func(in string) string { return string(appendEscapedData(nil, []byte(in))) }, map[string]string{
		"50% done\r\nnext":  "50%25 done%0D%0Anext",
		"literal %0A stays": "literal %250A stays",
		"a: b, c":           "a: b, c",
	})
	tabletest.Func(t, "escapeProperty", escapeProperty, map[string]string{
		"a: b, c%\n":     "a%3A b%2C c%25%0A",
		"x.py::error%0D": "x.py%3A%3Aerror%250D",
		"\r":             "%0D",
	})
}

// At most 10 errors and 10 warnings, the most severe first, then one
// notice with the totals and where the full report is.
func TestGitHub_AnnotationLimits(t *testing.T) {
	r := manyLeaks(t, 50)
	for _, tc := range []struct{ full, where string }{
		{"", "Full report: rescoord leaks -o json."},
		{"ci/leaks.json", "Full report: ci/leaks.json."},
	} {
		cmds := parseGitHub(t, string(printReport(t, "github", Options{FullReport: tc.full}, r)))
		if n := count(cmds); n["error"] != MaxGitHubErrors || n["warning"] != 0 || n["notice"] != 1 || len(cmds) != MaxGitHubErrors+1 {
			t.Errorf("commands: %v", n)
		}
		last := cmds[len(cmds)-1]
		if last.name != "notice" || !strings.Contains(last.data, "10 of 50 groups are annotated") || !strings.Contains(last.data, tc.where) ||
			!strings.Contains(last.data, "0 critical, 50 errors") {
			t.Errorf("notice: %q", last.data)
		}
		for i, c := range cmds[:MaxGitHubErrors] {
			if want := r.Groups[i].Signature; !strings.HasSuffix(c.data, "signature "+want) {
				t.Errorf("error %d is not group %d", i, i)
			}
		}
	}
	// The demo: every group fits; the notice does not speak of the others.
	cmds := parseGitHub(t, string(printReport(t, "github", Options{}, demoReport(t))))
	if n := count(cmds); n["error"] != 6 || n["warning"] != 3 || n["notice"] != 1 {
		t.Errorf("demo: %v", n)
	}
	if d := cmds[len(cmds)-1].data; strings.Contains(d, "annotated") {
		t.Errorf("demo notice: %q", d)
	}
}

func TestGitHub_LargeSnapshot(t *testing.T) {
	r := largeReport(t)
	out := printReport(t, "github", Options{FullReport: "leaks.json"}, r)
	cmds := parseGitHub(t, string(out))
	n := count(cmds)
	errors, warnings := 0, 0
	for _, g := range r.Groups {
		if g.Findings[0].SuppressedBy != nil {
			continue
		}
		switch {
		case g.Severity >= leaks.SeverityError:
			errors++
		case g.Severity == leaks.SeverityWarning:
			warnings++
		}
	}
	if n["error"] != min(errors, MaxGitHubErrors) || n["warning"] != min(warnings, MaxGitHubWarnings) || n["notice"] != 1 {
		t.Errorf("%v for %d error and %d warning groups", n, errors, warnings)
	}
	t.Logf("%d groups: %v, %d bytes", len(r.Groups), n, len(out))
}

// Hostile names stay inside their command: each annotation is one line,
// its properties escaped, and what a name says comes back whole.
func TestGitHub_HostileNames(t *testing.T) {
	r := hostileReport(t)
	cmds := parseGitHub(t, string(printReport(t, "github", Options{}, r)))
	if n := count(cmds); n["error"] != MaxGitHubErrors || n["notice"] != 1 || len(cmds) != MaxGitHubErrors+1 {
		t.Errorf("commands: %v", n)
	}
	for _, c := range cmds[:len(cmds)-1] {
		if file := c.props["file"]; file != "" && !strings.HasSuffix(file, "/mod.py") {
			t.Errorf("annotation at %q", file)
		}
		if strings.ContainsAny(c.data, "\x01\x1b") || strings.ContainsAny(c.props["title"], "\x01\x1b\n\r") {
			t.Errorf("controls in an annotation: %q %q", c.props["title"], c.data)
		}
	}
}

func TestGitHub_StepSummary(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	testfs.WriteFile(t, summary, []byte("earlier step\n"), 0o644)
	r := demoReport(t)
	out := string(printReport(t, "github", Options{StepSummary: summary}, r))
	got, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	md := string(printReport(t, "markdown", Options{}, r))
	if string(got) != "earlier step\n"+md+"\n" {
		t.Errorf("summary file:\n%s", got)
	}
	if !strings.Contains(out, "the Markdown report is in the job summary") {
		t.Errorf("the notice does not point at the job summary:\n%s", out)
	}

	// Created when missing.
	fresh := filepath.Join(dir, "fresh.md")
	printReport(t, "github", Options{StepSummary: fresh}, r)
	if fi, err := os.Stat(fresh); err != nil || fi.Size() == 0 {
		t.Errorf("fresh summary: %v", err)
	}

	// A symbolic link is refused, and its target left alone.
	target := filepath.Join(dir, "target")
	testfs.WriteFile(t, target, []byte("secret"), 0o600)
	link := filepath.Join(dir, "link.md")
	testfs.Symlink(t, target, link)
	p, _ := New("github", Options{StepSummary: link})
	if err := p.Print(new(strings.Builder), r); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a link as step summary: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "secret" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// Groups an action-report entry reported are counted in the notice, not
// annotated: they never fail the build.
func TestGitHub_SuppressedGroupsAreNotAnnotated(t *testing.T) {
	r := reportedFiles(t)
	want, suppressed := 0, 0
	for _, g := range r.Groups {
		switch {
		case g.Findings[0].SuppressedBy != nil:
			suppressed++
		case g.Severity >= leaks.SeverityWarning:
			want++
		}
	}
	cmds := parseGitHub(t, string(printReport(t, "github", Options{}, r)))
	if n := count(cmds); suppressed == 0 || n["error"]+n["warning"] != want {
		t.Errorf("%v, want %d annotations (%d groups suppressed)", n, want, suppressed)
	}
}
