package cmd

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rescoord/rescoord/internal/report"
)

// leaksSnapshot is the path of a snapshot in testdata/leaks.
func leaksSnapshot(name string) string {
	return filepath.Join(repoRoot, "testdata", "leaks", name+".json")
}

// stable replaces what changes between builds (the version) in a report.
func stable(s string) string { return strings.ReplaceAll(s, version(), "VERSION") }

func TestLeaks_GoldenFormatsOnDemo(t *testing.T) {
	for _, format := range report.Formats {
		t.Run(format, func(t *testing.T) {
			res := runCLI(t, "leaks", "--demo", "-o", format)
			if res.Code != ExitFindings {
				t.Errorf("exit %d, want 1 (stderr %q)", res.Code, res.Stderr)
			}
			if res.Stderr != "" {
				t.Errorf("stderr: %q", res.Stderr)
			}
			ext := map[string]string{"text": "txt", "json": "json", "sarif": "sarif", "junit": "xml", "github": "txt", "markdown": "md"}[format]
			golden(t, "leaks/demo."+format+"."+ext, stable(res.Stdout))
		})
	}
}

func TestLeaks_GoldenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"grace", []string{"--demo", "--grace", "10s", "--max-age", "90s"}, ExitFindings},
		{"severity-error", []string{"--demo", "--severity", "error", "--fail-on", "critical"}, ExitFindings},
		{"baseline", []string{leaksSnapshot("growth-new"), "--baseline", leaksSnapshot("growth-base")}, ExitFindings},
		{"series", []string{leaksSnapshot("growth-s1"), leaksSnapshot("growth-s2"), leaksSnapshot("growth-s3"), "--fail-on", "warning"}, ExitFindings},
		{"clean", []string{leaksSnapshot("running-orphan-clean"), "--fail-on", "critical"}, ExitOK},
		{"cycle", []string{leaksSnapshot("cleanup-cycle"), "--fail-on", "none"}, ExitOK},
		{"running-under-orphan", []string{leaksSnapshot("running-under-orphan")}, ExitFindings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, append([]string{"leaks"}, tc.args...)...)
			if res.Code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", res.Code, tc.code, res.Stderr)
			}
			out := strings.ReplaceAll(res.Stdout, filepath.Join(repoRoot, "testdata", "leaks")+string(filepath.Separator), "")
			golden(t, "leaks/"+tc.name+".txt", out)
		})
	}
}

func TestLeaks_StyledOnTerminalOnly(t *testing.T) {
	c := newCLI(t)
	c.tty = true
	if res := c.run("leaks", "--demo"); !strings.Contains(res.Stdout, "\x1b[") {
		t.Error("no colour on a terminal")
	}
	c.env = map[string]string{"NO_COLOR": "1"}
	if res := c.run("leaks", "--demo"); strings.Contains(res.Stdout, "\x1b[") {
		t.Error("colour despite NO_COLOR")
	}
	if res := runCLI(t, "leaks", "--demo"); strings.Contains(res.Stdout, "\x1b[") {
		t.Error("colour when piped")
	}
}

