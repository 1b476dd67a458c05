package cmd

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"
)

// readCommands are the commands that read a snapshot.
var readCommands = [][]string{{"list"}, {"stats"}, {"validate"}, {"leaks", "-o", "json"}, {"cleanup", "--dry-run"}, {"graph"}}

// gzipBomb writes testfs.GzipBomb(size) to a file and returns its path.
func gzipBomb(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bomb.json.gz")
	testfs.WriteFile(t, path, testfs.GzipBomb(size), 0o600)
	return path
}

// TestInput_GzipBombIsRefused: a 5 MB file expanding to 5 GiB is refused
// in one line by every command, past the limit (a small one: the default,
// 1 GiB, would take seconds to reach under the race detector).
func TestInput_GzipBombIsRefused(t *testing.T) {
	bomb := gzipBomb(t, 5<<30)
	for _, cmd := range readCommands {
		if r := runCLI(t, cmd[0], "--help"); !strings.Contains(r.Stdout, "--max-input size") || !strings.Contains(r.Stdout, "(default 1.0 GiB)") {
			t.Errorf("%s --help does not show --max-input with its default:\n%s", cmd[0], r.Stdout)
		}
		r := runCLI(t, append(cmd, "--max-input", "16MiB", bomb)...)
		oneLineError(t, cmd[0], r, "decompressed input larger than the limit of 16.0 MiB")
	}
}

// TestInput_MaxInput: a file or standard input larger than --max-input is
// refused; one that fits is read.
func TestInput_MaxInput(t *testing.T) {
	path := snapshotPath("media-app.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	size := st.Size()
	for _, cmd := range readCommands {
		r := runCLI(t, append(cmd, "--max-input", "10KB", path)...)
		oneLineError(t, cmd[0], r, "media-app.json: input larger than the limit of 9.8 KiB (10000 bytes): raise --max-input to read it")
		c := newCLI(t)
		c.stdin = string(demoJSON(t))
		r = c.run(append(cmd, "--max-input", "10000", "-")...)
		oneLineError(t, cmd[0]+" -", r, "stdin: input larger than the limit of 9.8 KiB")
	}
	if r := runCLI(t, "validate", "--max-input", "90KiB", path); r.Code != 0 || size > 90<<10 {
		t.Errorf("validate within the limit: exit %d %s", r.Code, r.Stderr)
	}
	for _, bad := range []string{"0", "-1", "lots", "1e30"} {
		r := runCLI(t, "validate", "--max-input", bad, path)
		if r.Code != ExitError || !strings.Contains(r.Stderr, "--max-input") {
			t.Errorf("--max-input %s: exit %d, stderr %q", bad, r.Code, r.Stderr)
		}
	}
}

// TestInput_NotASnapshotFailsAtTheFirstByte: /dev/zero is refused at its
// first byte instead of being read whole.
func TestInput_NotASnapshotFailsAtTheFirstByte(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	for _, cmd := range readCommands {
		r := runCLI(t, append(cmd, "/dev/zero")...)
		errText := r.Stderr
		if cmd[0] == "validate" {
			errText = r.Stdout + r.Stderr
		}
		if r.Code != ExitError || !strings.Contains(errText, "/dev/zero:1:1: expected a snapshot object, got byte 0x00") {
			t.Errorf("%s /dev/zero: exit %d\n%s", cmd[0], r.Code, errText)
		}
	}
}

// TestInput_FIFOWithoutAWriterEndsWithTheContext: a command reading a
// FIFO nobody writes returns when its context ends (Ctrl-C).
func TestInput_FIFOWithoutAWriterEndsWithTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	defer func() { // lets the open still waiting return
		if w, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}()
	var out, errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" },
		Now: time.Now, ColorMode: "never"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- RunContext(ctx, f, []string{"validate", path}) }()
	cancel()
	wantInterrupted(t, done, "validate on a FIFO without a writer did not return after its context ended")
}

// TestInput_SizesSaturate: two resources of 2^63-1 bytes exceed the
// global limit (the sum once wrapped to -2), and sizes print as the
// largest, never negative.
func TestInput_SizesSaturate(t *testing.T) {
	snap := `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","limits":{"global_bytes":1073741824},
"components":[{"id":"app","state":"alive"}],"resources":[
{"id":"a","type":"memory","owner":"app","state":"active","size_bytes":9223372036854775807},
{"id":"b","type":"memory","owner":"app","state":"active","size_bytes":9223372036854775807}]}`
	path := filepath.Join(t.TempDir(), "big.json")
	testfs.WriteFile(t, path, []byte(snap), 0o600)
	r := runCLI(t, "leaks", "-o", "json", path)
	if !strings.Contains(r.Stdout, `"over-global-limit"`) {
		t.Errorf("no over-global-limit finding:\n%s", r.Stdout)
	}
	r = runCLI(t, "stats", path)
	if !strings.Contains(r.Stdout, "8.0 EiB") || strings.Contains(r.Stdout, "-2 B") {
		t.Errorf("stats:\n%s", r.Stdout)
	}
	r = runCLI(t, "stats", "-o", "json", path)
	if !strings.Contains(r.Stdout, `"live_bytes": 9223372036854775807`) {
		t.Errorf("stats -o json:\n%s", r.Stdout)
	}
}

