package cmd

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// WatchOptions are the flags of `rescoord watch`.
type WatchOptions struct {
	Attach string
	AttachOptions
	Every time.Duration
	Count int
	Top   int
}

// NewCmdWatch builds `rescoord watch`. A non-nil runF replaces the run, for tests.
func NewCmdWatch(f *Factory, runF func(*WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{}
	c := &cobra.Command{
		Use:   "watch --attach TARGET",
		Short: "Show a live summary of a running process, refreshed in place",
		Long: `watch fetches a snapshot from a live process every --every and shows a
summary: resource counts and bytes (with the change since the last refresh),
leak counts by rule, the top components and the totals by type. On a
terminal it redraws in place until interrupted (Ctrl-C); piped, it prints one
summary per refresh.`,
		Example: `  rescoord watch --attach mediaapp
  rescoord watch --attach unix:///run/user/1000/rescoord/4242.sock --every 5s --count 10`,
		Args: cobra.NoArgs,
		RunE: runner(f, opts, nil, runF, runWatch),
	}
	opts.AttachOptions.addTargetFlags(c, &opts.Attach)
	c.Flags().DurationVar(&opts.Every, "every", 2*time.Second, "refresh interval")
	c.Flags().IntVar(&opts.Count, "count", 0, "stop after this many refreshes (0: until interrupted)")
	c.Flags().IntVar(&opts.Top, "top", 8, "how many components to show")
	return c
}

// watchFrame is what one refresh shows.
type watchFrame struct {
	snap   *snapshot.Snapshot
	stats  *snapshot.Stats
	leaks  map[leaks.Rule]int
	bySev  map[leaks.Severity]int
	err    error
	prevOK *watchFrame
	// cleanups is what the process's /stats says of its cleanups (nil
	// when it does not say).
	cleanups *attach.CleanupState
	// groups are the live counts by (component, resource type).
	groups map[groupKey]int
}

// groupKey is a (component, resource type) group of live resources, the
// component by its name, as growth groups them (docs/leaks.md, "growth").
type groupKey struct{ comp, typ string }

// trendRefreshes is how many refreshes a trend looks back over.
const trendRefreshes = 5

// liveGroups counts the live resources by (component, resource type).
func liveGroups(ix *snapshot.Index) map[groupKey]int {
	s := ix.Snap
	out := map[groupKey]int{}
	for ri := range s.Resources {
		r := &s.Resources[ri]
		if !r.Live() {
			continue
		}
		k := groupKey{comp: r.Owner, typ: r.Type}
		if o := ix.Owner(ri); o >= 0 {
			k.comp = s.Components[o].DisplayName()
		}
		out[k]++
	}
	return out
}

func runWatch(ctx context.Context, f *Factory, opts *WatchOptions) error {
	if err := cmp.Or(needTarget("watch", opts.Attach), positive("--every", opts.Every)); err != nil {
		return err
	}
	if opts.Top < 1 || opts.Count < 0 {
		return usageError("--top wants 1 or more and --count 0 or more")
	}
	client, err := opts.source(f, opts.Attach)
	if err != nil {
		return err
	}
	defer client.Close()
	st := f.Styles()
	var last *watchFrame
	for i := 1; opts.Count == 0 || i <= opts.Count; i++ {
		if i > 1 {
			if err := f.sleep(ctx, opts.Every); err != nil {
				return nil // interrupted: a normal end
			}
		}
		fr := &watchFrame{prevOK: last}
		s, err := client.Snapshot(ctx)
		if err != nil {
			if last == nil {
				return &exitError{code: ExitError, err: err}
			}
			if ctx.Err() != nil {
				return nil
			}
			fr.err = err
		} else {
			ix, err := snapshot.NewIndex(s)
			if err != nil {
				fr.err = err
			} else {
				fr.snap, fr.stats = s, snapshot.ComputeStats(ix, opts.Top)
				fr.groups = liveGroups(ix)
				fr.leaks, fr.bySev = map[leaks.Rule]int{}, map[leaks.Severity]int{}
				for _, fd := range leaks.FindLeaks(ix, leaks.LeakOptions{}) {
					fr.leaks[fd.Rule]++
					fr.bySev[fd.Severity]++
				}
				last = fr
			}
			// What blocks exit right now: a process that does not serve
			// it (an older one, or another implementation) shows nothing.
			if cs, err := client.Cleanups(ctx); err == nil {
				fr.cleanups = cs
			}
		}
		var b strings.Builder
		if f.IO.OutTTY {
			b.WriteString("\x1b[H\x1b[2J") // home and clear: redraw in place
		} else if i > 1 {
			b.WriteString("\n")
		}
		writeFrame(&b, st, fr, opts, f.Now())
		if _, err := io.WriteString(f.HumanOut(), b.String()); err != nil {
			return err
		}
	}
	return nil
}

func writeFrame(w io.Writer, st *render.Styles, fr *watchFrame, opts *WatchOptions, now time.Time) {
	if fr.err != nil {
		fmt.Fprintf(w, "%s  %s %s\n", st.Title.Render("rescoord watch"), now.Format("15:04:05"), st.Error.Render("unreachable: "+render.Escape(fr.err.Error())))
		if fr.prevOK != nil {
			fmt.Fprintf(w, "%s\n", st.Dim.Render("last snapshot taken "+fr.prevOK.snap.TakenAt.Format("15:04:05")))
		}
		return
	}
	s, sum := fr.snap, fr.stats
	fmt.Fprintf(w, "%s  %s · taken %s · every %s\n", st.Title.Render("rescoord watch"), printer.SourceLabel(s), s.TakenAt.UTC().Format("15:04:05Z"), opts.Every)
	delta := ""
	if p := fr.prevOK; p != nil {
		delta = st.Dim.Render(fmt.Sprintf(" (%s live, %s)", signed(int64(sum.LiveResources-p.stats.LiveResources)), signedBytes(sum.LiveBytes-p.stats.LiveBytes)))
	}
	fmt.Fprintf(w, "%s · %d live · %s%s · %s (%d destroyed)\n",
		human.Count(sum.Resources, "resource", "resources"), sum.LiveResources, render.Bytes(sum.LiveBytes), delta, human.Count(sum.Components, "component", "components"), sum.DestroyedComponents)

	var sev []string
	for _, v := range leaks.Severities() {
		if n := fr.bySev[v]; n > 0 {
			sev = append(sev, st.Severity(v.String()).Render(fmt.Sprintf("%d %s", n, v)))
		}
	}
	if len(sev) == 0 {
		fmt.Fprintln(w, "leaks: "+st.OK.Render("none"))
	} else {
		rules := make([]string, 0, len(fr.leaks))
		for _, r := range leaks.Rules() {
			if n := fr.leaks[r.ID]; n > 0 {
				rules = append(rules, fmt.Sprintf("%s %d", r.ID, n))
			}
		}
		fmt.Fprintf(w, "leaks: %s  %s\n", strings.Join(sev, " · "), st.Dim.Render("("+strings.Join(rules, ", ")+")"))
	}
	writeCleanups(w, st, fr.cleanups)
	writeTrends(w, st, fr, opts.Top)
	fmt.Fprintln(w)
	rows := make([][]string, 0, len(sum.TopComponents))
	for _, c := range sum.TopComponents {
		state := render.Escape(c.State)
		if c.State == snapshot.StateDestroyed {
			state = st.Error.Render(state)
		}
		rows = append(rows, []string{render.Escape(c.ID), render.Escape(c.Type), state, strconv.Itoa(c.LiveResources), render.BytesOrDash(c.SubtreeLiveBytes)})
	}
	_ = render.FitTable(w, st, []string{"COMPONENT", "TYPE", "STATE", "LIVE", "SUBTREE BYTES"}, rows, "COMPONENT", "TYPE")
	fmt.Fprintln(w)
	rows = rows[:0]
	types := slices.Clone(sum.ByType)
	for _, t := range types {
		if t.Active+t.Releasing == 0 {
			continue
		}
		rows = append(rows, []string{render.Escape(t.Type), strconv.Itoa(t.Active + t.Releasing), strconv.Itoa(t.Running), render.BytesOrDash(t.LiveBytes)})
	}
	_ = render.Table(w, st, []string{"TYPE", "LIVE", "RUNNING", "LIVE BYTES"}, rows)
}

// writeTrends shows the largest (component, type) groups with their live
// count over the last refreshes, an arrow a refresh, and flags the groups
// that grew at every refresh of the last trendRefreshes (at least three
// refreshes, and more than one resource in all) as they grow.
func writeTrends(w io.Writer, st *render.Styles, fr *watchFrame, top int) {
	var hist []map[groupKey]int // oldest first, ending with this frame
	for p := fr; p != nil && len(hist) < trendRefreshes; p = p.prevOK {
		if p.groups != nil {
			hist = append([]map[groupKey]int{p.groups}, hist...)
		}
	}
	if len(hist) < 2 {
		return
	}
	keys := make([]groupKey, 0, len(fr.groups))
	for k := range fr.groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return cmp.Or(cmp.Compare(fr.groups[b], fr.groups[a]), human.Compare(a.comp, b.comp), strings.Compare(a.typ, b.typ))
	})
	type row struct {
		k       groupKey
		growing bool
		changed bool
	}
	var rows []row
	for _, k := range keys {
		growing := len(hist) >= 3
		for i := 1; i < len(hist); i++ {
			if hist[i][k] <= hist[i-1][k] {
				growing = false
			}
		}
		rows = append(rows, row{k, growing, hist[0][k] != hist[len(hist)-1][k]})
	}
	// Growing groups first, then those that changed, then the largest; at
	// most top rows.
	rank := func(r row) int {
		switch {
		case r.growing:
			return 0
		case r.changed:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(rank(a), rank(b)) })
	rows = rows[:min(top, len(rows))]
	fmt.Fprintln(w)
	table := make([][]string, 0, len(rows))
	for _, r := range rows {
		var arrows strings.Builder
		for i := 1; i < len(hist); i++ {
			switch a, b := hist[i-1][r.k], hist[i][r.k]; {
			case b > a:
				arrows.WriteString("↑")
			case b < a:
				arrows.WriteString("↓")
			default:
				arrows.WriteString("·")
			}
		}
		d := hist[len(hist)-1][r.k] - hist[0][r.k]
		trend := arrows.String() + " " + signed(int64(d))
		if r.growing {
			trend = st.Warning.Render(trend + " growing")
		}
		table = append(table, []string{render.Escape(r.k.comp), render.Escape(r.k.typ), strconv.Itoa(fr.groups[r.k]), trend})
	}
	_ = render.FitTable(w, st, []string{"COMPONENT", "TYPE", "LIVE", fmt.Sprintf("LAST %d REFRESHES", len(hist))}, table, "COMPONENT")
}

