package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/render"
)

// RecordOptions are the flags of `rescoord record`.
type RecordOptions struct {
	Attach string
	AttachOptions
	Every time.Duration
	Count int
	Out   string
}

// NewCmdRecord builds `rescoord record`. A non-nil runF replaces the run, for tests.
func NewCmdRecord(f *Factory, runF func(*RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{}
	c := &cobra.Command{
		Use:   "record --attach TARGET",
		Short: "Save a series of snapshots from a live process, for the growth check of leaks",
		Long: `record fetches a snapshot from a live process every --every, --count times,
and saves them in --out as snapshot-0001.json, snapshot-0002.json, … — ready
for the three-snapshot growth check:

  rescoord leaks DIR/snapshot-*.json`,
		Example: `  rescoord record --attach mediaapp --every 2s --count 5 --out snaps
  rescoord leaks snaps/snapshot-*.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runRecord(c, f, opts)
		},
	}
	c.Flags().StringVar(&opts.Attach, "attach", "", "the live process (unix:///path.sock, http://127.0.0.1:6060, pid:1234 or a name from 'rescoord ps')")
	opts.AttachOptions.addFlags(c)
	c.Flags().DurationVar(&opts.Every, "every", 2*time.Second, "interval between snapshots")
	c.Flags().IntVar(&opts.Count, "count", 5, "how many snapshots to save")
	c.Flags().StringVar(&opts.Out, "out", "snapshots", "directory to save them in (created if needed)")
	return c
}

func runRecord(c *cobra.Command, f *Factory, opts *RecordOptions) error {
	if opts.Attach == "" {
		return usageError("record needs --attach TARGET (rescoord ps lists attachable processes)")
	}
	if opts.Count < 1 {
		return usageError("invalid --count %d: want 1 or more", opts.Count)
	}
	if opts.Every <= 0 {
		return usageError("invalid --every %s: want a positive duration", opts.Every)
	}
	client, err := opts.client(f, opts.Attach)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	ctx := c.Context()
	for i := 1; i <= opts.Count; i++ {
		if i > 1 {
			if err := f.sleep(ctx, opts.Every); err != nil {
				fmt.Fprintf(f.IO.ErrOut, "interrupted after %d %s\n", i-1, plural(i-1, "snapshot", "snapshots"))
				return nil
			}
		}
		s, err := client.Snapshot(ctx)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		path := filepath.Join(opts.Out, fmt.Sprintf("snapshot-%04d.json", i))
		if err := os.WriteFile(path, append(s.AppendJSON(nil), '\n'), 0o644); err != nil {
			return err
		}
		live, bytes := 0, int64(0)
		for k := range s.Resources {
			if s.Resources[k].Live() {
				live++
				bytes += s.Resources[k].SizeBytes
			}
		}
		fmt.Fprintf(f.IO.Out, "%s  %d resources, %d live, %s\n", path, len(s.Resources), live, render.Bytes(bytes))
	}
	return nil
}
