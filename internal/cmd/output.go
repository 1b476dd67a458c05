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
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
)

// kindOf is the printer kind of a command, false for one without -o.
func kindOf(c *cobra.Command) (printer.Kind, bool) { return printer.KindNamed(c.Name()) }

// addOutputFlag registers -o/--output on c, repeatable, into values: its
// help text and its completion (the names and their help) come from the
// table of formats of kind.
func addOutputFlag(c *cobra.Command, kind printer.Kind, values *[]string) {
	fs := printer.Formats(kind)
	c.Flags().StringArrayVarP(values, "output", "o", nil, fs.Usage())
	_ = c.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		out := make([]cobra.Completion, len(fs))
		for i, f := range fs {
			out[i] = cobra.CompletionWithDesc(f.Name, f.Help)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// parseTargets checks a command's -o values against the table of formats
// of its printer kind.
func parseTargets(kind printer.Kind, values []string) ([]output.Target, error) {
	targets, err := printer.Formats(kind).Parse(values)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return targets, nil
}

// printTo prints d through internal/printer to every -o target: standard
// output through the command's streams, styled on a terminal; a file
// written atomically (writeFile), in plain text.
func printTo(f *Factory, kind printer.Kind, targets []output.Target, opts printer.Options, d printer.Data) error {
	for _, t := range targets {
		o := opts
		if o.Styles = f.Styles(); t.Path != "" {
			o.Styles = render.NewStyles(io.Discard, false) // a file is plain
		}
		p, err := printer.New(kind, t.Format, o)
		if err != nil {
			return usageError("%v", err)
		}
		if t.Path == "" {
			if err := p.Print(f.IO.Out, d); err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("writing %s: %w", kind.Describe(t.Format), err)}
			}
			continue
		}
		if err := writeFile(t.Path, 0o644, func(w io.Writer) error { return p.Print(w, d) }); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing %s to %s: %w", kind.Describe(t.Format), render.Escape(t.Path), err)}
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
