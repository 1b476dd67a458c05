// Package helper builds and drives the helper programs of internal/tools
// for tests and benchmarks: a process started by the test, synchronised on
// the lines it prints, never on sleeps.
package helper

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is the directory of go.mod, found from the working directory.
func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}

// Build compiles the package at pkg (relative to the module root, such as
// ./internal/tools/leaky) into t.TempDir(), with env added to the build's
// environment, and returns the executable's path. The build cache makes
// every build after the first a link.
func Build(t testing.TB, pkg string, env ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Proc is a running helper.
type Proc struct {
	t     testing.TB
	Cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

// Start runs bin with args; the process ends, its standard input closed
// and then killed, when the test ends.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{t: t, Cmd: cmd, in: in, lines: bufio.NewScanner(out)}
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

// PID is the helper's process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Expect reads the helper's next line of output and fails the test unless
// it starts with prefix; it returns the line.
func (p *Proc) Expect(prefix string) string {
	p.t.Helper()
	if !p.lines.Scan() {
		p.t.Fatalf("helper ended before printing %q: %v", prefix, p.lines.Err())
	}
	l := p.lines.Text()
	if !strings.HasPrefix(l, prefix) {
		p.t.Fatalf("helper printed %q, want %q…", l, prefix)
	}
	return l
}

// Send writes one line to the helper's standard input.
func (p *Proc) Send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// Close closes the helper's standard input and waits for it to end.
func (p *Proc) Close() error {
	_ = p.in.Close()
	return p.Cmd.Wait()
}
