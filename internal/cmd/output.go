package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/atomicfile"
	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/render"
)

// formatsOf is the table of formats of a command, nil for one without -o.
func formatsOf(c *cobra.Command) output.Formats {
	switch c.Name() {
	case "list":
		return listFormats
	case "stats":
		return statsFormats
	case "validate":
		return validateFormats
	case "cleanup":
		return cleanupFormats
	case "graph":
		return graphFormats
	case "leaks":
		return leaksFormats
	}
	return nil
}

// parseTargets checks a command's -o values against its table of formats.
func parseTargets(formats output.Formats, values []string) ([]output.Target, error) {
	targets, err := formats.Parse(values)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return targets, nil
}

// printTo prints every -o target: standard output through the command's
// streams, styled on a terminal; a file written atomically (writeFile), in
// plain text. print gets the writer, the styles and the format; human
// formats wrap the writer in render.SafeWriter.
func printTo(f *Factory, targets []output.Target, print func(w io.Writer, st *render.Styles, format string) error) error {
	for _, t := range targets {
		if t.Path == "" {
			if err := print(f.IO.Out, f.Styles(), t.Format); err != nil {
				return err
			}
			continue
		}
		plain := render.NewStyles(io.Discard, false)
		if err := writeFile(t.Path, 0o644, func(w io.Writer) error { return print(w, plain, t.Format) }); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing %s to %s: %w", t.Format, render.Escape(t.Path), err)}
		}
	}
	return nil
}

// appendValue is a flag that appends each value it is given, as
// StringArray does: for an alias of -o.
type appendValue struct{ to *[]string }

func (a *appendValue) String() string     { return "" }
func (a *appendValue) Set(v string) error { *a.to = append(*a.to, v); return nil }
func (a *appendValue) Type() string       { return "FORMAT" }

// writeFile writes an output file: atomically (internal/atomicfile), a new
// file with mode perm less the umask, refusing a symbolic link; or, for a
// stream, straight to it, appending, since a stream cannot be replaced. A
// stream is a FIFO or character device named as such, or a link under /dev/
// or /proc/ — system-made, such as /dev/stdout or a shell's process
// substitution /dev/fd/63 — to anything but a directory. A FIFO with no
// reader is an error, not a wait. Errors about path do not repeat it.
func writeFile(path string, perm fs.FileMode, print func(io.Writer) error) error {
	stream := false
	if lfi, err := os.Lstat(path); err == nil {
		switch m := lfi.Mode(); {
		case m&(fs.ModeNamedPipe|fs.ModeCharDevice) != 0:
			stream = true
		case m&fs.ModeSymlink != 0 && systemPath(path):
			fi, err := os.Stat(path)
			stream = err == nil && !fi.IsDir()
		}
	}
	if !stream {
		return unwrapPath(atomicfile.Write(path, perm, print), path)
	}
	flag := os.O_WRONLY | os.O_APPEND
	if fi, err := os.Stat(path); err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
		flag |= syscall.O_NONBLOCK // fail with ENXIO when nobody reads
	}
	file, err := os.OpenFile(path, flag, 0)
	if errors.Is(err, syscall.ENXIO) {
		return errors.New("a FIFO that nobody reads")
	}
	if err != nil {
		return unwrapPath(err, path)
	}
	w := bufio.NewWriterSize(file, 64<<10)
	err = print(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return unwrapPath(err, path)
}

// systemPath reports whether path is under /dev/ or /proc/, whose links
// the system makes (no other user can plant one there).
func systemPath(path string) bool {
	abs, err := filepath.Abs(path)
	return err == nil && (strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/"))
}

// unwrapPath drops the *fs.PathError around err when it names path, which
// the caller's message already names.
func unwrapPath(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return pe.Err
	}
	return err
}
