// Package discovery keeps the small files through which rescoord finds the
// processes that serve their registry: one JSON file per serving process in
// a per-user runtime directory, written when serving starts and removed when
// it stops, like the hsperfdata files that jps reads.
package discovery

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Entry describes one serving process.
type Entry struct {
	PID     int    `json:"pid"`
	Process string `json:"process"`
	// Address is where the process serves: unix:///path.sock or http://host:port.
	Address   string    `json:"address"`
	StartedAt time.Time `json:"started_at"`
	// Token says whether the endpoint requires a bearer token.
	Token bool `json:"token,omitempty"`
}

// Listed is an entry found on disk.
type Listed struct {
	Entry
	// Path is the discovery file.
	Path string `json:"path"`
	// Stale is true when the process is gone: the file outlived it.
	Stale bool `json:"stale"`
}

// Dir is the per-user runtime directory: $XDG_RUNTIME_DIR/rescoord when
// XDG_RUNTIME_DIR is set, else rescoord-UID in the temporary directory.
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "rescoord")
	}
	return filepath.Join(os.TempDir(), "rescoord-"+strconv.Itoa(os.Getuid()))
}

// EnsureDir creates dir with mode 0700 and checks that no one else can use it.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("runtime directory %s is open to other users: %w", dir, err)
		}
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("runtime directory %s belongs to another user", dir)
	}
	return nil
}

// Write writes e's discovery file in dir (mode 0600) and returns its path.
func Write(dir string, e Entry) (string, error) {
	if err := EnsureDir(dir); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, strconv.Itoa(e.PID)+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// List reads every discovery file in dir, marking those whose process is
// gone as stale, ordered by process name then pid. A missing dir is empty.
func List(dir string, alive func(pid int) bool) ([]Listed, error) {
	if alive == nil {
		alive = ProcessAlive
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	out := []Listed{}
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed while we looked
			}
			return nil, err
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil || e.PID <= 0 || e.Address == "" {
			// An unreadable file is reported as stale so --prune removes it.
			e = Entry{Process: strings.TrimSuffix(filepath.Base(p), ".json")}
			out = append(out, Listed{Entry: e, Path: p, Stale: true})
			continue
		}
		out = append(out, Listed{Entry: e, Path: p, Stale: !alive(e.PID)})
	}
	slices.SortFunc(out, func(a, b Listed) int {
		return cmp.Or(cmp.Compare(a.Process, b.Process), cmp.Compare(a.PID, b.PID))
	})
	return out, nil
}

// Prune removes the stale files among listed and returns those it removed.
func Prune(listed []Listed) ([]Listed, error) {
	var removed []Listed
	var errs []error
	for _, l := range listed {
		if !l.Stale {
			continue
		}
		if err := os.Remove(l.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, l)
	}
	return removed, errors.Join(errs...)
}

// ProcessAlive reports whether a process with pid exists (signal 0).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Find returns the live entries matching target: "pid:N" or a process name.
func Find(listed []Listed, target string) []Listed {
	var out []Listed
	pid := -1
	if s, ok := strings.CutPrefix(target, "pid:"); ok {
		if n, err := strconv.Atoi(s); err == nil {
			pid = n
		}
	}
	for _, l := range listed {
		if l.Stale {
			continue
		}
		if pid >= 0 && l.PID == pid || pid < 0 && l.Process == target {
			out = append(out, l)
		}
	}
	return out
}
