package discovery

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/internal/testfs"
)

func TestWriteListPrune(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rescoord")
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	live := Entry{PID: 100, Process: "mediaapp", Address: "unix:///run/a.sock", StartedAt: now}
	gone := Entry{PID: 200, Process: "mediaapp", Address: "http://127.0.0.1:6060", StartedAt: now}
	for _, e := range []Entry{live, gone} {
		path, err := Write(dir, e)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("discovery file mode %v, want 0600", st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("runtime dir mode %v, want 0700", st.Mode().Perm())
	}
	os.WriteFile(filepath.Join(dir, "999.json"), []byte("{not json"), 0o600)

	alive := func(pid int) bool { return pid == 100 }
	listed, err := List(dir, alive)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 {
		t.Fatalf("listed %d entries, want 3", len(listed))
	}
	stale := 0
	for _, l := range listed {
		if l.Stale {
			stale++
		}
	}
	if stale != 2 {
		t.Errorf("%d stale entries, want 2 (a gone process and an unreadable file)", stale)
	}
	if got := Find(listed, "mediaapp"); len(got) != 1 || got[0].PID != 100 {
		t.Errorf("Find by name = %+v, want only the live pid 100", got)
	}
	if got := Find(listed, "pid:200"); len(got) != 0 {
		t.Errorf("Find pid:200 = %+v, want nothing (stale)", got)
	}
	removed, err := Prune(listed)
	if err != nil || len(removed) != 2 {
		t.Fatalf("Prune removed %d (%v), want 2", len(removed), err)
	}
	listed, _ = List(dir, alive)
	if len(listed) != 1 || listed[0].PID != 100 {
		t.Errorf("after prune: %+v", listed)
	}
}

func TestDir(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}
	if got := Dir(func(k string) string { return env[k] }); got != "/run/user/1000/rescoord" {
		t.Errorf("Dir = %s", got)
	}
	if got := Dir(func(string) string { return "" }); filepath.Dir(got) != filepath.Clean(os.TempDir()) {
		t.Errorf("Dir without XDG_RUNTIME_DIR = %s", got)
	}
}

func TestProcessAlive(t *testing.T) {
	if !ProcessAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	if ProcessAlive(-1) || ProcessAlive(0) {
		t.Error("pid <= 0 is alive")
	}
}

// otherUID owns the files of "another user" in the tests that run as root.
const otherUID = 54321

// needRoot skips a test that must chown to another user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files owned by another uid (CI runs as root)")
	}
}

func wantRefused(t *testing.T, err error, path, reason string) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) || re.Path != path || !strings.Contains(re.Reason, reason) {
		t.Fatalf("error %v, want a refusal of %s because %q", err, path, reason)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("refusal %q is not one line", err)
	}
}

func TestEnsureDir_RefusesASymlinkWithoutFollowingIt(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "rescoord")
	testfs.Symlink(t, victim, link)
	wantRefused(t, EnsureDir(link), link, "symbolic link")
	_, err := Write(link, Entry{PID: 1, Process: "x", Address: "unix:///x.sock"})
	wantRefused(t, err, link, "symbolic link")
	if m := testfs.Mode(t, victim).Perm(); m != 0o755 {
		t.Errorf("the link's target was changed to %v", m)
	}
	if names, _ := os.ReadDir(victim); len(names) != 0 {
		t.Errorf("wrote %v through the link", names)
	}
}

func TestEnsureDir_NeverChmodsADirectoryItDidNotCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rescoord")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, EnsureDir(dir), dir, "writable by other users (mode 0777)")
	if m := testfs.Mode(t, dir).Perm(); m != 0o777 {
		t.Errorf("mode changed to %v", m)
	}
	// Ours and private to writes is accepted as it is.
	os.Chmod(dir, 0o750)
	if err := EnsureDir(dir); err != nil || testfs.Mode(t, dir).Perm() != 0o750 {
		t.Errorf("EnsureDir on a 0750 dir of ours: %v, mode %v", err, testfs.Mode(t, dir).Perm())
	}
}

func TestEnsureDir_ChecksTheOwnerBeforeAnyChmod(t *testing.T) {
	needRoot(t)
	for _, perm := range []os.FileMode{0o755, 0o777} {
		dir := filepath.Join(t.TempDir(), "rescoord")
		if err := os.Mkdir(dir, perm); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, perm)
		if err := os.Chown(dir, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, EnsureDir(dir), dir, "belongs to uid 54321, not to you (uid 0)")
		if m := testfs.Mode(t, dir).Perm(); m != perm {
			t.Errorf("another user's %v directory was changed to %v", perm, m)
		}
	}
}

func TestWrite_AtomicAndNeverThroughASymlink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rescoord")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	if m := testfs.Mode(t, dir).Perm(); m != 0o700 {
		t.Errorf("created with mode %v, want 0700", m)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	// Links planted where a writer might put its file or its temporary file.
	for _, name := range []string{"4242.json", "4242.json.tmp", ".4242.json.tmp"} {
		testfs.Symlink(t, victim, filepath.Join(dir, name))
	}
	path, err := Write(dir, Entry{PID: 4242, Process: "mediaapp", Address: "unix:///run/a.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("wrote through a symlink: the victim now holds %q", b)
	}
	if m := testfs.Mode(t, path); !m.IsRegular() || m.Perm() != 0o600 {
		t.Errorf("discovery file mode %v, want a regular 0600 file", m)
	}
	names, _ := filepath.Glob(filepath.Join(dir, ".4242.json.*.tmp"))
	if len(names) != 0 {
		t.Errorf("temporary files left: %v", names)
	}
}

