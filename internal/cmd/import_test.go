package cmd

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

const waitsDump = "../../internal/goroutines/testdata/waits.txt"

func TestImport_GoroutinesToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.json")
	r := runCLI(t, "import", "goroutines", waitsDump, "-o", out)
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if r.Stdout != out+"  5 goroutines, 5 components\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	if m := testfs.Mode(t, out); m.Perm() != 0o600 {
		t.Errorf("%s is %v, want 0600", out, m)
	}
	s, err := snapshot.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(waitsDump)
	if !s.TakenAt.Equal(fi.ModTime().UTC()) || s.Source.Process != "waits.txt" || s.Source.Producer != "rescoord import goroutines" {
		t.Errorf("taken_at %s, source %+v: want the file's time and name", s.TakenAt, s.Source)
	}
	// Every command reads it: the stalest goroutine is the 12-minute wait.
	r = runCLI(t, "leaks", "--max-age", "10m", out)
	if !strings.Contains(r.Stdout, `thread "net/http.(*conn).serve" (goroutine/8) has been live for 12m00s`) {
		t.Errorf("leaks --max-age:\n%s", r.Stdout)
	}
}

func TestImport_GoroutinesStdinToStdout(t *testing.T) {
	dump, err := os.ReadFile(waitsDump)
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.stdin = string(dump)
	r := c.run("import", "goroutines", "-")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	s, err := snapshot.Decode(strings.NewReader(r.Stdout), "-")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Resources) != 5 || s.Resources[3].Owner != "package/example.com/app/worker" || !s.Resources[3].Running {
		t.Errorf("resources = %+v", s.Resources)
	}
	// Standard input has no modification time: the dump is taken now.
	if !s.TakenAt.Equal(c.now) && !s.TakenAt.Equal(time.Date(2026, 11, 27, 12, 0, 10, 0, time.UTC)) {
		t.Errorf("taken_at %s, want the clock's", s.TakenAt)
	}
}

func TestImport_Refusals(t *testing.T) {
	c := newCLI(t)
	c.stdin = "goroutine 1 [running]:\n" + strings.Repeat("x", 200)
	oneLine(t, c.run("import", "goroutines", "-", "--max-input", "100"), "rescoord: -: input larger than the limit of 100 B (100 bytes): raise --max-input to read it")
	oneLine(t, runCLI(t, "import", "goroutines", waitsDump, "--max-input", "100"), "input larger than the limit of 100 B")
	oneLine(t, runCLI(t, "import", "heap", waitsDump), `unknown import kind "heap": want goroutines`)
	oneLine(t, runCLI(t, "import", "goroutines", "/nonexistent/dump.txt"), "cannot read /nonexistent/dump.txt")
	oneLine(t, runCLI(t, "import", "goroutines", "../../go.mod"), "../../go.mod: no goroutine found")
	c.stdin = "goroutine 1 [a]:\n\ngoroutine 1 [b]:\n"
	oneLine(t, c.run("import", "goroutines", "-"), "rescoord: -: line 3: goroutine 1 appears twice")
	// A profile is gzip: its decompressed size is bounded too.
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	c.stdin = zipped.String()
	oneLine(t, c.run("import", "goroutines", "-", "--max-input", "64KB"), "rescoord: -: decompressed input larger than the limit of 62.5 KiB")
	c.stdin = zipped.String()[:20]
	oneLine(t, c.run("import", "goroutines", "-"), "rescoord: -: gzip: unexpected EOF")
	// Nothing is left behind by a failed import.
	dir := t.TempDir()
	oneLine(t, runCLI(t, "import", "goroutines", "../../go.mod", "-o", filepath.Join(dir, "x.json")), "no goroutine found")
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("a failed import left %v", names)
	}
}
