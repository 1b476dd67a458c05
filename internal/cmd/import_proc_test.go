package cmd

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/tools/helper"
)

// leakyProc starts internal/tools/leaky (docs/importers.md) and returns it
// once it is ready.
func leakyProc(t *testing.T, args ...string) (*helper.Proc, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("proc: targets are Linux only")
	}
	dir := t.TempDir()
	p := helper.Start(t, helper.Build(t, "./internal/tools/leaky"), append([]string{"-dir", dir}, args...)...)
	p.Expect("ready")
	return p, dir
}

// record --attach proc:PID saves a series in which leaks finds the fds,
// sockets and threads the process leaks between snapshots.
func TestProc_RecordThenLeaksFindsGrowth(t *testing.T) {
	p, _ := leakyProc(t)
	c := newCLI(t)
	leaks := 0
	// The wait between two snapshots is when the process leaks: it is told
	// to, and the wait ends when it says it did.
	c.sleep = func(context.Context, time.Duration) error {
		leaks++
		p.Send("leak")
		p.Expect(fmt.Sprintf("leaked %d", leaks))
		return nil
	}
	out := filepath.Join(t.TempDir(), "snaps")
	r := c.run("record", "--attach", fmt.Sprintf("proc:%d", p.PID()), "--every", "1s", "--count", "5", "--out", out)
	if r.Code != 0 {
		t.Fatalf("record: exit %d: %s", r.Code, r.Stderr)
	}
	if leaks != 4 {
		t.Fatalf("%d waits between 5 snapshots, want 4", leaks)
	}
	files, _ := filepath.Glob(filepath.Join(out, "snapshot-*.json"))
	r = runCLI(t, append([]string{"leaks", "--fail-on", "none"}, files...)...)
	if r.Code != 0 {
		t.Fatalf("leaks: exit %d: %s", r.Code, r.Stderr)
	}
	wantContains(t, "leaks", r.Stdout,
		"live file resources of leaky (process) grew at every step of 5 snapshots: count",
		"(+20)",
		"live socket resources of leaky (process) grew at every step of 5 snapshots: count",
		"(+40)",
		"live thread resources of leak-N (threads) grew at every step of 5 snapshots: count 0 → 3 → 6 → 9 → 12 (+12)",
	)
	// The two worker threads did not grow.
	if strings.Contains(r.Stdout, "worker-N") {
		t.Errorf("leaks reports the worker-N group, which did not grow:\n%s", r.Stdout)
	}
}

func TestProc_EveryCommandAttaches(t *testing.T) {
	p, dir := leakyProc(t, "-weird")
	target := fmt.Sprintf("proc:%d", p.PID())
	for _, args := range [][]string{
		{"list", "--attach", target},
		{"stats", "--attach", target},
		{"leaks", "--attach", target},
		{"validate", "--attach", target},
		{"cleanup", "--dry-run", "--attach", target},
		{"graph", "--attach", target},
		{"watch", "--count", "1", "--attach", target},
	} {
		r := runCLI(t, args...)
		if r.Code != 0 {
			t.Errorf("%s: exit %d: %s", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	// What the process names is shown escaped, never raw.
	r := runCLI(t, "list", "--attach", target)
	if strings.ContainsAny(r.Stdout, "\x1b") || !strings.Contains(r.Stdout, `bad\x1b[31mname`) ||
		!strings.Contains(r.Stdout, filepath.Join(dir, `new\nline\x1b[2J.txt`)) {
		t.Errorf("list does not escape the names from /proc:\n%s", r.Stdout)
	}
	// JSON keeps them raw (escaped as JSON).
	r = runCLI(t, "list", "-o", "json", "--attach", target)
	if !strings.Contains(r.Stdout, `new\nline\u001b[2J.txt`) {
		t.Errorf("list -o json does not keep the raw file name:\n%s", r.Stdout)
	}
}

func TestProc_Errors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("proc: targets are Linux only")
	}
	oneLine(t, runCLI(t, "list", "--attach", "proc:1073741824"), "rescoord: no process 1073741824")
	oneLine(t, runCLI(t, "list", "--attach", "proc:x"), `invalid attach target "proc:x": want proc:PID`)
	r := runCLI(t, "list", "--attach", "proc:1")
	if r.Code == 0 {
		t.Skip("process 1 can be inspected here")
	}
	oneLine(t, r, "cannot read the file descriptors of process 1: permission denied (proc: needs the same user or CAP_SYS_PTRACE)")
}

// A live cleanup needs a registry, which a process read from /proc lacks.
func TestProc_NoLiveCleanup(t *testing.T) {
	p, _ := leakyProc(t)
	r := runCLI(t, "cleanup", "--yes", "--component", "process", "--attach", fmt.Sprintf("proc:%d", p.PID()))
	oneLine(t, r, fmt.Sprintf("proc:%d has no registry: this needs a process that embeds pkg/registry", p.PID()))
}