func TestLeaks_ExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--demo"}, ExitFindings},
		{[]string{"--demo", "--fail-on", "critical"}, ExitFindings},
		{[]string{"--demo", "--fail-on", "none"}, ExitOK},
		{[]string{"--demo", "--severity", "critical", "--fail-on", "warning"}, ExitFindings},
		{[]string{leaksSnapshot("dangling-dependency")}, ExitOK},
		{[]string{leaksSnapshot("dangling-dependency"), "--fail-on", "warning"}, ExitFindings},
		{[]string{leaksSnapshot("running-orphan"), "--grace", "1m", "--fail-on", "error"}, ExitFindings}, // the missing owner is not graced
		{[]string{leaksSnapshot("orphaned-resource"), "--grace", "1m"}, ExitFindings},
		{[]string{leaksSnapshot("orphaned-resource-clean")}, ExitOK},
		{[]string{"--demo", "--fail-on", "fatal"}, ExitError},
		{[]string{"--demo", "--severity", "none"}, ExitError},
		{[]string{"--demo", "-o", "xml"}, ExitError},
		{[]string{"--demo", "-o", "json", "-o", "text"}, ExitError},
		{[]string{"--demo", "-o", "json="}, ExitError},
		{[]string{"--demo", "--growth-bytes", "lots"}, ExitError},
		{[]string{"--demo", "--grace", "-1s"}, ExitError},
		{[]string{"--demo", "--baseline", "nope.json"}, ExitError},
		{[]string{"--demo", "--suppressions", "nope.yaml"}, ExitError},
		{[]string{leaksSnapshot("growth-s1"), leaksSnapshot("growth-s2")}, ExitError},
		{[]string{leaksSnapshot("growth-s1"), leaksSnapshot("growth-s2"), leaksSnapshot("growth-s3"), "--baseline", leaksSnapshot("growth-s1")}, ExitError},
		{[]string{}, ExitError},
	} {
		res := runCLI(t, append([]string{"leaks"}, tc.args...)...)
		if res.Code != tc.code {
			t.Errorf("leaks %q: exit %d, want %d (stderr %q)", tc.args, res.Code, tc.code, res.Stderr)
		}
		if tc.code == ExitError && !strings.HasPrefix(res.Stderr, "rescoord: ") {
			t.Errorf("leaks %q: stderr %q does not say what is wrong", tc.args, res.Stderr)
		}
	}
}

