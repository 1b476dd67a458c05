// Package discovery keeps the small files through which rescoord finds the
// processes that serve their registry: one JSON file per serving process in
// a per-user runtime directory, written when serving starts and removed when
// it stops, like the hsperfdata files that jps reads.
//
// The directory and its files are trusted only when they are the caller's
// own: a real directory (never a symbolic link) owned by the caller and not
// writable by anyone else, holding regular files of the same kind. Each
// check is made on the opened file (fstat after an O_NOFOLLOW open), so a
// file swapped after it was looked at is caught (docs/attach.md, Discovery).
package discovery

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	// Refused says why the file is not trusted (a symbolic link, another
	// owner, writable by others, an address off this machine); empty when
	// it is. The entry of a refused file is never attached to: its PID is
	// taken from the file name when the content cannot be read.
	Refused string `json:"refused,omitempty"`
}

// maxFileSize bounds a discovery file: the server writes a few hundred bytes.
const maxFileSize = 64 << 10

// Dir is the per-user runtime directory: $XDG_RUNTIME_DIR/rescoord when
// XDG_RUNTIME_DIR is set, else rescoord-UID in the temporary directory.
//
// Another user can create rescoord-UID in a shared /tmp before us; EnsureDir
// and List then refuse it (it is not ours), so squatting denies the service
// but never redirects it: set XDG_RUNTIME_DIR to a directory of your own to
// get around it (docs/attach.md, Discovery).
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "rescoord")
	}
	return filepath.Join(os.TempDir(), "rescoord-"+strconv.Itoa(os.Getuid()))
}

// RefusedError is a runtime directory or discovery file that is not trusted.
type RefusedError struct {
	// What is "discovery directory", "runtime directory" or "discovery file".
	What string
	Path string
	// Reason says why, e.g. "it is a symbolic link".
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing %s %s: %s", e.What, e.Path, e.Reason)
}

// checkOwn refuses what is not ours: the caller's effective uid must own st,
// and no one else may write to it. what names it in the error.
func checkOwn(what, path string, st *unix.Stat_t) error {
	uid := os.Geteuid()
	if int(st.Uid) != uid {
		return &RefusedError{what, path, fmt.Sprintf("it belongs to uid %d, not to you (uid %d)", st.Uid, uid)}
	}
	if perm := st.Mode & 0o7777; perm&0o022 != 0 {
		return &RefusedError{what, path, fmt.Sprintf("it is writable by other users (mode %04o)", perm)}
	}
	return nil
}

// openDir opens dir without following a symbolic link and checks that it
// is a directory of ours, on the opened descriptor.
func openDir(what, dir string) (*os.File, *unix.Stat_t, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ELOOP):
			return nil, nil, &RefusedError{what, dir, "it is a symbolic link"}
		case errors.Is(err, unix.ENOTDIR):
			if st, lerr := os.Lstat(dir); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
				return nil, nil, &RefusedError{what, dir, "it is a symbolic link"}
			}
			return nil, nil, &RefusedError{what, dir, "it is not a directory"}
		}
		return nil, nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nil, &os.PathError{Op: "fstat", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), &st, nil
}

// EnsureDir makes dir the server's runtime directory: it creates it with
// mode 0700 when missing, and otherwise accepts it only when it is a real
// directory (not a symbolic link) owned by the caller and not writable by
// other users. It never changes the mode of a directory it did not create,
// and checks the owner before anything else.
func EnsureDir(dir string) error {
	f, err := ensureDir(dir)
	if err != nil {
		return err
	}
	return f.Close()
}

func ensureDir(dir string) (*os.File, error) {
	const what = "runtime directory"
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	created := true
	if err := os.Mkdir(dir, 0o700); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		created = false
	}
	f, st, err := openDir(what, dir)
	if err != nil {
		return nil, err
	}
	uid := os.Geteuid()
	if int(st.Uid) != uid {
		f.Close()
		return nil, &RefusedError{what, dir, fmt.Sprintf("it belongs to uid %d, not to you (uid %d); set XDG_RUNTIME_DIR to a directory of your own, or serve with registry.WithRuntimeDir", st.Uid, uid)}
	}
	perm := st.Mode & 0o7777
	switch {
	case created && perm != 0o700:
		// Ours, just made: the umask may have taken bits away.
		if err := unix.Fchmod(int(f.Fd()), 0o700); err != nil {
			f.Close()
			return nil, &os.PathError{Op: "chmod", Path: dir, Err: err}
		}
	case !created && perm&0o022 != 0:
		f.Close()
		return nil, &RefusedError{what, dir, fmt.Sprintf("it is writable by other users (mode %04o) and rescoord did not create it; make it 0700 or choose another directory", perm)}
	}
	return f, nil
}

