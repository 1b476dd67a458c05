package cmd

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/rescoord/rescoord/internal/render"
)

// IOStreams are the streams a command reads and writes, injected so tests
// can pass buffers and say whether each one is a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY, OutTTY, ErrTTY bool

	// OutWidth returns the width of the terminal standard output is, or 0;
	// nil when there is no terminal to ask (tests set COLUMNS instead).
	OutWidth func() int
}

// Factory carries what commands need from the outside world.
type Factory struct {
	IO *IOStreams
	// Demo is the snapshot built into the binary (--demo).
	Demo []byte
	// Getenv reads the environment (NO_COLOR, RESCOORD_TOKEN, ...).
	Getenv func(string) string
	// Now is the wall clock, for what is relative to the present.
	Now func() time.Time
	// Sleep waits d or until ctx is done (retries of --attach, the interval
	// of record and watch); nil waits for real. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error

	// ColorMode is the --color flag: auto, always or never.
	ColorMode string
	// ConfigPath is the --config flag: the project config, "" for
	// .rescoord.yaml in the working directory when present.
	ConfigPath string
	config     *projectConfig
}

// NewFactory returns the factory for the real process: os streams and environment.
func NewFactory(demo []byte) *Factory {
	return &Factory{
		IO: &IOStreams{
			In:     os.Stdin,
			Out:    os.Stdout,
			ErrOut: os.Stderr,
			InTTY:  term.IsTerminal(int(os.Stdin.Fd())),
			OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
			ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
			OutWidth: func() int {
				w, _, err := term.GetSize(int(os.Stdout.Fd()))
				if err != nil {
					return 0
				}
				return w
			},
		},
		Demo:      demo,
		Getenv:    os.Getenv,
		Now:       time.Now,
		ColorMode: "auto",
	}
}

// sleep waits d or until ctx is done.
func (f *Factory) sleep(ctx context.Context, d time.Duration) error {
	if f.Sleep != nil {
		return f.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HumanOut is standard output for human-readable text (tables, trees,
// reports): render.SafeWriter over f.IO.Out, the last line of defence
// after the escaping of each value (docs/security.md). Machine formats
// (JSON, SARIF, JUnit) write to f.IO.Out with their own escaping.
func (f *Factory) HumanOut() io.Writer { return render.SafeWriter(f.IO.Out) }

// HumanErr is HumanOut for standard error.
func (f *Factory) HumanErr() io.Writer { return render.SafeWriter(f.IO.ErrOut) }

// Styles returns the styles for standard output, fitted to its width
// (Width).
func (f *Factory) Styles() *render.Styles {
	st := render.NewStyles(f.IO.Out, render.ColorEnabled(f.ColorMode, f.IO.OutTTY, f.Getenv))
	st.Width = f.Width()
	return st
}

// Width is the number of cells human tables on standard output fit
// (README, "Tables on a terminal"): $COLUMNS when it is a positive number, else the
// terminal's width when standard output is one, else 0 — piped output is
// not fitted, so it stays complete and stable.
func (f *Factory) Width() int {
	if v := f.Getenv("COLUMNS"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n
		}
	}
	if f.IO.OutTTY && f.IO.OutWidth != nil {
		return max(f.IO.OutWidth(), 0)
	}
	return 0
}

// ErrStyles returns the styles for standard error.
func (f *Factory) ErrStyles() *render.Styles {
	return render.NewStyles(f.IO.ErrOut, render.ColorEnabled(f.ColorMode, f.IO.ErrTTY, f.Getenv))
}
