package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// ErrSymlink is returned, wrapped in an *fs.PathError, when the destination
// is a symbolic link: Write replaces regular files only and never writes
// through a link (a link planted in a shared directory could point anywhere).
var ErrSymlink = errors.New("the destination is a symbolic link, which is never written through")

// ErrNotRegular is returned, wrapped in an *fs.PathError, when the
// destination exists and is neither a regular file nor a symbolic link.
var ErrNotRegular = errors.New("the destination exists and is not a regular file")

// Write creates or replaces the regular file path with what write writes.
// A new file gets permission bits perm less the umask, as os.WriteFile
// gives it; a replaced file keeps its permission bits (not its owner: the
// file is new, and the caller's). The data goes to
// a temporary file in the same directory, which is flushed, synced and
// renamed over path; the directory is then synced so the rename survives a
// crash. When write or any step fails, the temporary file is removed and
// path is left as it was. A process killed mid-write can leave only the
// hidden temporary file, .NAME.RANDOM.tmp (globs such as snapshot-*.json
// do not pick it up), never a truncated path.
//
// path must not be a symbolic link (ErrSymlink) nor anything but a regular
// file (ErrNotRegular). A link created at path while Write runs is
// replaced by the rename, never followed.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	var keep *fs.FileMode // the permission bits of the file replaced
	if fi, err := os.Lstat(path); err == nil {
		m := fi.Mode().Perm()
		keep = &m
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
	f, err := createTemp(dir, base, perm)
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
	if keep != nil {
		if err := f.Chmod(*keep); err != nil {
			return err
		}
	}
	// Errors about the temporary file are reported about path.
	onPath := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == tmp {
			return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
		}
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	if err := write(w); err != nil {
		return onPath(err)
	}
	if err := w.Flush(); err != nil {
		return onPath(err)
	}
	if err := f.Sync(); err != nil {
		return onPath(err)
	}
	if err := f.Close(); err != nil {
		return onPath(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// createTemp creates a new file .BASE.RANDOM.tmp in dir with perm (less
// the umask). O_EXCL never follows a link planted at the name.
func createTemp(dir, base string, perm fs.FileMode) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "create", Path: filepath.Join(dir, "."+base+".*.tmp"), Err: fs.ErrExist}
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
