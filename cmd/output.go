package cmd

import (
	"fmt"
	"io"

	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/render"
)

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
