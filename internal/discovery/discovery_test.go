package discovery

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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
