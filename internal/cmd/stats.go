package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// StatsOptions are the flags of `rescoord stats`.
type StatsOptions struct {
	Input   InputOptions
	Args    []string
	Top     int
	Outputs []string
}

// statsFormats are the formats of `rescoord stats`.
var statsFormats = output.Formats{
	{Name: "text", Help: "the summary, with tables"},
	{Name: "json", Help: "the same figures"},
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
	statsFormats.AddFlag(c, &opts.Outputs)
	return c
}

func runStats(ctx context.Context, f *Factory, opts *StatsOptions) error {
	targets, err := parseTargets(statsFormats, opts.Outputs)
	if err != nil {
		return err
	}
	if opts.Top < 1 {
		return usageError("invalid --top %d: want 1 or more", opts.Top)
	}
	in, err := opts.Input.loadOne(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	ix, err := index(in)
	if err != nil {
		return err
	}
	st := snapshot.ComputeStats(ix, opts.Top)
	return printTo(f, targets, func(w io.Writer, sty *render.Styles, format string) error {
		if format == "json" {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		return printStatsText(render.SafeWriter(w), sty, in.Snap, st)
	})
}

// printStatsText writes the summary of stats.
func printStatsText(w io.Writer, sty *render.Styles, s *snapshot.Snapshot, st *snapshot.Stats) error {
	fmt.Fprintf(w, "%s  %s, taken %s\n", sty.Title.Render("Snapshot"), sourceLabel(s), s.TakenAt.UTC().Format("2006-01-02 15:04:05Z07:00"))
	fmt.Fprintf(w, "%s (%d destroyed), %s (%d live, %s)\n\n",
		count(st.Components, "component", "components"), st.DestroyedComponents, count(st.Resources, "resource", "resources"), st.LiveResources, render.Bytes(st.LiveBytes))

	fmt.Fprintln(w, sty.Title.Render("By type"))
	var rows [][]string
	for _, t := range st.ByType {
		rows = append(rows, []string{render.Escape(t.Type), strconv.Itoa(t.Active), strconv.Itoa(t.Releasing), strconv.Itoa(t.Released), strconv.Itoa(t.Running), bytesOrDash(t.LiveBytes)})
	}
	if err := render.Table(w, sty, []string{"TYPE", "ACTIVE", "RELEASING", "RELEASED", "RUNNING", "LIVE BYTES"}, rows); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n"+sty.Title.Render("Top components by live bytes"))
	rows = rows[:0]
	for _, c := range st.TopComponents {
		rows = append(rows, []string{render.Escape(c.ID), render.Escape(c.Type), render.Escape(c.State), strconv.Itoa(c.LiveResources), bytesOrDash(c.LiveBytes), bytesOrDash(c.SubtreeLiveBytes)})
	}
	if err := render.FitTable(w, sty, []string{"COMPONENT", "TYPE", "STATE", "LIVE", "OWN BYTES", "SUBTREE BYTES"}, rows, "COMPONENT", "TYPE"); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n"+sty.Title.Render("Limits"))
	if len(st.Limits) == 0 {
		fmt.Fprintln(w, "no limits set")
	} else {
		rows = rows[:0]
		for _, l := range st.Limits {
			scope := "global"
			if l.Component != "" {
				scope = render.Escape(l.Component)
				if l.Missing {
					scope += " (not in snapshot)"
				}
			}
			use := fmt.Sprintf("%.1f%%", l.Percent)
			switch {
			case l.Percent > 100:
				use = sty.Error.Render(use + " over")
			case l.Percent >= 80:
				use = sty.Warning.Render(use)
			}
			rows = append(rows, []string{scope, render.Bytes(l.Used), render.Bytes(l.Limit), use})
		}
		if err := render.FitTable(w, sty, []string{"LIMIT", "USED", "OF", "USE"}, rows, "LIMIT"); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\n"+sty.Title.Render("Oldest live resources"))
	rows = rows[:0]
	for _, r := range st.Oldest {
		rows = append(rows, []string{render.Escape(r.ID), render.Escape(r.Type), render.Escape(r.Name), render.Escape(r.Owner), render.Age(r.Age)})
	}
	return render.FitTable(w, sty, []string{"ID", "TYPE", "NAME", "OWNER", "AGE"}, rows, "NAME", "OWNER", "ID")
}

func bytesOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return render.Bytes(n)
}

func sourceLabel(s *snapshot.Snapshot) string {
	label := render.Escape(s.Source.Process)
	if label == "" {
		label = "unknown process"
	}
	if s.Source.PID > 0 {
		label += fmt.Sprintf(" (pid %d)", s.Source.PID)
	}
	if s.Source.Host != "" {
		label += " on " + render.Escape(s.Source.Host)
	}
	return label
}