func TestLeaks_OptionsBinding(t *testing.T) {
	f := &Factory{IO: &IOStreams{}}
	var got *LeaksOptions
	c := NewCmdLeaks(f, func(o *LeaksOptions) error { got = o; return nil })
	c.SetArgs([]string{"a.json", "-o", "text", "-o", "sarif=x.sarif", "--fail-on", "warning", "--severity", "error",
		"--grace", "5s", "--max-age", "10m", "--baseline", "old.json", "--suppressions", "s.yaml",
		"--growth-count", "3", "--growth-bytes", "1MiB", "--growth-percent", "50"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Outputs, []string{"text", "sarif=x.sarif"}) || got.FailOn != "warning" || got.Severity != "error" ||
		got.Grace != 5*time.Second || got.MaxAge != 10*time.Minute || got.Baseline != "old.json" || got.Suppressions != "s.yaml" ||
		got.GrowthCount != 3 || got.GrowthBytes != "1MiB" || got.GrowthPercent != 50 || !slices.Equal(got.Args, []string{"a.json"}) {
		t.Errorf("options: %+v", got)
	}
}

// One run writes several formats: one to stdout, the others to files.
func TestLeaks_MultipleOutputs(t *testing.T) {
	dir := t.TempDir()
	sarif, junit, md := filepath.Join(dir, "leaks.sarif"), filepath.Join(dir, "leaks.xml"), filepath.Join(dir, "comment.md")
	res := runCLI(t, "leaks", "--demo", "-o", "text", "-o", "sarif="+sarif, "-o", "junit="+junit, "-o", "markdown="+md)
	if res.Code != ExitFindings || !strings.Contains(res.Stdout, "running-orphan ×1") {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	for _, p := range []struct{ path, format string }{{sarif, "sarif"}, {junit, "junit"}, {md, "markdown"}} {
		got, err := os.ReadFile(p.path)
		if err != nil {
			t.Fatal(err)
		}
		// Files are plain, and the same as the format on stdout.
		want := runCLI(t, "leaks", "--demo", "-o", p.format).Stdout
		if string(got) != want {
			t.Errorf("%s file differs from its stdout form", p.format)
		}
	}
	res = runCLI(t, "leaks", "--demo", "-o", "json="+filepath.Join(dir, "no", "such", "dir.json"))
	if res.Code != ExitError || !strings.Contains(res.Stderr, "writing the json report") {
		t.Errorf("unwritable path: exit %d, stderr %q", res.Code, res.Stderr)
	}
}

// The SARIF report validates against the official SARIF 2.1.0 schema.
func TestLeaks_SARIFValidatesAgainstSchema(t *testing.T) {
	schemaPath, err := filepath.Abs(filepath.Join(repoRoot, "testdata", "schemas", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schema, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ignore := filepath.Join(dir, "ignore.yaml")
	testfs.WriteFile(t, ignore, []byte("suppressions:\n  - type: file\n    action: report\n    reason: third-party\n  - rule: growth\n    reason: unused\n    expires: 2020-01-01\n"), 0o644)
	for _, args := range [][]string{
		{"--demo"},
		{"--demo", "--suppressions", ignore},
		{leaksSnapshot("cleanup-cycle")},
		{leaksSnapshot("over-global-limit")},
		{leaksSnapshot("growth-new"), "--baseline", leaksSnapshot("growth-base")},
		{leaksSnapshot("running-orphan-clean"), "--fail-on", "none"},
	} {
		res := runCLI(t, append([]string{"leaks", "-o", "sarif"}, args...)...)
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(res.Stdout))
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%q: SARIF does not validate: %v", args, err)
		}
		var log struct {
			Runs []struct {
				Results []struct {
					Locations           []any             `json:"locations"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &log); err != nil {
			t.Fatal(err)
		}
		for _, r := range log.Runs[0].Results {
			if len(r.Locations) != 1 || r.PartialFingerprints["rescoordSignature/v1"] == "" {
				t.Errorf("%q: every result needs a location and a fingerprint: %+v", args, r)
			}
		}
	}
	// And the validator does reject what is not SARIF.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version": "2.1.0", "runs": [{"results": []}]}`))
	if err := schema.Validate(bad); err == nil {
		t.Error("a run without tool validated")
	}
}

// The JUnit report parses back: a case per group, failures at or above --fail-on.
func TestLeaks_JUnitParsesBack(t *testing.T) {
	for _, tc := range []struct {
		failOn          string
		tests, failures int
	}{{"error", 13, 6}, {"critical", 13, 2}, {"warning", 13, 9}, {"none", 13, 0}} {
		res := runCLI(t, "leaks", "--demo", "-o", "junit", "--fail-on", tc.failOn)
		var doc report.JUnitSuites
		if err := xml.Unmarshal([]byte(res.Stdout), &doc); err != nil {
			t.Fatalf("fail-on %s: %v", tc.failOn, err)
		}
		s := doc.Suites[0]
		failures := 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				failures++
				if !strings.Contains(c.Failure.Text, "\n") || c.Failure.Message == "" {
					t.Errorf("a failure carries its message and trace: %+v", c.Failure)
				}
			}
		}
		if doc.Tests != tc.tests || s.Tests != len(s.Cases) || s.Failures != tc.failures || failures != tc.failures || doc.Failures != tc.failures {
			t.Errorf("fail-on %s: tests %d/%d, failures %d/%d/%d, want %d and %d", tc.failOn, doc.Tests, len(s.Cases), s.Failures, failures, doc.Failures, tc.tests, tc.failures)
		}
		if s.Cases[0].Classname != "running-orphan" || !strings.HasPrefix(s.Cases[0].Name, "bf34de9ac4839514 ") {
			t.Errorf("case: %+v", s.Cases[0])
		}
	}
}

// .rescoord-ignore.yaml in the working directory is used when present;
// expired entries and unused ones are reported; action report never fails.
func TestLeaks_SuppressionsFromWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	demo, err := filepath.Abs(snapshotPath("media-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	ignore := `suppressions:
  - rule: running-orphan
    component: "MediaAnalysis*"
    reason: "tracked in #41: workers outlive the tab"
  - frame: "export_dialog.py:*"
    action: report
    reason: export dialog comes from a third-party toolkit
  - rule: over-component-limit
    reason: thumbnails are being reworked
    expires: 2026-11-01
  - name: no-such-resource
    reason: left over from an old fix
`
	testfs.WriteFile(t, filepath.Join(dir, ".rescoord-ignore.yaml"), []byte(ignore), 0o644)
	// The harness reads the demo and golden files relative to the working
	// directory: go back to it after each run in dir.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	runIn := func(args ...string) result {
		c := newCLI(t)
		c.chdir = dir
		res := c.run(args...)
		if err := os.Chdir(wd); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := runIn("leaks", demo)
	if res.Code != ExitFindings {
		t.Errorf("exit %d (stderr %q)", res.Code, res.Stderr)
	}
	golden(t, "leaks/suppressions.txt", strings.ReplaceAll(res.Stdout, demo, "media-app.json"))

	res = runIn("leaks", demo, "-o", "json")
	var out struct {
		Findings []struct {
			Rule         string          `json:"rule"`
			SuppressedBy json.RawMessage `json:"suppressed_by"`
		} `json:"findings"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatal(err)
	}
	rules := map[string]int{}
	reported := 0
	for _, f := range out.Findings {
		rules[f.Rule]++
		if f.SuppressedBy != nil {
			reported++
		}
	}
	if rules["running-orphan"] != 0 || rules["expired-suppression"] != 1 || rules["unused-suppression"] != 1 || rules["over-component-limit"] != 1 || reported != 1 {
		t.Errorf("rules %v, reported %d", rules, reported)
	}
	if out.Summary["suppressed"] != 2 {
		t.Errorf("summary %v", out.Summary)
	}

	// Only the expired over-component-limit and the orphans fail; with
	// --fail-on critical nothing does, the report-action export worker included.
	if res := runIn("leaks", demo, "--fail-on", "critical"); res.Code != ExitOK {
		t.Errorf("fail-on critical: exit %d", res.Code)
	}

	// A broken file is exit 2, naming the file and line.
	testfs.WriteFile(t, filepath.Join(dir, ".rescoord-ignore.yaml"), []byte("suppressions:\n  - rule: x\n"), 0o644)
	res = runIn("leaks", demo)
	if res.Code != ExitError || !strings.Contains(res.Stderr, ".rescoord-ignore.yaml:2: entry has no reason") {
		t.Errorf("bad suppressions: exit %d, stderr %q", res.Code, res.Stderr)
	}
	// --suppressions names another file.
	other := filepath.Join(dir, "other.yaml")
	testfs.WriteFile(t, other, []byte("suppressions: []\n"), 0o644)
	if res := runIn("leaks", demo, "--suppressions", other, "--fail-on", "none"); res.Code != ExitOK {
		t.Errorf("--suppressions: exit %d, stderr %q", res.Code, res.Stderr)
	}
}

func TestLeaks_MissingSnapshotIsExit2(t *testing.T) {
	res := runCLI(t, "leaks", "nope.json")
	if res.Code != ExitError || !strings.Contains(res.Stderr, "cannot read nope.json") {
		t.Errorf("exit %d, stderr %q", res.Code, res.Stderr)
	}
}

func TestLeaks_ReportFileReplacedAtomicallyWithMode(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	dir := t.TempDir()
	path := filepath.Join(dir, "leaks.json")
	testfs.WriteFile(t, path, []byte("old"), 0o600)
	ino := func() uint64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := ino()
	if r := runCLI(t, "leaks", "--demo", "-o", "json="+path, "-o", "sarif="+filepath.Join(dir, "new.sarif")); r.Code != ExitFindings {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if ino() == before {
		t.Error("the report was written in place, not renamed into place")
	}
	if m := testfs.Mode(t, filepath.Join(dir, "new.sarif")); m.Perm() != 0o644 {
		t.Errorf("a new report is %v, want 0644 (reports are meant to be shared)", m.Perm())
	}
	if m := testfs.Mode(t, path); m.Perm() != 0o600 {
		t.Errorf("a replaced report is %v, want its own 0600 kept", m.Perm())
	}
	if got := testfs.Names(t, dir); len(got) != 2 {
		t.Errorf("directory holds %q, want the two reports only", got)
	}
}

func TestLeaks_ReportNeverWrittenThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "authorized_keys")
	testfs.WriteFile(t, victim, []byte("ssh-ed25519 AAAA"), 0o600)
	link := filepath.Join(dir, "leaks.sarif") // shipped by a pull request
	testfs.Symlink(t, victim, link)
	oneLine(t, runCLI(t, "leaks", "--demo", "-o", "sarif="+link), "symbolic link")
	if b, _ := os.ReadFile(victim); string(b) != "ssh-ed25519 AAAA" {
		t.Errorf("written through the link: the target holds %d bytes", len(b))
	}
	if m := testfs.Mode(t, link); m&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced by %v", m)
	}
	// A planted link to a device is no stream: refused too.
	dev := filepath.Join(dir, "leaks.json")
	testfs.Symlink(t, "/dev/null", dev)
	oneLine(t, runCLI(t, "leaks", "--demo", "-o", "json="+dev), "symbolic link")
}

