package cmd

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/render"
)

// PsOptions are the flags of `rescoord ps`.
type PsOptions struct {
	Prune  bool
	Output string
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
	c.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return c
}

func runPs(f *Factory, opts *PsOptions) error {
	if err := oneOf("--output", opts.Output, "table", "json"); err != nil {
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
			fmt.Fprintf(f.IO.ErrOut, "pruned %d stale %s\n", len(removed), plural(len(removed), "entry", "entries"))
		}
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Dir       string             `json:"dir"`
			Processes []discovery.Listed `json:"processes"`
		}{dir, listed})
	}
	if len(listed) == 0 {
		fmt.Fprintf(f.HumanErr(), "no attachable processes (discovery directory %s)\n", render.Escape(dir))
		return nil
	}
	st := f.Styles()
	now := f.Now()
	rows := make([][]string, 0, len(listed))
	stale := 0
	var refused []discovery.Listed
	for _, l := range listed {
		status := st.OK.Render("live")
		switch {
		case l.Refused != "":
			status = st.Error.Render("refused")
			refused = append(refused, l)
		case l.Stale:
			status = st.Warning.Render("stale")
			stale++
		}
		token := ""
		if l.Token {
			token = "yes"
		}
		started := "-"
		if !l.StartedAt.IsZero() {
			started = render.Since(now, l.StartedAt) + " ago"
		}
		rows = append(rows, []string{strconv.Itoa(l.PID), render.Escape(l.Process), render.Escape(l.Address), started, token, status})
	}
	if err := render.FitTable(f.HumanOut(), st, []string{"PID", "PROCESS", "ADDRESS", "STARTED", "TOKEN", "STATUS"}, rows, "ADDRESS", "PROCESS"); err != nil {
		return err
	}
	for _, l := range refused {
		fmt.Fprintf(f.IO.ErrOut, "warning: refusing discovery file %s: %s; it is never attached to\n", l.Path, l.Refused)
	}
	if stale > 0 {
		fmt.Fprintf(f.IO.ErrOut, "%d stale %s: the process is gone (rescoord ps --prune removes them)\n", stale, plural(stale, "entry", "entries"))
	}
	return nil
}
