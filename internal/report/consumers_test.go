package report

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// The files of the repository the tests read.
var (
	repoRoot     = filepath.Join("..", "..")
	demoSnapshot = filepath.Join(repoRoot, "testdata", "snapshots", "media-app.json")
	schemasDir   = filepath.Join(repoRoot, "testdata", "schemas")
	leaksDoc     = filepath.Join(repoRoot, "docs", "leaks.md")
)

// Large is how many resources the generated snapshot of the consumer
// tests has.
const largeResources = 300_000

// analyzeFile reads a snapshot file and analyses it as `rescoord leaks`
// does by default (--fail-on error).
func analyzeFile(t testing.TB, path string, opts leaks.ReportOptions) *leaks.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := snapshot.Decode(bufio.NewReader(f), path)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	if opts.FailOn == 0 {
		opts.FailOn = leaks.SeverityError
	}
	if opts.Now.IsZero() {
		opts.Now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	}
	return leaks.Analyze(ix, opts)
}

// reportedFiles is the demo's report with a suppression of action report
// for its file resources: suppressed, but shown.
func reportedFiles(t testing.TB) *leaks.Report {
	t.Helper()
	sup, err := leaks.ParseSuppressions([]byte("suppressions:\n  - type: file\n    action: report\n    reason: third-party\n"), ".rescoord-ignore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return analyzeFile(t, demoSnapshot, leaks.ReportOptions{Suppressions: sup})
}

// demoReport is the report of the demo snapshot.
func demoReport(t testing.TB) *leaks.Report {
	return analyzeFile(t, demoSnapshot, leaks.ReportOptions{})
}

var large struct {
	once sync.Once
	r    *leaks.Report
	err  error
}

// largeReport is the report of a generated snapshot of largeResources
// resources (internal/gensnap, the standard shape), made once per test
// binary. It is skipped with -short.
func largeReport(t *testing.T) *leaks.Report {
	t.Helper()
	if testing.Short() {
		t.Skipf("the %d-resource snapshot is not generated with -short", largeResources)
	}
	large.once.Do(func() {
		dir, err := os.MkdirTemp("", "rescoord-report-test-")
		if err != nil {
			large.err = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "large.json")
		f, err := os.Create(path)
		if err != nil {
			large.err = err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if err = gensnap.Generate(gensnap.Scale(largeResources), w); err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			large.err = err
			return
		}
		large.r = analyzeFile(t, path, leaks.ReportOptions{})
	})
	if large.err != nil {
		t.Fatal(large.err)
	}
	return large.r
}

// hostileNames are strings a snapshot can hold that every format must
// carry without breaking: controls, an escape sequence, the end of a CDATA
// section, quotes, Markdown and HTML, mentions, references, line breaks,
// U+FFFE and invalid UTF-8.
var hostileNames = []string{
	"ctl\x01bell\x07",
	"esc\x1b[31mred\x1b[0m",
	"cdata]]>end<![CDATA[x",
	`quote"apos'amp&lt`,
	"pipe|`tick`*star*_u_[l](http://evil.example/)~s~",
	"@octocat and #123 and GH-7 <script>alert(1)</script> <img src=x onerror=alert(2)>",
	"line\nbreak\r\nwin",
	"nonchar\uFFFE\uFFFFend",
	"bad\xffutf8\xc3",
	"::error file=x.py::injected%0A",
}

// hostileReport is a report whose findings name hostileNames everywhere a
// snapshot lets them in: resource names and types, owners, component
// names, frames.
func hostileReport(t testing.TB) *leaks.Report {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)}
	s.Source.Process = hostileNames[5]
	for i, name := range hostileNames {
		cid := fmt.Sprintf("c-%d", i)
		s.Components = append(s.Components, snapshot.Component{ID: cid, Name: name, Type: "tab", State: snapshot.StateDestroyed,
			DestroyedAt: s.TakenAt.Add(-time.Minute)})
		s.Resources = append(s.Resources,
			snapshot.Resource{ID: fmt.Sprintf("r-%d", i), Type: "worker", Owner: cid, Name: name, State: snapshot.StateActive, Running: true,
				CreatedBy: snapshot.NewStack("/abs/"+name+".py:3 f", name+"/mod.py:"+fmt.Sprint(i+1)+" "+name)},
			snapshot.Resource{ID: fmt.Sprintf("m-%d", i), Type: "memory", Owner: "gone-" + name, Name: name, State: snapshot.StateActive,
				CreatedBy: snapshot.NewStack(name)})
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return leaks.Analyze(ix, leaks.ReportOptions{FailOn: leaks.SeverityError})
}

// print writes r in format.
func printReport(t testing.TB, format string, opts Options, r *leaks.Report) []byte {
	t.Helper()
	p, err := New(format, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Print(&b, r); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.Bytes()
}

// requireConsumers is set by .ci/run: a missing tool fails the tests that
// need it instead of skipping them.
func requireConsumers() bool { return os.Getenv("RESCOORD_REQUIRE_CONSUMERS") != "" }

// consumer is the path of an external tool the tests check reports with.
// It is skipped when missing, unless RESCOORD_REQUIRE_CONSUMERS is set.
func consumer(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if requireConsumers() {
			t.Fatalf("%s is required (RESCOORD_REQUIRE_CONSUMERS is set): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

// python3With is a python3 that imports module: Debian's /usr/bin/python3
// first (where apt installs python3-junitparser), then the one on PATH.
// The test is skipped when there is none, unless RESCOORD_REQUIRE_CONSUMERS
// is set.
func python3With(t *testing.T, module string) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	var last []byte
	for _, py := range candidates {
		out, err := exec.Command(py, "-c", "import "+module).CombinedOutput()
		if err == nil {
			return py
		}
		last = out
	}
	if requireConsumers() {
		t.Fatalf("no python3 imports %s (RESCOORD_REQUIRE_CONSUMERS is set): %s", module, last)
	}
	t.Skipf("no python3 imports %s: %s", module, bytes.TrimSpace(last))
	return ""
}

// writeTemp writes data to a file in a test's temporary directory.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	testfs.WriteFile(t, path, data, 0o644)
	return path
}
