package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrSymlink is returned, wrapped in an *fs.PathError, when the destination
// is a symbolic link: Write replaces regular files only and never writes
// through a link (a link planted in a shared directory could point anywhere).
var ErrSymlink = errors.New("is a symbolic link; refusing to write through it")

// ErrNotRegular is returned, wrapped in an *fs.PathError, when the
// destination exists and is neither a regular file nor a symbolic link.
var ErrNotRegular = errors.New("exists and is not a regular file")

// TempPattern is the os.CreateTemp pattern of the temporary file for a
// destination named base: hidden, so that globs such as snapshot-*.json
// never pick up a file left behind by a killed process.
func TempPattern(base string) string { return "." + base + ".*.tmp" }

// Write creates or replaces the regular file path with what write writes,
// with permission bits perm exactly (the umask does not apply). The data
// goes to a temporary file in the same directory, which is flushed, synced
// and renamed over path; the directory is then synced so the rename
// survives a crash. When write or any step fails, the temporary file is
// removed and path is left as it was. A process killed mid-write can leave
// only a hidden temporary file (see TempPattern), never a truncated path.
//
// path must not be a symbolic link (ErrSymlink) nor anything but a regular
// file (ErrNotRegular). A link created at path while Write runs is
// replaced by the rename, never followed.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	if fi, err := os.Lstat(path); err == nil {
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return &fs.PathError{Op: "write", Path: path, Err: ErrSymlink}
		case !fi.Mode().IsRegular():
			return &fs.PathError{Op: "write", Path: path, Err: ErrNotRegular}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, TempPattern(base))
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename into dir durable. File systems that cannot sync a
// directory are not an error: the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
