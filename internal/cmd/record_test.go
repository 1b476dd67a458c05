package cmd

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"
)

// recordCLI is a CLI attached to a fake process serving the demo, whose
// waits between snapshots return at once.
func recordCLI(t *testing.T) (*cli, string) {
	t.Helper()
	target := serve(t, "unix", &fakeProcess{t: t, body: demoJSON(t)})
	c := attachCLI(t)
	c.sleep = func(context.Context, time.Duration) error { return nil }
	return c, target
}

func TestRecord_PrivateModes(t *testing.T) {
	c, target := recordCLI(t)
	out := filepath.Join(t.TempDir(), "a", "snaps")
	if r := c.run("record", "--attach", target, "--count", "2", "--out", out); r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if m := testfs.Mode(t, out); m.Perm() != 0o700 || !m.IsDir() {
		t.Errorf("--out created %v, want a 0700 directory", m)
	}
	names, _ := filepath.Glob(filepath.Join(out, "*"))
	hidden, _ := filepath.Glob(filepath.Join(out, ".*"))
	if len(names) != 2 || len(hidden) != 0 {
		t.Errorf("--out holds %q %q, want two snapshots and no temporary file", names, hidden)
	}
	for _, p := range names {
		if m := testfs.Mode(t, p); m.Perm() != 0o600 || !m.IsRegular() {
			t.Errorf("%s is %v, want a 0600 file", p, m)
		}
	}
	// An existing directory is used as it is.
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := c.run("record", "--attach", target, "--count", "1", "--out", shared); r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if m := testfs.Mode(t, shared); m.Perm() != 0o755 {
		t.Errorf("an existing --out was changed to %v", m.Perm())
	}
	if m := testfs.Mode(t, filepath.Join(shared, "snapshot-0001.json")); m.Perm() != 0o600 {
		t.Errorf("snapshot in an existing directory is %v, want 0600", m.Perm())
	}
	// One anybody can write to is used too, with a warning.
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	r := c.run("record", "--attach", target, "--count", "1", "--out", open)
	if r.Code != 0 || !strings.Contains(r.Stderr, "warning: --out "+open+" is writable by other users and not sticky") {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if err := os.Chmod(open, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if r := c.run("record", "--attach", target, "--count", "1", "--out", open, "--force"); r.Code != 0 || r.Stderr != "" {
		t.Errorf("sticky directory: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestRecord_RefusesAnOlderSeriesUnlessForced(t *testing.T) {
	c, target := recordCLI(t)
	out := t.TempDir()
	for _, name := range []string{"snapshot-0001.json", "snapshot-0002.json", "snapshot-0003.json", "notes.txt"} {
		testfs.WriteFile(t, filepath.Join(out, name), []byte("old run"), 0o600)
	}
	r := c.run("record", "--attach", target, "--count", "2", "--out", out)
	oneLine(t, r, "already holds a series (3 files, snapshot-0001.json…)")
	if b, _ := os.ReadFile(filepath.Join(out, "snapshot-0001.json")); string(b) != "old run" {
		t.Error("the refused run touched the old series")
	}
	if r := c.run("record", "--attach", target, "--count", "2", "--out", out, "--force"); r.Code != 0 {
		t.Fatalf("--force: exit %d: %s", r.Code, r.Stderr)
	}
	series, _ := filepath.Glob(filepath.Join(out, "snapshot-*.json"))
	if len(series) != 2 {
		t.Errorf("after --force the series is %q, want the 2 new snapshots only", series)
	}
	for _, p := range series {
		if b, _ := os.ReadFile(p); string(b) == "old run" {
			t.Errorf("%s still holds the old run", p)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
		t.Errorf("--force removed a file that is not part of the series: %v", err)
	}
}

func TestRecord_NeverWritesThroughAPlantedSymlink(t *testing.T) {
	c, target := recordCLI(t)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	testfs.WriteFile(t, victim, []byte("root's file"), 0o644)
	if os.Geteuid() == 0 {
		if err := os.Chown(victim, 65534, 65534); err != nil { // another user's file
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "shared")
	if err := os.Mkdir(out, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(out, "snapshot-0001.json")
	testfs.Symlink(t, victim, link)
	r := c.run("record", "--attach", target, "--count", "1", "--out", out)
	oneLine(t, r, "already holds a series")
	if r := c.run("record", "--attach", target, "--count", "1", "--out", out, "--force"); r.Code != 0 {
		t.Fatalf("--force: exit %d: %s", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(victim); string(b) != "root's file" {
		t.Errorf("written through the planted link: the victim holds %d bytes", len(b))
	}
	if m := testfs.Mode(t, link); !m.IsRegular() || m.Perm() != 0o600 {
		t.Errorf("the snapshot is %v, want a 0600 regular file in place of the link", m)
	}

	// --out itself a link (to a directory of someone else's) is refused.
	linkDir := filepath.Join(dir, "snaps")
	testfs.Symlink(t, t.TempDir(), linkDir)
	oneLine(t, c.run("record", "--attach", target, "--count", "1", "--out", linkDir), "is a symbolic link")
	notDir := filepath.Join(dir, "file")
	testfs.WriteFile(t, notDir, nil, 0o600)
	oneLine(t, c.run("record", "--attach", target, "--count", "1", "--out", notDir), "is not a directory")
}