func TestLeaks_ReportToStreams(t *testing.T) {
	// /dev/null (and /dev/stdout, /dev/fd/N) are streams: written, never replaced.
	if r := runCLI(t, "leaks", "--demo", "-o", "sarif=/dev/null"); r.Code != ExitFindings {
		t.Errorf("-o sarif=/dev/null: exit %d %q", r.Code, r.Stderr)
	}
	if m := testfs.Mode(t, "/dev/null"); m&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null was replaced: %v", m)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs: %v", err)
	}
	oneLine(t, runCLI(t, "leaks", "--demo", "-o", "json="+fifo), "a FIFO that nobody reads")
	done := make(chan []byte)
	go func() {
		f, err := os.Open(fifo) // waits for the writer
		if err != nil {
			done <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		done <- b
	}()
	// The reader may not have opened yet: a writer that finds none fails
	// at once, so try until it is there.
	var r result
	for range 1000 {
		if r = runCLI(t, "leaks", "--demo", "-o", "json="+fifo); r.Code == ExitFindings {
			break
		}
		runtime.Gosched()
	}
	if r.Code != ExitFindings {
		t.Fatalf("-o json=FIFO with a reader: exit %d %q", r.Code, r.Stderr)
	}
	if b := <-done; !json.Valid(b) {
		t.Errorf("the reader got %d bytes of invalid JSON", len(b))
	}
}

