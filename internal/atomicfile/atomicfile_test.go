package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestWrite_ModeOfNewAndReplacedFiles(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o027))
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	perm := func() fs.FileMode {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if err := Write(path, 0o644, writeString("one")); err != nil {
		t.Fatal(err)
	}
	if perm() != 0o640 {
		t.Errorf("new file: mode %v, want 0644 less umask 027: 0640", perm())
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, 0o644, writeString("two")); err != nil {
		t.Fatal(err)
	}
	if got := testfs.Read(t, path); got != "two" {
		t.Errorf("content %q, want two", got)
	}
	if perm() != 0o600 {
		t.Errorf("replaced file: mode %v, want its own 0600 kept", perm())
	}
	if got := testfs.Names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q, want only out.json", got)
	}
}

func TestWrite_RelativePathInWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := Write("r.txt", 0o644, writeString("x")); err != nil {
		t.Fatal(err)
	}
	if got := testfs.Read(t, filepath.Join(dir, "r.txt")); got != "x" {
		t.Errorf("content %q", got)
	}
}

func TestWrite_NeverWritesThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	testfs.WriteFile(t, victim, []byte("precious"), 0o644)
	for _, target := range []string{victim, filepath.Join(dir, "dangling")} {
		path := filepath.Join(dir, "out.json")
		os.Remove(path)
		testfs.Symlink(t, target, path)
		err := Write(path, 0o600, writeString("attacker-controlled"))
		if !errors.Is(err, ErrSymlink) {
			t.Errorf("link to %s: err %v, want ErrSymlink", target, err)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was not left alone: %v %v", fi, err)
		}
	}
	if got := testfs.Read(t, victim); got != "precious" {
		t.Errorf("written through the link: victim holds %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dangling")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a dangling link's target was created: %v", err)
	}
}

func TestWrite_RefusesNonRegularWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	if err := Write(fifo, 0o600, writeString("x")); !errors.Is(err, ErrNotRegular) {
		t.Errorf("FIFO: err %v, want ErrNotRegular", err)
	}
	if err := Write(dir, 0o600, writeString("x")); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: err %v, want ErrNotRegular", err)
	}
}

func TestWrite_FailedWriteKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.sarif")
	testfs.WriteFile(t, path, []byte("good old report"), 0o644)
	boom := errors.New("disk full")
	err := Write(path, 0o644, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 200<<10)); err != nil { // past the buffer: reaches the temp file
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the writer's", err)
	}
	if got := testfs.Read(t, path); got != "good old report" {
		t.Errorf("old file now holds %d bytes", len(got))
	}
	if got := testfs.Names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q: a temporary file was left behind", got)
	}
}

// mountTiny mounts a tmpfs of a few KiB on a new directory, or skips.
func mountTiny(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs a tiny tmpfs, which only root can mount")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func TestWrite_FullDiskKeepsTheOldFile(t *testing.T) {
	dir := mountTiny(t)
	path := filepath.Join(dir, "snapshot-0001.json")
	testfs.WriteFile(t, path, []byte("good old snapshot"), 0o600)
	err := Write(path, 0o600, writeString(strings.Repeat("x", 1<<20)))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err %v, want ENOSPC", err)
	}
	if got := testfs.Read(t, path); got != "good old snapshot" {
		t.Errorf("old file now holds %d bytes", len(got))
	}
	if got := testfs.Names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q: a temporary file was left behind", got)
	}
}

// TestWrite_KilledMidWrite runs a child that stops in the middle of a
// Write (the env var says where) and is killed there.
func TestWrite_KilledMidWrite(t *testing.T) {
	if path := os.Getenv("ATOMICFILE_CHILD_PATH"); path != "" {
		_ = Write(path, 0o644, func(w io.Writer) error {
			if _, err := w.Write(make([]byte, 200<<10)); err != nil {
				return err
			}
			os.Stdout.WriteString("writing\n")
			select {} // killed here
		})
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "leaks.sarif")
	testfs.WriteFile(t, path, []byte("good old report"), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWrite_KilledMidWrite$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_CHILD_PATH="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "writing\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := testfs.Read(t, path); got != "good old report" {
		t.Errorf("killed mid-write: the destination holds %d bytes", len(got))
	}
	for _, name := range testfs.Names(t, dir) {
		if name != "leaks.sarif" && !strings.HasPrefix(name, ".leaks.sarif.") {
			t.Errorf("unexpected file %q (leftovers must be hidden temporary files)", name)
		}
	}
}
