//go:build unix

package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fifo makes a FIFO; the cleanup opens it for writing and closes it, so
// that an open left blocked by a test returns.
func fifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() {
		if w, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	return path
}

// TestLoad_FIFOWithoutAWriterEndsWithTheContext: opening a FIFO blocks
// until a writer comes; the context's end returns at once.
func TestLoad_FIFOWithoutAWriterEndsWithTheContext(t *testing.T) {
	path := fifo(t)
	wantCanceledAtOnce(t, loading(path))
}

// TestLoad_FIFOWithASilentWriterEndsWithTheContext: a writer that never
// writes leaves the read blocked; the context's end returns at once.
func TestLoad_FIFOWithASilentWriterEndsWithTheContext(t *testing.T) {
	path := fifo(t)
	w, err := os.OpenFile(path, os.O_RDWR, 0) // a writer, at once
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write([]byte("{")); err != nil {
		t.Fatal(err)
	}
	wantCanceledAtOnce(t, loading(path))
}

// TestLoad_FIFOWithAWriter: a FIFO still reads as usual.
func TestLoad_FIFOWithAWriter(t *testing.T) {
	path := fifo(t)
	done := loadAsync(context.Background(), path)
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(minimal))
	w.Close()
	if err := waitErr(t, done); err != nil {
		t.Fatal(err)
	}
}

// TestDecode_BlockingPipeEndsWithTheContext: standard input that Go
// cannot poll (a blocking pipe, a terminal) with a silent writer: the
// context's end returns at once.
func TestDecode_BlockingPipeEndsWithTheContext(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Skipf("pipe: %v", err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "in"), os.NewFile(uintptr(fds[1]), "out")
	defer w.Close()
	if err := r.SetReadDeadline(time.Time{}); err == nil {
		t.Skip("the pipe is polled: TestLoad_FIFOWithASilentWriterEndsWithTheContext covers it")
	}
	w.Write([]byte("{"))
	wantCanceledAtOnce(t, func(ctx context.Context) error {
		_, err := DecodeContext(ctx, r, "-", Options{})
		return err
	})
	// The read left behind ends with the writer; the data read so far is
	// the caller's no more.
	w.Close()
	r.Close()
}

// TestDecode_BlockingPipeReads: and it reads as usual.
func TestDecode_BlockingPipeReads(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Skipf("pipe: %v", err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "in"), os.NewFile(uintptr(fds[1]), "out")
	defer r.Close()
	go func() {
		w.Write([]byte(minimal))
		w.Close()
	}()
	if _, err := DecodeContext(context.Background(), r, "-", Options{}); err != nil {
		t.Fatal(err)
	}
}
