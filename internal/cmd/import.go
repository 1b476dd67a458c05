package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/atomicfile"
	"github.com/rescoord/rescoord/internal/goroutines"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ImportOptions are the flags of `rescoord import`.
type ImportOptions struct {
	// Kind is what the input holds: goroutines.
	Kind string
	// Input is a path, or - for standard input.
	Input string
	// Out is where the snapshot goes; "" or - for standard output.
	Out string
	// MaxBytes bounds the input (--max-input).
	MaxBytes int64
	// Process names the program in the snapshot's source.
	Process string
	// Label groups the goroutines of a profile by this pprof label.
	Label string
}

// NewCmdImport builds `rescoord import`. A non-nil runF replaces the run, for tests.
func NewCmdImport(f *Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{}
	c := &cobra.Command{
		Use:   "import goroutines FILE|-",
		Short: "Make a snapshot of a program that embeds no registry: a Go goroutine dump",
		Long: `import reads what a program gives without instrumentation and writes a
rescoord/v1 snapshot of it, for every other command (docs/importers.md).

  import goroutines FILE   a text goroutine dump: /debug/pprof/goroutine?debug=2,
                           a panic, or the SIGQUIT output of a Go program; or
                           the protobuf profile /debug/pprof/goroutine serves

Each goroutine becomes a thread resource — its state, how long it has
waited, its stack innermost first with the go statement that started it —
under a component per package of the function whose go statement started
it; a profile has no states or waits, and groups the goroutines that carry
a pprof label (--label) by its value. taken_at is the file's modification
time (now for standard input).

The snapshot goes to standard output, or with -o to a file written 0600,
atomically. An input larger than --max-input is refused.

A live process can be read without a file: --attach proc:PID (Linux, from
/proc) and --attach pprof:URL (a Go program serving net/http/pprof).`,
		Example: `  curl -s 'http://127.0.0.1:6060/debug/pprof/goroutine?debug=2' | rescoord import goroutines - -o goroutines.json
  rescoord leaks goroutines.json
  rescoord import goroutines crash.txt -o crash.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Kind, opts.Input = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runImport(c.Context(), f, opts)
		},
	}
	c.Flags().StringVarP(&opts.Out, "output", "o", "", "write the snapshot to this file (0600, atomically) instead of standard output")
	opts.MaxBytes = snapshot.DefaultMaxBytes
	c.Flags().Var((*sizeFlag)(&opts.MaxBytes), "max-input", "refuse an input larger than this, such as 512MB or 4GiB")
	c.Flags().StringVar(&opts.Label, "label", "", "for a profile, group goroutines by this pprof label (default: the first label key in sorted order)")
	c.Flags().StringVar(&opts.Process, "process", "", "the program's name in the snapshot (default: the file's name)")
	return c
}

func runImport(ctx context.Context, f *Factory, opts *ImportOptions) error {
	if opts.Kind != "goroutines" {
		return usageError("unknown import kind %q: want goroutines", opts.Kind)
	}
	var in io.Reader
	name := opts.Input
	taken := f.Now()
	if opts.Input == "-" {
		in = f.IO.In
	} else {
		file, err := os.Open(opts.Input)
		if err != nil {
			return inputError(err)
		}
		defer file.Close()
		fi, err := file.Stat()
		if err != nil {
			return inputError(err)
		}
		// A FIFO or a device is read as a stream, taken now.
		if fi.Mode().IsRegular() {
			if fi.Size() > opts.MaxBytes {
				return inputError(&snapshot.TooLargeError{Name: name, Limit: opts.MaxBytes})
			}
			taken = fi.ModTime()
		}
		in = file
		if opts.Process == "" {
			opts.Process = filepath.Base(opts.Input)
		}
	}
	br := bufio.NewReader(&boundedReader{ctx: ctx, r: in, left: opts.MaxBytes, name: name, limit: opts.MaxBytes})
	gs, label, err := readGoroutines(br, name, opts)
	if err != nil {
		var large *snapshot.TooLargeError
		if errors.As(err, &large) || ctx.Err() != nil {
			return inputError(err)
		}
		return &exitError{code: ExitError, err: fmt.Errorf("%s: %w", name, err)}
	}
	s := goroutines.Build(gs, goroutines.BuildOptions{TakenAt: taken, Process: opts.Process,
		Producer: "rescoord import goroutines", Label: label})
	return writeImported(f, s, opts.Out, fmt.Sprintf("%d goroutines", len(gs)))
}

// readGoroutines reads a text dump, or a goroutine profile in pprof's
// protobuf form (gzip-compressed, as /debug/pprof/goroutine serves it),
// and the label to group by.
func readGoroutines(br *bufio.Reader, name string, opts *ImportOptions) ([]goroutines.Goroutine, string, error) {
	head, _ := br.Peek(2)
	if !goroutines.IsGzip(head) {
		gs, err := goroutines.Parse(br)
		return gs, opts.Label, err
	}
	b, err := io.ReadAll(br)
	if err != nil {
		return nil, "", err
	}
	p, err := goroutines.ParseProfile(b, "", opts.MaxBytes)
	var large *snapshot.TooLargeError
	if errors.As(err, &large) {
		large.Name = name
	}
	if err != nil {
		return nil, "", err
	}
	gs, err := goroutines.FromProfile(p, 10_000_000)
	if err != nil {
		return nil, "", err
	}
	if len(gs) == 0 {
		return nil, "", goroutines.ErrNoGoroutines
	}
	label := opts.Label
	if label == "" {
		label = goroutines.DefaultLabel(gs)
	}
	return gs, label, nil
}

// writeImported writes an imported snapshot to standard output, or
// atomically to path (0600: it holds paths and stacks) with a line saying so.
func writeImported(f *Factory, s *snapshot.Snapshot, path, what string) error {
	data := append(s.AppendJSON(nil), '\n')
	if path == "" || path == "-" {
		_, err := f.IO.Out.Write(data)
		return err
	}
	if err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing %s: %w", render.Escape(path), unwrapPath(err, path))}
	}
	fmt.Fprintf(f.IO.Out, "%s  %s, %s\n", render.Escape(path), what, human.Count(len(s.Components), "component", "components"))
	return nil
}

// boundedReader reads r up to limit bytes: one more is a TooLargeError.
// It stops when ctx ends.
type boundedReader struct {
	ctx         context.Context
	r           io.Reader
	left, limit int64
	name        string
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.left <= 0 {
		// One byte more than the limit tells a larger input from one of
		// exactly the limit.
		var one [1]byte
		if n, _ := io.ReadFull(b.r, one[:]); n > 0 {
			return 0, &snapshot.TooLargeError{Name: b.name, Limit: b.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
