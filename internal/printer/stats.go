package printer

import (
	"fmt"
	"io"
	"strconv"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// StatsData is what `rescoord stats` prints: the figures of a snapshot.
type StatsData struct {
	Snap  *snapshot.Snapshot
	Stats *snapshot.Stats
}

func (*StatsData) kind() Kind { return Stats }

func statsPrinter(format string, sty *render.Styles) printFunc {
	return func(w io.Writer, d Data) error {
		s := d.(*StatsData)
		if format == "json" {
			return writeJSON(w, s.Stats)
		}
		return printStatsText(w, sty, s.Snap, s.Stats)
	}
}

// printStatsText writes the summary of stats.
func printStatsText(w io.Writer, sty *render.Styles, s *snapshot.Snapshot, st *snapshot.Stats) error {
	fmt.Fprintf(w, "%s  %s, taken %s\n", sty.Title.Render("Snapshot"), SourceLabel(s), s.TakenAt.UTC().Format("2006-01-02 15:04:05Z07:00"))
	fmt.Fprintf(w, "%s (%d destroyed), %s (%d live, %s)\n\n",
		human.Count(st.Components, "component", "components"), st.DestroyedComponents, human.Count(st.Resources, "resource", "resources"), st.LiveResources, render.Bytes(st.LiveBytes))

	fmt.Fprintln(w, sty.Title.Render("By type"))
	var rows [][]string
	for _, t := range st.ByType {
		rows = append(rows, []string{render.Escape(t.Type), strconv.Itoa(t.Active), strconv.Itoa(t.Releasing), strconv.Itoa(t.Released), strconv.Itoa(t.Running), render.BytesOrDash(t.LiveBytes)})
	}
	if err := render.Table(w, sty, []string{"TYPE", "ACTIVE", "RELEASING", "RELEASED", "RUNNING", "LIVE BYTES"}, rows); err != nil {
		return err
	}

	fmt.Fprintln(w, "\n"+sty.Title.Render("Top components by live bytes"))
	rows = rows[:0]
	for _, c := range st.TopComponents {
		rows = append(rows, []string{render.Escape(c.ID), render.Escape(c.Type), render.Escape(c.State), strconv.Itoa(c.LiveResources), render.BytesOrDash(c.LiveBytes), render.BytesOrDash(c.SubtreeLiveBytes)})
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

// SourceLabel names the process a snapshot comes from, escaped:
// "app (pid 42) on host".
func SourceLabel(s *snapshot.Snapshot) string {
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
