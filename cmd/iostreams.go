package cmd

import (
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// IOStreams are the streams a command reads and writes, injected so tests
// can pass buffers and say whether each one is a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY, OutTTY, ErrTTY bool
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
	// Attach fetches a snapshot from a live process; nil until attaching is supported.
	Attach func(target string) (*snapshot.Snapshot, error)

	// ColorMode is the --color flag: auto, always or never.
	ColorMode string
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
		},
		Demo:      demo,
		Getenv:    os.Getenv,
		Now:       time.Now,
		ColorMode: "auto",
	}
}

// Styles returns the styles for standard output.
func (f *Factory) Styles() *render.Styles {
	return render.NewStyles(f.IO.Out, render.ColorEnabled(f.ColorMode, f.IO.OutTTY, f.Getenv))
}

// ErrStyles returns the styles for standard error.
func (f *Factory) ErrStyles() *render.Styles {
	return render.NewStyles(f.IO.ErrOut, render.ColorEnabled(f.ColorMode, f.IO.ErrTTY, f.Getenv))
}