func TestLeaks_FullDiskKeepsTheOldReport(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs a tiny tmpfs, which only root can mount")
	}
	dir := t.TempDir()
	// One page: the old report fills it, the new one finds no room.
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	path := filepath.Join(dir, "leaks.json")
	testfs.WriteFile(t, path, []byte(`{"good":"old report"}`), 0o644)
	r := runCLI(t, "leaks", "--demo", "-o", "json="+path)
	oneLine(t, r, "no space left on device")
	if b, _ := os.ReadFile(path); string(b) != `{"good":"old report"}` {
		t.Errorf("the old report was lost: %d bytes", len(b))
	}
	if got := testfs.Names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q: a temporary file was left behind", got)
	}
}

// seriesFile writes a growth-sN snapshot with taken_at and source changed.
func seriesFile(t *testing.T, dir string, n int, takenAt, source string) string {
	t.Helper()
	b, err := os.ReadFile(leaksSnapshot(fmt.Sprintf("growth-s%d", n)))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = regexp.MustCompile(`"taken_at": "[^"]*"`).ReplaceAllString(s, `"taken_at": "`+takenAt+`"`)
	s = strings.Replace(s, `"process": "leaks-test"`, source, 1)
	path := filepath.Join(dir, fmt.Sprintf("s%d.json", n))
	testfs.WriteFile(t, path, []byte(s), 0o644)
	return path
}

func TestLeaks_SeriesFromTwoProcessesIsAnError(t *testing.T) {
	for _, tc := range []struct{ name, second, want string }{
		{"pid", `"process": "app", "pid": 4243, "host": "ci-3"`, "(source pid 4242 and 4243)"},
		{"host", `"process": "app", "pid": 4242, "host": "ci-4"`, "(source host ci-3 and ci-4)"},
		{"process", `"process": "other", "pid": 4242, "host": "ci-3"`, "(source process app and other)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			same := `"process": "app", "pid": 4242, "host": "ci-3"`
			s1 := seriesFile(t, dir, 1, "2026-11-27T12:00:05Z", same)
			s2 := seriesFile(t, dir, 2, "2026-11-27T12:05:05Z", tc.second)
			s3 := seriesFile(t, dir, 3, "2026-11-27T12:10:05Z", same)
			r := runCLI(t, "leaks", s1, s2, s3)
			oneLine(t, r, "come from different processes "+tc.want)
		})
	}
	// The first snapshot gives no pid; the other two give different ones.
	dir0 := t.TempDir()
	r := runCLI(t, "leaks",
		seriesFile(t, dir0, 1, "2026-11-27T12:00:05Z", `"process": "app"`),
		seriesFile(t, dir0, 2, "2026-11-27T12:05:05Z", `"process": "app", "pid": 1`),
		seriesFile(t, dir0, 3, "2026-11-27T12:10:05Z", `"process": "app", "pid": 2`))
	oneLine(t, r, "s2.json and "+filepath.Join(dir0, "s3.json")+" come from different processes (source pid 1 and 2)")
	// A field only one snapshot gives does not tell them apart.
	dir := t.TempDir()
	s1 := seriesFile(t, dir, 1, "2026-11-27T12:00:05Z", `"process": "app", "pid": 4242`)
	s2 := seriesFile(t, dir, 2, "2026-11-27T12:05:05Z", `"process": "app"`)
	s3 := seriesFile(t, dir, 3, "2026-11-27T12:10:05Z", `"process": "app", "pid": 4242, "host": "ci-3"`)
	if r := runCLI(t, "leaks", s1, s2, s3, "--fail-on", "none"); r.Code != ExitOK || r.Stderr != "" {
		t.Errorf("one process: exit %d %q", r.Code, r.Stderr)
	}
}

