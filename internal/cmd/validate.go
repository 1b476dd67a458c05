package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ValidateOptions are the flags of `rescoord validate`.
type ValidateOptions struct {
	Input   InputOptions
	Args    []string
	Outputs []string
}

// validateFormats are the formats of `rescoord validate`.
var validateFormats = output.Formats{
	{Name: "text", Help: "a summary line, or every error with its place"},
	{Name: "json", Help: `{"valid", "errors", …}`},
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
	validateFormats.AddFlag(c, &opts.Outputs)
	return c
}

type validateReport struct {
	Valid       bool            `json:"valid"`
	Input       string          `json:"input"`
	Errors      []validateError `json:"errors"`
	ErrorsTotal int             `json:"errors_total"`
	Components  int             `json:"components"`
	Resources   int             `json:"resources"`
	Live        int             `json:"live_resources"`
	Cleanups    int             `json:"cleanups"`
}

type validateError struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func runValidate(ctx context.Context, f *Factory, opts *ValidateOptions) error {
	targets, err := parseTargets(validateFormats, opts.Outputs)
	if err != nil {
		return err
	}
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
	rep := validateReport{Input: name, Errors: []validateError{}}
	var list *snapshot.Errors
	switch {
	case errors.As(err, &list):
		for _, e := range list.List {
			rep.Errors = append(rep.Errors, validateError{Path: e.Path, Line: e.Line, Column: e.Column, Message: e.Msg})
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
	err = printTo(f, targets, func(w io.Writer, st *render.Styles, format string) error {
		if format == "json" {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		w = render.SafeWriter(w)
		if rep.Valid {
			_, err := fmt.Fprintf(w, "%s %s: %s, %s (%d live), %s\n",
				st.OK.Render("valid"), render.Escape(label), count(rep.Components, "component", "components"),
				count(rep.Resources, "resource", "resources"), rep.Live, count(rep.Cleanups, "cleanup", "cleanups"))
			return err
		}
		for _, e := range list.List {
			fmt.Fprintln(w, render.Escape(fmt.Sprint(e)))
		}
		if list.Truncated > 0 {
			fmt.Fprintf(w, "… and %d more %s\n", list.Truncated, plural(list.Truncated, "error", "errors"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !rep.Valid {
		if stdout, ok := output.Stdout(targets); !ok || stdout.Format == "text" {
			fmt.Fprintf(f.HumanErr(), "rescoord: %s is not a valid snapshot: %d %s\n", render.Escape(label), rep.ErrorsTotal, plural(rep.ErrorsTotal, "error", "errors"))
		}
		return errSilent
	}
	return nil
}
