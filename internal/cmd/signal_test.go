package cmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalWatch_ExitsWhenTheCommandDoesNotReturn: the first signal
// cancels the context with its cause; the grace passing ends the process
// with 128 + the signal's number, saying why.
func TestSignalWatch_ExitsWhenTheCommandDoesNotReturn(t *testing.T) {
	for _, tc := range []struct {
		sig  os.Signal
		code int
		name string
	}{{os.Interrupt, 130, "SIGINT"}, {syscall.SIGTERM, 143, "SIGTERM"}} {
		sigs := make(chan os.Signal, 2)
		ctx, cancel := context.WithCancelCause(context.Background())
		grace := make(chan time.Time)
		exited := make(chan int, 1)
		var errOut bytes.Buffer
		w := &signalWatch{sigs: sigs, cancel: cancel, errOut: &errOut, grace: time.Second,
			after: func(time.Duration) <-chan time.Time { return grace }, exit: func(c int) { exited <- c }}
		go w.run()
		sigs <- tc.sig
		<-ctx.Done()
		var in *interrupted
		if !errors.As(context.Cause(ctx), &in) || in.code() != tc.code {
			t.Fatalf("%s: cause %v, want an interruption with code %d", tc.name, context.Cause(ctx), tc.code)
		}
		select {
		case c := <-exited:
			t.Fatalf("%s: exited with %d before the grace passed", tc.name, c)
		default:
		}
		grace <- time.Time{}
		if c := <-exited; c != tc.code {
			t.Errorf("%s: exit code %d, want %d", tc.name, c, tc.code)
		}
		if got, want := errOut.String(), "rescoord: interrupted by "+tc.name+"\n"; got != want {
			t.Errorf("%s: stderr %q, want %q", tc.name, got, want)
		}
	}
}

// TestSignalWatch_SecondSignalExitsAtOnce: a second Ctrl-C does not wait.
func TestSignalWatch_SecondSignalExitsAtOnce(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	_, cancel := context.WithCancelCause(context.Background())
	exited := make(chan int, 1)
	w := &signalWatch{sigs: sigs, cancel: cancel, errOut: &bytes.Buffer{}, grace: time.Hour,
		after: func(time.Duration) <-chan time.Time { return nil }, exit: func(c int) { exited <- c }}
	go w.run()
	sigs <- os.Interrupt
	sigs <- os.Interrupt
	if c := <-exited; c != 130 {
		t.Fatalf("exit code %d, want 130", c)
	}
}

// TestRunContext_InterruptedCommandSaysSo: a command that fails because
// its context was cancelled by a signal reports the signal and its code,
// not what the cancellation broke.
func TestRunContext_InterruptedCommandSaysSo(t *testing.T) {
	var out, errOut bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Demo: demoJSON(t), Getenv: func(string) string { return "" }, Now: time.Now, ColorMode: "auto"}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&interrupted{sig: syscall.SIGTERM})
	code := RunContext(ctx, f, []string{"list", "--attach", "unix:///nonexistent/rescoord.sock"})
	if code != 143 {
		t.Errorf("exit code %d, want 143", code)
	}
	if got := errOut.String(); got != "rescoord: interrupted by SIGTERM\n" {
		t.Errorf("stderr %q", got)
	}
}

// TestMain_SignalEndsABlockedRead runs rescoord as a real process on a FIFO
// whose writer never writes, then signals it: it must end within a couple
// of seconds with 130 or 143 and one line on stderr.
func TestMain_SignalEndsABlockedRead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		args []string
	}{
		{syscall.SIGINT, 130, []string{"validate"}},
		{syscall.SIGTERM, 143, []string{"leaks", "-o", "sarif"}},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "snap.json")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("no FIFOs here: %v", err)
			}
			var stderr bytes.Buffer
			c := exec.Command(os.Args[0], append(tc.args, fifo)...)
			c.Env = append(os.Environ(), runMainEnv+"=1", "RESCOORD_REPO="+root)
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer c.Process.Kill()
			// Opening the write end without blocking succeeds once the
			// process has the FIFO open (or is opening it) for reading: from
			// then on it waits for data that never comes.
			w := openWriterWhenReaderIsThere(t, fifo, c)
			defer w.Close()
			if _, err := w.WriteString(`{"format": "rescoord/v1", `); err != nil {
				t.Fatal(err)
			}
			// Signal handlers are installed before any input is opened.
			if err := c.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
					t.Fatalf("exit: %v, want code %d; stderr:\n%s", err, tc.code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10s after %v; stderr:\n%s", tc.sig, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "rescoord: interrupted by "+strings.ToUpper("SIG"+sigSuffix(tc.sig))) {
				t.Errorf("stderr %q, want one line saying it was interrupted", stderr.String())
			}
		})
	}
}

func sigSuffix(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "INT"
	}
	return "TERM"
}

// openWriterWhenReaderIsThere opens fifo for writing: the open returns
// once the process has opened it for reading.
func openWriterWhenReaderIsThere(t *testing.T, fifo string, c *exec.Cmd) *os.File {
	t.Helper()
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			opened <- w
		}
	}()
	select {
	case w := <-opened:
		return w
	case <-time.After(60 * time.Second):
		c.Process.Kill()
		t.Fatalf("the process never opened %s for reading", fifo)
		return nil
	}
}