// Snapshots given out of taken_at order are put in order, with a warning:
// growth is then measured as if given oldest first.
func TestLeaks_SeriesOutOfOrderIsSortedWithAWarning(t *testing.T) {
	dir := t.TempDir()
	src := `"process": "app", "pid": 7`
	s1 := seriesFile(t, dir, 1, "2026-11-27T12:00:05Z", src)
	s2 := seriesFile(t, dir, 2, "2026-11-27T12:05:05Z", src)
	s3 := seriesFile(t, dir, 3, "2026-11-27T12:10:05Z", src)
	inOrder := runCLI(t, "leaks", s1, s2, s3, "-o", "json")
	r := runCLI(t, "leaks", s2, s1, s3, "-o", "json")
	if r.Code != inOrder.Code || r.Stdout != inOrder.Stdout {
		t.Errorf("out of order: exit %d, report differs from the sorted series:\n%s", r.Code, r.Stdout)
	}
	want := "warning: the snapshots are not oldest first (" + s1 + ", taken 2026-11-27T12:00:05Z, comes after " + s2
	if !strings.HasPrefix(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", r.Stderr, want)
	}
	if inOrder.Stderr != "" {
		t.Errorf("in order: stderr %q", inOrder.Stderr)
	}
}

func TestLeaks_SameSnapshotTwiceIsAnError(t *testing.T) {
	dir := t.TempDir()
	s1 := seriesFile(t, dir, 1, "2026-11-27T12:00:05Z", `"process": "app"`)
	s2 := seriesFile(t, dir, 2, "2026-11-27T12:05:05Z", `"process": "app"`)
	hard := filepath.Join(dir, "again.json")
	if err := os.Link(s2, hard); err != nil {
		t.Fatal(err)
	}
	oneLine(t, runCLI(t, "leaks", s1, s2, s2), s2+" is given twice")
	oneLine(t, runCLI(t, "leaks", s1, s2, hard), s2+" and "+hard+" are the same file")
	oneLine(t, runCLI(t, "leaks", s2, "--baseline", s2), s2+" is given twice")
}

// A baseline comes from another run by design (main's CI): its source may
// differ; one newer than the snapshot is most likely swapped, and said so.
func TestLeaks_BaselineNewerThanSnapshotWarns(t *testing.T) {
	old, cur := leaksSnapshot("growth-base"), leaksSnapshot("growth-new")
	r := runCLI(t, "leaks", old, "--baseline", cur, "--fail-on", "none")
	if r.Code != ExitOK || !strings.Contains(r.Stderr, "warning: the baseline "+cur+" (taken 2026-11-27T12:10:05Z) is newer than "+old) {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := runCLI(t, "leaks", cur, "--baseline", old, "--fail-on", "none"); r.Stderr != "" {
		t.Errorf("baseline in order: stderr %q", r.Stderr)
	}
}

// The default .rescoord-ignore.yaml comes with the working tree: a link
// (to /dev/zero, to a secret) or a FIFO there is not read, never waited on.
func TestLeaks_DefaultSuppressionsMustBeARegularFile(t *testing.T) {
	demo, err := filepath.Abs(snapshotPath("media-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		plant func(path string) error
		want  string
	}{
		{"symlink to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "is a symbolic link: not read"},
		{"symlink to a file", func(p string) error {
			if err := os.WriteFile(p+".real", []byte("suppressions: []\n"), 0o644); err != nil {
				return err
			}
			return os.Symlink(p+".real", p)
		}, "is a symbolic link: not read"},
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "is not a regular file (a FIFO): not read"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "is not a regular file (a directory): not read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.plant(filepath.Join(dir, ".rescoord-ignore.yaml")); err != nil {
				t.Skip(err)
			}
			c := newCLI(t)
			c.chdir = dir
			r := c.run("leaks", demo, "--fail-on", "none")
			if r.Code != ExitOK || !strings.Contains(r.Stderr, ".rescoord-ignore.yaml "+tc.want) || strings.Count(r.Stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q, want a one-line warning %q", r.Code, r.Stderr, tc.want)
			}
		})
	}
}