// TestInput_AttachEndsWithTheContext: --attach reads with the command's
// context, so an interrupt ends a fetch from a process that never answers
// (it used context.Background(), bounded only by --timeout).
func TestInput_AttachEndsWithTheContext(t *testing.T) {
	answered := make(chan struct{})
	defer close(answered)
	target := serve(t, "unix", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-answered:
		}
	}})
	var out, errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": shortTempDir(t)}[k] },
		Now:    time.Now, ColorMode: "never"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- RunContext(ctx, f, []string{"validate", "--attach", target, "--timeout", "1h"}) }()
	cancel()
	wantInterrupted(t, done, "validate --attach did not return after its context ended")
}

// wantInterrupted waits for the exit code on done of a command whose
// context has ended: not 0, and within a bound on a hang; what says what
// did not return.
func wantInterrupted(t *testing.T, done <-chan int, what string) {
	t.Helper()
	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("exit 0 from an interrupted command")
		}
	case <-time.After(20 * time.Second): // a bound on a hang, not a wait
		t.Fatal(what)
	}
}

// The commands that only ever attach refuse, before connecting, a missing
// --attach and an interval of zero or less; every command that attaches,
// a --timeout of zero or less.
func TestAttachOnly_Refusals(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch"}, "watch needs --attach TARGET (rescoord ps lists attachable processes)"},
		{[]string{"record"}, "record needs --attach TARGET"},
		{[]string{"watch", "--attach", "proc:1", "--every", "0s"}, "invalid --every 0s: want a positive duration"},
		{[]string{"record", "--attach", "proc:1", "--every", "-1s"}, "invalid --every -1s: want a positive duration"},
		{[]string{"metrics", "--attach", "proc:1", "--timeout", "0s"}, "invalid --timeout 0s: want a positive duration"},
		{[]string{"leaks", "--attach", "proc:1", "--timeout", "0s"}, "invalid --timeout 0s: want a positive duration"},
		{[]string{"list", "--attach", "unix:///nowhere.sock", "--timeout", "-1s"}, "invalid --timeout -1s: want a positive duration"},
		{[]string{"attach-check", "unix:///nowhere.sock", "--timeout", "0s"}, "invalid --timeout 0s: want a positive duration"},
		{[]string{"cleanup", "--attach", "unix:///nowhere.sock", "--component", "tab", "--timeout", "0s"}, "invalid --timeout 0s: want a positive duration"},
	} {
		oneLineError(t, strings.Join(tc.args, " "), runCLI(t, tc.args...), tc.want)
	}
}

// TestInput_DropMetadata: the commands that never show metadata read
// snapshot files (their baselines too) without it; the others keep it.
func TestInput_DropMetadata(t *testing.T) {
	path := snapshotPath("media-app.json")
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: new(bytes.Buffer), ErrOut: new(bytes.Buffer)}}
	withMetadata := func(o *InputOptions, load func(*InputOptions) (*loaded, error)) int {
		t.Helper()
		in, err := load(o)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range in.Snap.Resources {
			if !in.Snap.Resources[i].Metadata.IsZero() {
				n++
			}
		}
		return n
	}
	inputs := func(o *InputOptions) (*loaded, error) { return o.loadOne(context.Background(), f, []string{path}) }
	baseline := func(o *InputOptions) (*loaded, error) { return o.loadPath(context.Background(), f, path) }
	for name, load := range map[string]func(*InputOptions) (*loaded, error){"input": inputs, "baseline": baseline} {
		if n := withMetadata(&InputOptions{}, load); n == 0 {
			t.Fatalf("%s: media-app.json read with no metadata: the test proves nothing", name)
		}
		if n := withMetadata(&InputOptions{dropMetadata: true}, load); n != 0 {
			t.Errorf("%s: dropMetadata kept the metadata of %d resources", name, n)
		}
	}
	// list shows metadata: it must keep it.
	if r := runCLI(t, "list", "-o", "json", path); r.Code != 0 || !strings.Contains(r.Stdout, `"metadata"`) {
		t.Errorf("list -o json lost the metadata: exit %d\n%.400s", r.Code, r.Stdout)
	}
}