// Write writes e's discovery file PID.json in dir (mode 0600) and returns
// its path. The file is written whole to a new temporary file in dir
// (O_EXCL, never through a symbolic link), synced, then renamed into place,
// all relative to the checked directory.
func Write(dir string, e Entry) (string, error) {
	d, err := ensureDir(dir)
	if err != nil {
		return "", err
	}
	defer d.Close()
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return "", err
	}
	b = append(b, '\n')
	name := strconv.Itoa(e.PID) + ".json"
	path := filepath.Join(dir, name)
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := "." + name + "." + hex.EncodeToString(rnd[:]) + ".tmp"
	dfd := int(d.Fd())
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", &os.PathError{Op: "create", Path: filepath.Join(dir, tmp), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, tmp))
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
		if err != nil {
			err = &os.LinkError{Op: "rename", Old: filepath.Join(dir, tmp), New: path, Err: err}
		}
	}
	if err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return "", err
	}
	d.Sync() // the rename itself; a runtime directory is usually tmpfs
	return path, nil
}

// List reads every discovery file in dir, marking those whose process is
// gone as stale and those it does not trust as refused, ordered by process
// name then pid. A missing dir is empty; a dir that is a symbolic link, not
// the caller's, or writable by others is a *RefusedError.
func List(dir string, alive func(pid int) bool) ([]Listed, error) {
	if alive == nil {
		alive = ProcessAlive
	}
	d, st, err := openDir("discovery directory", dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []Listed{}, nil
		}
		return nil, err
	}
	defer d.Close()
	if err := checkOwn("discovery directory", dir, st); err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := []Listed{}
	for _, name := range names {
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		l, ok := readEntry(d, dir, name)
		if !ok {
			continue // removed while we looked
		}
		if !l.Stale && l.Refused == "" {
			l.Stale = !alive(l.PID)
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Listed) int {
		return cmp.Or(cmp.Compare(a.Process, b.Process), cmp.Compare(a.PID, b.PID), cmp.Compare(a.Path, b.Path))
	})
	return out, nil
}

// readEntry reads one discovery file relative to the open directory d. ok
// is false when the file is gone.
func readEntry(d *os.File, dir, name string) (l Listed, ok bool) {
	path := filepath.Join(dir, name)
	stem := strings.TrimSuffix(name, ".json")
	l = Listed{Path: path}
	if pid, err := strconv.Atoi(stem); err == nil && pid > 0 {
		l.PID = pid
	}
	refuse := func(err error) (Listed, bool) {
		var re *RefusedError
		if errors.As(err, &re) {
			l.Refused = re.Reason
		} else {
			l.Refused = err.Error()
		}
		return l, true
	}
	// O_NONBLOCK: a FIFO planted here must not block the open.
	fd, err := unix.Openat(int(d.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return l, false
		case errors.Is(err, unix.ELOOP):
			return refuse(&RefusedError{"discovery file", path, "it is a symbolic link"})
		}
		return refuse(&os.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return refuse(&os.PathError{Op: "fstat", Path: path, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return refuse(&RefusedError{"discovery file", path, "it is not a regular file"})
	}
	ownErr := checkOwn("discovery file", path, &st)
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	var e Entry
	if err != nil || len(b) > maxFileSize || json.Unmarshal(b, &e) != nil || e.PID <= 0 || e.Address == "" {
		if ownErr != nil {
			return refuse(ownErr)
		}
		// An unreadable file is reported as stale so --prune removes it.
		l.Process, l.PID, l.Stale = stem, 0, true
		return l, true
	}
	e.Address = Redact(e.Address) // a token has no business here: never shown
	l.Entry = e
	if ownErr != nil {
		return refuse(ownErr)
	}
	if err := CheckAddress(e.Address); err != nil {
		return refuse(err)
	}
	return l, true
}

// CheckAddress accepts the addresses a discovery file may hold: a unix://
// socket path, or http:// to a loopback address (127.0.0.0/8, ::1) or
// localhost. Anything else could send a token or a cleanup off this machine.
func CheckAddress(addr string) error {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok && p != "" {
		return nil
	}
	u, err := url.Parse(addr)
	if err == nil && u.Scheme == "http" && u.Host != "" && IsLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("its address %q is not on this machine (a discovery file may name a unix:// socket or http:// to 127.0.0.0/8, ::1 or localhost)", Redact(addr)) // %q escapes every control character
}

// IsLoopbackHost reports whether host is localhost or a loopback IP literal.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact returns addr with any user information (user:TOKEN@) removed, so
// that a token written into a URL is never shown.
func Redact(addr string) string {
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		return addr
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return addr
	}
	return scheme + "://" + rest[at+1:]
}

// Prune removes the stale files among listed and returns those it removed.
// Refused files are left alone.
func Prune(listed []Listed) ([]Listed, error) {
	var removed []Listed
	var errs []error
	for _, l := range listed {
		if !l.Stale || l.Refused != "" {
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

// Find returns the entries matching target, "pid:N" or a process name: the
// live ones, and the refused ones that may be it (same pid or name, or a
// name that could not be read) so that the caller refuses rather than
// guesses.
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
		switch {
		case pid >= 0 && l.PID == pid,
			pid < 0 && l.Process == target,
			pid < 0 && l.Refused != "" && l.Process == "":
			out = append(out, l)
		}
	}
	return out
}