func TestLeaks_SuppressionsFileLimits(t *testing.T) {
	demo, err := filepath.Abs(snapshotPath("media-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	testfs.WriteFile(t, big, []byte("suppressions:\n"+strings.Repeat("# pad\n", 200_000)), 0o644)
	oneLine(t, runCLI(t, "leaks", demo, "--suppressions", big), "larger than 1048576 bytes")
	oneLine(t, runCLI(t, "leaks", demo, "--suppressions", "/dev/zero"), "/dev/zero is not a regular file (a character device)")
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err == nil {
		oneLine(t, runCLI(t, "leaks", demo, "--suppressions", fifo), "is not a regular file (a FIFO)")
	}
	// The default file over the cap is an error too: it is the user's file.
	if err := os.Rename(big, filepath.Join(dir, ".rescoord-ignore.yaml")); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.chdir = dir
	oneLine(t, c.run("leaks", demo), ".rescoord-ignore.yaml: larger than 1048576 bytes")
	dup := filepath.Join(dir, "dup.yaml")
	testfs.WriteFile(t, dup, []byte("suppressions: []\nsuppressions:\n  - rule: growth\n    reason: r\n"), 0o644)
	oneLine(t, runCLI(t, "leaks", demo, "--suppressions", dup), `dup.yaml:2: "suppressions" given twice (first at line 1)`)
}

// A snapshot file is located in SARIF by its path relative to the working
// directory; standard input and files outside it are not (the report
// uses report.SnapshotArtifact).
func TestSnapshotArtifact(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tabletest.Func(t, "snapshotArtifact", snapshotArtifact, map[string]string{
		"snap.json":                            "snap.json",
		"./sub/../snap.json":                   "snap.json",
		filepath.Join(dir, "ci", "run 1.json"): "ci/run 1.json",
		"../elsewhere.json":                    "",
		"/etc/snap.json":                       "",
		"-":                                    "",
		"":                                     "",
	})
}

// -o github appends the Markdown report to $GITHUB_STEP_SUMMARY unless
// --no-step-summary; a symbolic link there is refused (exit 2).
func TestLeaks_GitHubStepSummary(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	c := newCLI(t)
	c.env = map[string]string{"GITHUB_STEP_SUMMARY": summary}
	res := c.run("leaks", "--demo", "-o", "github", "-o", "json="+filepath.Join(dir, "leaks.json"))
	if res.Code != ExitFindings || !strings.Contains(res.Stdout, "Full report: "+filepath.Join(dir, "leaks.json")+"; the Markdown report is in the job summary.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	md := runCLI(t, "leaks", "--demo", "-o", "markdown").Stdout
	if got, err := os.ReadFile(summary); err != nil || string(got) != md+"\n" {
		t.Errorf("step summary (%v):\n%s", err, got)
	}

	// --no-step-summary: the file is not touched.
	fresh := filepath.Join(dir, "fresh.md")
	c.env = map[string]string{"GITHUB_STEP_SUMMARY": fresh}
	if res := c.run("leaks", "--demo", "-o", "github", "--no-step-summary"); res.Code != ExitFindings || strings.Contains(res.Stdout, "job summary") {
		t.Errorf("exit %d, stdout %q", res.Code, res.Stdout)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--no-step-summary wrote the summary: %v", err)
	}

	link := filepath.Join(dir, "link.md")
	testfs.Symlink(t, filepath.Join(dir, "elsewhere"), link)
	c.env = map[string]string{"GITHUB_STEP_SUMMARY": link}
	oneLine(t, c.run("leaks", "--demo", "-o", "github"), "symbolic link")
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("written through the link: %v", err)
	}
}