// writeCleanups shows the cleanups in progress — the step running, for
// how long, and what waits on it — and what the last one left undone.
func writeCleanups(w io.Writer, st *render.Styles, cs *attach.CleanupState) {
	if cs == nil {
		return
	}
	for _, p := range cs.InProgress {
		scope := "the whole registry"
		if p.Component != "" {
			scope = render.Escape(p.Component)
		}
		fmt.Fprintf(w, "%s %s · %d of %s done · %s\n", st.Warning.Render("cleaning up"), scope, p.Done, human.Count(p.Steps, "step", "steps"), render.Millis(p.ElapsedMS))
		if r := p.Running; r != nil {
			line := fmt.Sprintf("  running %d. %s %s for %s", r.Order, render.Escape(r.Kind), render.Escape(r.ID), render.Millis(r.ElapsedMS))
			if r.TimeoutMS > 0 {
				line += " of its " + render.Millis(r.TimeoutMS)
			}
			fmt.Fprintln(w, line)
			if r.WaitingTotal > 0 {
				fmt.Fprintf(w, "  waiting on it: %s\n", stepRefList(r.Waiting, r.WaitingTotal))
			}
		}
	}
	if l := cs.Last; l != nil && l.UnfinishedTotal > 0 {
		scope := "the whole registry"
		if l.Component != "" {
			scope = render.Escape(l.Component)
		}
		var parts []string
		for i, u := range l.Unfinished {
			if i == 3 {
				parts = append(parts, fmt.Sprintf("%d more", l.UnfinishedTotal-3))
				break
			}
			parts = append(parts, fmt.Sprintf("%d. %s %s %s", u.Order, render.Escape(u.Kind), render.Escape(u.ID), strings.ReplaceAll(u.Status, "_", " ")))
		}
		fmt.Fprintf(w, "%s %s: %d of %s unfinished (%s)\n", st.Error.Render("last cleanup of"), scope, l.UnfinishedTotal, human.Count(l.Steps, "step", "steps"), strings.Join(parts, ", "))
	}
}

func signed(n int64) string {
	if n > 0 {
		return "+" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func signedBytes(n int64) string {
	if n > 0 {
		return "+" + render.Bytes(n)
	}
	if n < 0 {
		return "-" + render.Bytes(-n)
	}
	return "±0 B"
}
