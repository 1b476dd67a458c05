package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
)

// PsOptions are the flags of `rescoord ps`.
type PsOptions struct {
	Prune   bool
	Outputs []string
}

// NewCmdPs builds `rescoord ps`. A non-nil runF replaces the run, for tests.
func NewCmdPs(f *Factory, runF func(*PsOptions) error) *cobra.Command {
	opts := &PsOptions{}
	c := &cobra.Command{
		Use:   "ps",
		Short: "List the processes that serve their registry (attachable with --attach)",
		Long: `ps lists the processes on this machine that serve their registry, from the
discovery files they keep in the per-user runtime directory
($XDG_RUNTIME_DIR/rescoord, else rescoord-UID in the temporary directory).
A file whose process is gone is marked stale; --prune removes such files.`,
		Example: `  rescoord ps
  rescoord ps --prune
  rescoord leaks --attach mediaapp`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runPs(f, opts)
		},
	}
	c.Flags().BoolVar(&opts.Prune, "prune", false, "remove the discovery files of processes that are gone")
	addOutputFlag(c, printer.Ps, &opts.Outputs)
	return c
}

func runPs(f *Factory, opts *PsOptions) error {
	targets, err := parseTargets(printer.Ps, opts.Outputs)
	if err != nil {
		return err
	}
	dir := discovery.Dir(f.Getenv)
	listed, err := discovery.List(dir, nil)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if opts.Prune {
		removed, err := discovery.Prune(listed)
		if err != nil {
			return err
		}
		kept := listed[:0]
		for _, l := range listed {
			if !l.Stale {
				kept = append(kept, l)
			}
		}
		listed = kept
		if len(removed) > 0 {
			fmt.Fprintf(f.IO.ErrOut, "pruned %d stale %s\n", len(removed), human.Plural(len(removed), "entry", "entries"))
		}
	}
	if t, ok := output.Stdout(targets); ok && t.Format == "table" && len(listed) == 0 {
		fmt.Fprintf(f.HumanErr(), "no attachable processes (discovery directory %s)\n", render.Escape(dir))
	}
	if err := printTo(f, printer.Ps, targets, printer.Options{}, &printer.PsData{Dir: dir, Processes: listed, Now: f.Now()}); err != nil {
		return err
	}
	stale := 0
	for _, l := range listed {
		switch {
		case l.Refused != "":
			fmt.Fprintf(f.HumanErr(), "warning: refusing discovery file %s: %s; it is never attached to\n", render.Escape(l.Path), render.Escape(l.Refused))
		case l.Stale:
			stale++
		}
	}
	if stale > 0 {
		fmt.Fprintf(f.IO.ErrOut, "%d stale %s: the process is gone (rescoord ps --prune removes them)\n", stale, human.Plural(stale, "entry", "entries"))
	}
	return nil
}