// writeEntry writes a discovery file by hand, as an attacker would.
func writeEntry(t *testing.T, dir string, e Entry) string {
	t.Helper()
	b, _ := json.Marshal(e)
	path := filepath.Join(dir, strconv.Itoa(e.PID)+".json")
	testfs.WriteFile(t, path, b, 0o600)
	return path
}

func TestList_RefusesADirectoryThatIsNotOurs(t *testing.T) {
	t.Run("symlink", func(t *testing.T) {
		base := t.TempDir()
		real := filepath.Join(base, "real")
		os.Mkdir(real, 0o700)
		writeEntry(t, real, Entry{PID: os.Getpid(), Process: "mediaapp", Address: "unix:///x.sock"})
		link := filepath.Join(base, "rescoord")
		os.Symlink(real, link)
		_, err := List(link, nil)
		wantRefused(t, err, link, "symbolic link")
	})
	t.Run("world-writable", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "rescoord")
		os.Mkdir(dir, 0o700)
		os.Chmod(dir, os.ModeSticky|0o777)
		_, err := List(dir, nil)
		wantRefused(t, err, dir, "writable by other users (mode 1777)")
	})
	t.Run("another owner", func(t *testing.T) {
		needRoot(t)
		dir := filepath.Join(t.TempDir(), "rescoord")
		os.Mkdir(dir, 0o700)
		os.Chown(dir, otherUID, otherUID)
		_, err := List(dir, nil)
		wantRefused(t, err, dir, "belongs to uid 54321, not to you (uid 0)")
	})
	t.Run("missing is empty", func(t *testing.T) {
		if l, err := List(filepath.Join(t.TempDir(), "none"), nil); err != nil || len(l) != 0 {
			t.Errorf("List = %v, %v", l, err)
		}
	})
}

func TestList_RefusesFilesThatAreNotOurs(t *testing.T) {
	me := os.Getpid()
	tests := []struct {
		name   string
		make   func(t *testing.T, dir string) string
		reason string
	}{
		{"symlink", func(t *testing.T, dir string) string {
			elsewhere := writeEntry(t, t.TempDir(), Entry{PID: me, Process: "mediaapp", Address: "unix:///evil.sock"})
			path := filepath.Join(dir, strconv.Itoa(me)+".json")
			os.Symlink(elsewhere, path)
			return path
		}, "symbolic link"},
		{"world-writable", func(t *testing.T, dir string) string {
			path := writeEntry(t, dir, Entry{PID: me, Process: "mediaapp", Address: "unix:///evil.sock"})
			os.Chmod(path, 0o666)
			return path
		}, "writable by other users (mode 0666)"},
		{"fifo", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, strconv.Itoa(me)+".json")
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, "not a regular file"},
		{"not loopback", func(t *testing.T, dir string) string {
			return writeEntry(t, dir, Entry{PID: me, Process: "mediaapp", Address: "http://user:s3cret@10.1.2.3:6060"})
		}, `address "http://10.1.2.3:6060" is not on this machine`},
		{"another owner", func(t *testing.T, dir string) string {
			needRoot(t)
			path := writeEntry(t, dir, Entry{PID: me, Process: "mediaapp", Address: "unix:///evil.sock"})
			os.Chown(path, otherUID, otherUID)
			return path
		}, "belongs to uid 54321, not to you (uid 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "rescoord")
			if err := EnsureDir(dir); err != nil {
				t.Fatal(err)
			}
			path := tt.make(t, dir)
			listed, err := List(dir, func(int) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || listed[0].Path != path || !strings.Contains(listed[0].Refused, tt.reason) {
				t.Fatalf("listed %+v, want %s refused because %q", listed, path, tt.reason)
			}
			if strings.Contains(listed[0].Refused, "s3cret") {
				t.Errorf("the refusal shows the token: %q", listed[0].Refused)
			}
			for _, target := range []string{"mediaapp", "pid:" + strconv.Itoa(me)} {
				if got := Find(listed, target); len(got) != 1 || got[0].Refused == "" {
					t.Errorf("Find(%s) = %+v, want the refused entry (so that attaching refuses)", target, got)
				}
			}
			if removed, _ := Prune(listed); len(removed) != 0 {
				t.Errorf("Prune removed a refused file: %+v", removed)
			}
		})
	}
}

func TestCheckAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"unix:///run/user/1000/rescoord/1.sock": true,
		"http://127.0.0.1:6060":                 true,
		"http://127.3.4.5:6060/debug/rescoord":  true,
		"http://[::1]:6060":                     true,
		"http://localhost:6060":                 true,
		"http://LOCALHOST:6060":                 true,
		"http://10.0.0.1:6060":                  false,
		"http://0.0.0.0:6060":                   false,
		"http://[::]:6060":                      false,
		"http://example.com:6060":               false,
		"http://127.0.0.1.example.com:80":       false,
		"https://127.0.0.1:6060":                false,
		"unix://":                               false,
		"ftp://127.0.0.1":                       false,
	} {
		if err := CheckAddress(addr); (err == nil) != ok {
			t.Errorf("CheckAddress(%s) = %v, want ok %v", addr, err, ok)
		}
	}
}

func TestRedact(t *testing.T) {
	tabletest.Func(t, "Redact", Redact, map[string]string{
		"http://user:TOKEN@127.0.0.1:6060/debug": "http://127.0.0.1:6060/debug",
		"http://TOKEN@127.0.0.1:6060":            "http://127.0.0.1:6060",
		"http://127.0.0.1:6060/a@b":              "http://127.0.0.1:6060/a@b",
		"unix:///run/a.sock":                     "unix:///run/a.sock",
		"mediaapp":                               "mediaapp",
	})
}
