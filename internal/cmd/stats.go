package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// StatsOptions are the flags of `rescoord stats`.
type StatsOptions struct {
	Input   InputOptions
	Args    []string
	Top     int
	Outputs []string
}

// NewCmdStats builds `rescoord stats`. A non-nil runF replaces the run, for tests.
func NewCmdStats(f *Factory, runF func(*StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{}
	c := &cobra.Command{
		Use:   "stats [SNAPSHOT]",
		Short: "Summarise a snapshot: totals by type and state, top components, limits, oldest resources",
		Example: `  rescoord stats --demo
  rescoord stats snapshot.json --top 20 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: runner(f, opts, &opts.Args, runF, runStats),
	}
	opts.Input.addFlags(c)
	c.Flags().IntVar(&opts.Top, "top", 5, "how many components and oldest resources to show")
	addOutputFlag(c, printer.Stats, &opts.Outputs)
	return c
}

func runStats(ctx context.Context, f *Factory, opts *StatsOptions) error {
	targets, err := parseTargets(printer.Stats, opts.Outputs)
	if err != nil {
		return err
	}
	if opts.Top < 1 {
		return usageError("invalid --top %d: want 1 or more", opts.Top)
	}
	opts.Input.dropMetadata = true // never shown
	in, ix, err := opts.Input.loadIndex(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	st := snapshot.ComputeStats(ix, opts.Top)
	return printTo(f, printer.Stats, targets, printer.Options{}, &printer.StatsData{Snap: in.Snap, Stats: st})
}
