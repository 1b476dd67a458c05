package cmd

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/rescoord/rescoord/internal/golden"
	"github.com/rescoord/rescoord/pkg/registry"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// repoRoot is where testdata lives, relative to the package directory:
// paths built on it appear in outputs, so goldens stay machine-independent.
const repoRoot = "../.."

// absRoot is repoRoot made absolute before any test changes directory:
// the harness reads the demo and golden files through it.
var absRoot = func() string {
	p, err := filepath.Abs(repoRoot)
	if err != nil {
		panic(err)
	}
	return p
}()

// demoJSON is the built-in demo, read from disk as the binary embeds it.
func demoJSON(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(absRoot, "testdata", "snapshots", "media-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result is what one in-process run of rescoord printed and returned.
type result struct {
	Stdout, Stderr string
	Code           int
}

// cli runs rescoord in-process with plain (non-terminal) streams.
type cli struct {
	t     testing.TB
	stdin string
	tty   bool
	env   map[string]string
	chdir string
	now   time.Time
	sleep func(context.Context, time.Duration) error
}

func newCLI(t testing.TB) *cli { return &cli{t: t} }

// run executes rescoord with args and returns what it printed and its exit code.
func (c *cli) run(args ...string) result {
	c.t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{
		IO: &IOStreams{
			In: strings.NewReader(c.stdin), Out: &out, ErrOut: &errOut,
			InTTY: c.tty, OutTTY: c.tty, ErrTTY: c.tty,
		},
		Demo: demoJSON(c.t),
		Getenv: func(k string) string {
			return c.env[k]
		},
		Now:       func() time.Time { return c.now },
		Sleep:     c.sleep,
		ColorMode: "auto",
	}
	if c.now.IsZero() {
		f.Now = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 10, 0, time.UTC) }
	}
	if c.chdir != "" {
		c.t.Chdir(c.chdir)
	}
	code := Run(f, args)
	return result{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}

// runCLI runs rescoord in-process with args.
func runCLI(t testing.TB, args ...string) result {
	t.Helper()
	return newCLI(t).run(args...)
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t testing.TB, name string, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join(absRoot, "testdata", "golden", name), got, *update, "go test ./internal/cmd -update")
}

// snapshotPath is the path of a snapshot in testdata/snapshots.
func snapshotPath(name string) string {
	return filepath.Join(repoRoot, "testdata", "snapshots", name)
}

// serveReg serves reg as a program does (Listen, then Serve) until the test
// ends.
func serveReg(t testing.TB, reg *registry.Registry, opts ...registry.ServeOption) *registry.Server {
	t.Helper()
	srv, err := reg.Listen(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

// oneLine checks a refusal: exit 2 and one line on stderr holding want,
// no stack trace.
func oneLine(t *testing.T, r result, want string) {
	t.Helper()
	oneLineError(t, "refusal", r, want)
}

// crashed matches what the Go runtime writes when a program dies.
var crashed = regexp.MustCompile(`(?m)^(panic: |fatal error: |goroutine \d+ \[)|out of memory`)

// oneLineError is oneLine for the refusal named what.
func oneLineError(t *testing.T, what string, r result, want string) {
	t.Helper()
	if r.Code != ExitError {
		t.Errorf("%s: exit %d, want %d\n%s", what, r.Code, ExitError, r.Stderr)
	}
	if strings.Count(strings.TrimSuffix(r.Stderr, "\n"), "\n") > 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("%s: stderr %q, want one line with %q", what, r.Stderr, want)
	}
	if crashed.MatchString(r.Stderr) {
		t.Errorf("%s: crashed:\n%s", what, r.Stderr)
	}
}

// wantContains fails the test for each of wants that out (named what)
// does not contain.
func wantContains(t testing.TB, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// importGoroutines runs `rescoord import goroutines -` on dump and returns
// the snapshot it writes.
func importGoroutines(t testing.TB, dump []byte) string {
	t.Helper()
	c := newCLI(t)
	c.stdin = string(dump)
	r := c.run("import", "goroutines", "-")
	if r.Code != 0 {
		t.Fatalf("import goroutines: exit %d: %s", r.Code, r.Stderr)
	}
	return r.Stdout
}

// httpBody is the body of a GET of url.
func httpBody(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenCase is a command whose standard output is the golden file named.
type goldenCase struct {
	golden string
	args   []string
}

// runGoldens runs each case piped, as a subtest: it must exit 0 and print
// plain text equal to its golden file; check, when not nil, checks more.
func runGoldens(t *testing.T, cases []goldenCase, check func(t *testing.T, tt goldenCase, res result)) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.golden, func(t *testing.T) {
			res := runCLI(t, tt.args...)
			if res.Code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", res.Code, res.Stderr)
			}
			if strings.Contains(res.Stdout, "\x1b[") {
				t.Error("piped output has ANSI codes")
			}
			golden(t, tt.golden, res.Stdout)
			if check != nil {
				check(t, tt, res)
			}
		})
	}
}
