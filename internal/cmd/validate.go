package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ValidateOptions are the flags of `rescoord validate`.
type ValidateOptions struct {
	Input   InputOptions
	Args    []string
	Outputs []string
}

// NewCmdValidate builds `rescoord validate`. A non-nil runF replaces the run, for tests.
func NewCmdValidate(f *Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{}
	c := &cobra.Command{
		Use:   "validate [SNAPSHOT]",
		Short: "Check a snapshot against format v1 and list every error with its place",
		Long: `validate checks a snapshot strictly: syntax, required fields, types, states,
timestamps, duplicate ids and component parent cycles. A valid snapshot
prints a one-line summary and exits 0; an invalid one lists every error
(file:line:column: path: message) and exits 2.

Conditions that are findings rather than errors — a resource whose owner is
not in the snapshot, a component whose parent is gone — are valid input:
'rescoord leaks' reports them.`,
		Example: `  rescoord validate snapshot.json
  rescoord validate - < snapshot.json
  rescoord validate snapshot.json -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: runner(f, opts, &opts.Args, runF, runValidate),
	}
	opts.Input.addFlags(c)
	addOutputFlag(c, printer.Validate, &opts.Outputs)
	return c
}

func runValidate(ctx context.Context, f *Factory, opts *ValidateOptions) error {
	targets, err := parseTargets(printer.Validate, opts.Outputs)
	if err != nil {
		return err
	}
	opts.Input.dropMetadata = true // never shown
	in, err := opts.Input.loadOne(ctx, f, opts.Args)
	// name is the input as given, in JSON ("-" for standard input);
	// label is how text names it ("stdin").
	name := "-"
	switch {
	case len(opts.Args) == 1:
		name = opts.Args[0]
	case opts.Input.Demo:
		name = "demo"
	case opts.Input.Attach != "":
		name = attach.Redact(opts.Input.Attach)
	}
	label := name
	if name == "-" {
		label = stdinLabel
	}
	rep := printer.ValidateReport{Input: name, Errors: []printer.ValidateError{}}
	var list *snapshot.Errors
	switch {
	case errors.As(err, &list):
		for _, e := range list.List {
			rep.Errors = append(rep.Errors, printer.ValidateError{Path: e.Path, Line: e.Line, Column: e.Column, Message: e.Msg})
		}
		rep.ErrorsTotal = list.Total()
	case err != nil:
		return err
	default:
		ix, err := index(in)
		if err != nil {
			return err
		}
		rep.Valid = true
		rep.Components, rep.Resources, rep.Live, rep.Cleanups = len(in.Snap.Components), len(in.Snap.Resources), ix.LiveCount(), len(in.Snap.Cleanups)
	}
	err = printTo(f, printer.Validate, targets, printer.Options{}, &printer.ValidateData{Report: rep, Label: label, Errors: list})
	if err != nil {
		return err
	}
	if !rep.Valid {
		if stdout, ok := output.Stdout(targets); !ok || stdout.Format == "text" {
			fmt.Fprintf(f.HumanErr(), "rescoord: %s is not a valid snapshot: %d %s\n", render.Escape(label), rep.ErrorsTotal, human.Plural(rep.ErrorsTotal, "error", "errors"))
		}
		return errSilent
	}
	return nil
}
