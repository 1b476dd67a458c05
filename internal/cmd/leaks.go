package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/procsnap"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// LeaksOptions are the flags of `rescoord leaks`.
type LeaksOptions struct {
	Input InputOptions
	Args  []string

	// Outputs are the -o values: FORMAT (to stdout) or FORMAT=PATH.
	Outputs       []string
	FailOn        string
	Severity      string
	Grace         time.Duration
	MaxAge        time.Duration
	Baseline      string
	Suppressions  string
	GrowthCount   int
	GrowthBytes   string
	GrowthPercent float64
	// NoStepSummary keeps -o github from appending the Markdown report to
	// $GITHUB_STEP_SUMMARY.
	NoStepSummary bool
	// Reconcile compares the attached process's registry with what /proc
	// shows of it (untracked-resource).
	Reconcile bool
	// baselineReport is set when --baseline named a leak report.
	baselineReport bool
	// SourceRoot and PathMap map creation frames' files to repository
	// paths for -o sarif, github and junit (docs/ci.md, "Source paths").
	SourceRoot string
	PathMap    []string
}

// NewCmdLeaks builds `rescoord leaks`. A non-nil runF replaces the run, for tests.
func NewCmdLeaks(f *Factory, runF func(*LeaksOptions) error) *cobra.Command {
	opts := &LeaksOptions{}
	c := &cobra.Command{
		Use:   "leaks [SNAPSHOT | S1 S2 S3...]",
		Short: "Report leaks: what outlived its owner, runs on, is over its limit or grew",
		Long: `Report leaks for CI: resources that outlived their owner, running workers and
timers of destroyed components, components over their memory limit,
dependency cycles, dangling dependencies, stale resources and growth.

Findings with the same signature (stable across runs) are grouped, most
severe first, each with a leak trace from the root component to what
leaked and its creation stack. The text report shows the first 1000
groups and counts the others; the other formats list every group.

Exit codes: 0 when no finding is at or above --fail-on, 1 when one is,
2 for bad input or flags. --severity only filters what is shown.

Growth: with --baseline OLD, findings OLD also has are not shown, and a
(component, resource type) whose live count or bytes grew by at least
--growth-count or --growth-bytes (and --growth-percent of its old value)
is reported. With three or more snapshots of one scenario, oldest first,
growth must also be strictly monotonic across all of them; they must come
from one process (their source), and are measured in taken_at order.

Suppressions are read from --suppressions FILE, or .rescoord-ignore.yaml
in the working directory when present. See docs/leaks.md.`,
		Example: `  rescoord leaks --demo
  rescoord leaks snapshot.json --fail-on critical --grace 5s
  rescoord leaks snapshot.json -o text -o sarif=leaks.sarif -o junit=leaks.xml
  rescoord leaks new.json --baseline main.json -o markdown=comment.md
  rescoord leaks s1.json s2.json s3.json`,
		RunE: runner(f, opts, &opts.Args, runF, runLeaks),
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	addOutputFlag(c, printer.Leaks, &opts.Outputs)
	enumFlag(c, fl, &opts.FailOn, "fail-on", "error", []string{"critical", "error", "warning", "info", "none"}, "exit 1 when a finding is at or above this severity")
	enumFlag(c, fl, &opts.Severity, "severity", "info", []string{"critical", "error", "warning", "info"}, "show findings at or above this severity (the exit code still counts all)")
	fl.DurationVar(&opts.Grace, "grace", 0, "report a resource whose owner was destroyed less than this before the snapshot as info, not as a leak (e.g. 5s)")
	fl.DurationVar(&opts.MaxAge, "max-age", 0, "report live resources older than this as stale-resource (e.g. 10m); off by default")
	fl.StringVar(&opts.Baseline, "baseline", "", "an older snapshot of the same scenario (show only new findings, and growth since it), or an older `leaks -o json` report (only new findings)")
	fl.StringVar(&opts.Suppressions, "suppressions", "", "suppressions file (default: "+leaks.DefaultSuppressionsFile+" in the working directory, when present)")
	fl.IntVar(&opts.GrowthCount, "growth-count", leaks.DefaultGrowth().Count, "growth: least increase in the live count of a (component, type); 0 turns the count criterion off")
	fl.StringVar(&opts.GrowthBytes, "growth-bytes", "16MiB", "growth: least increase in the live bytes of a (component, type); 0 turns the bytes criterion off")
	fl.Float64Var(&opts.GrowthPercent, "growth-percent", leaks.DefaultGrowth().Percent, "growth: least increase relative to the old value, in percent")
	fl.BoolVar(&opts.NoStepSummary, "no-step-summary", false, "with -o github, do not append the Markdown report to $GITHUB_STEP_SUMMARY")
	fl.BoolVar(&opts.Reconcile, "reconcile", false, "with --attach, also report the threads, files, sockets and child processes /proc shows in the process that its registry does not track (Linux)")
	fl.StringVar(&opts.SourceRoot, "source-root", "", "for -o sarif, github and junit: make absolute frame paths under this directory relative to it")
	fl.StringArrayVar(&opts.PathMap, "path-map", nil, "for -o sarif, github and junit: replace the frame path prefix FROM by TO, repeatable (FROM=TO; the first match wins; before --source-root)")
	return c
}

func runLeaks(ctx context.Context, f *Factory, opts *LeaksOptions) error {
	outs, err := parseTargets(printer.Leaks, opts.Outputs)
	if err != nil {
		return err
	}
	ro := leaks.ReportOptions{
		Leaks: leaks.LeakOptions{Grace: opts.Grace, MaxAge: opts.MaxAge},
		Now:   f.Now(),
		// The printers make the findings' text (the JSON one as it writes).
		DeferText: true,
	}
	if ro.FailOn, err = leaks.ParseSeverity(opts.FailOn, true); err != nil {
		return usageError("--fail-on: %v", err)
	}
	if ro.Show, err = leaks.ParseSeverity(opts.Severity, false); err != nil {
		return usageError("--severity: %v", err)
	}
	if opts.Grace < 0 || opts.MaxAge < 0 {
		return usageError("--grace and --max-age must not be negative")
	}
	if opts.GrowthCount < 0 || opts.GrowthPercent < 0 {
		return usageError("--growth-count and --growth-percent must not be negative")
	}
	gb, err := parseSize(opts.GrowthBytes)
	if err != nil {
		return usageError("--growth-bytes: %v", err)
	}
	ro.Growth = leaks.GrowthOptions{Count: opts.GrowthCount, Bytes: gb, Percent: opts.GrowthPercent}
	if ro.Growth.Count == 0 && ro.Growth.Bytes == 0 && (opts.Baseline != "" || len(opts.Args) > 2) {
		return usageError("--growth-count 0 and --growth-bytes 0 turn growth off: keep one of them")
	}

	switch n := len(opts.Args); {
	case n == 2:
		return usageError("leaks reads one snapshot, or three or more of one scenario (oldest first); to compare two, use --baseline OLD NEW")
	case n > 2 && opts.Baseline != "":
		return usageError("--baseline compares two snapshots; with three or more, growth is measured across them: drop --baseline")
	}
	if err := distinctFiles(append(slices.Clone(opts.Args), opts.Baseline)); err != nil {
		return err
	}
	opts.Input.dropMetadata = !opts.Reconcile // only --reconcile reads metadata
	inputs, err := opts.Input.load(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	if len(inputs) > 2 {
		if inputs, err = checkSeries(f, inputs); err != nil {
			return err
		}
	}
	ix, err := index(inputs[len(inputs)-1])
	if err != nil {
		return err
	}
	var seriesNames []string
	for _, in := range inputs[:len(inputs)-1] {
		six, err := index(in)
		if err != nil {
			return err
		}
		ro.Series = append(ro.Series, six)
		seriesNames = append(seriesNames, in.Name)
	}
	if opts.Baseline != "" {
		// A previous `leaks -o json` report is a lighter baseline: its
		// signatures, for "new findings only" (no growth without the
		// snapshot).
		if sigs, ok, err := reportBaseline(opts.Baseline, opts.Input.MaxBytes); err != nil {
			return err
		} else if ok {
			ro.BaselineSignatures = sigs
			opts.baselineReport = true
		}
	}
	if opts.Baseline != "" && !opts.baselineReport {
		base, err := opts.Input.loadPath(ctx, f, opts.Baseline)
		if err != nil {
			return err
		}
		if ro.Baseline, err = index(base); err != nil {
			return err
		}
		cur := inputs[len(inputs)-1]
		if b := base.Snap.TakenAt; b.After(cur.Snap.TakenAt) {
			warnf(f, "the baseline %s (taken %s) is newer than %s (taken %s): are they swapped?",
				base.Name, b.Format(time.RFC3339), cur.Name, cur.Snap.TakenAt.Format(time.RFC3339))
		}
	}
	if ro.Suppressions, err = loadSuppressions(f, opts.Suppressions); err != nil {
		return err
	}
	if opts.Reconcile {
		if ro.Reconcile, ro.Serving, err = reconcileIndex(ctx, f, opts, ix.Snap); err != nil {
			return err
		}
	}

	r := leaks.Analyze(ix, ro)

	popts := report.Options{
		Input:    inputs[len(inputs)-1].Name,
		Version:  version(),
		Baseline: opts.Baseline,
		Series:   seriesNames,
		Grace:    opts.Grace,
	}
	if !opts.Input.Demo && opts.Input.Attach == "" {
		popts.Artifact = snapshotArtifact(popts.Input)
	}
	if !opts.NoStepSummary {
		popts.StepSummary = f.Getenv("GITHUB_STEP_SUMMARY")
	}
	if popts.Paths, err = reportPaths(opts.SourceRoot, opts.PathMap); err != nil {
		return err
	}
	for _, o := range outs {
		if o.Format == "json" && o.Path != "" {
			popts.FullReport = o.Path
			break
		}
	}
	if err := printTo(f, printer.Leaks, outs, printer.Options{Report: popts}, &printer.LeaksData{Report: r}); err != nil {
		return err
	}
	if r.Failed {
		return errFindings
	}
	return nil
}

// snapshotArtifact is a snapshot file as a location in the repository
// (report.Options.Artifact): its path relative to the working directory,
// with forward slashes, or "" when it is standard input or a file outside
// the working directory.
func snapshotArtifact(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

// distinctFiles refuses a snapshot file named twice (under one name or
// two: hard links, ./a and a), which would measure a series against itself.
// Paths that cannot be read are left for the loader to report.
func distinctFiles(paths []string) error {
	type seen struct {
		name string
		fi   os.FileInfo
	}
	var files []seen
	for _, p := range paths {
		if p == "" || p == "-" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		for _, o := range files {
			if os.SameFile(o.fi, fi) {
				if o.name == p {
					return usageError("%s is given twice: growth and baselines compare distinct snapshots", render.Escape(p))
				}
				return usageError("%s and %s are the same file: growth and baselines compare distinct snapshots", render.Escape(o.name), render.Escape(p))
			}
		}
		files = append(files, seen{p, fi})
	}
	return nil
}

// checkSeries checks a growth series (docs/leaks.md#growth): its snapshots
// must come from one process, and are put in taken_at order, oldest first,
// with a warning when they were not given so.
func checkSeries(f *Factory, inputs []*loaded) ([]*loaded, error) {
	// Every pair: a field only some snapshots give still tells two apart.
	for j, in := range inputs {
		for _, prev := range inputs[:j] {
			if err := sameProcess(prev, in); err != nil {
				return nil, err
			}
		}
	}
	for i := 1; i < len(inputs); i++ {
		prev, in := inputs[i-1], inputs[i]
		if !in.Snap.TakenAt.Before(prev.Snap.TakenAt) {
			continue
		}
		warnf(f, "the snapshots are not oldest first (%s, taken %s, comes after %s, taken %s): growth is measured in taken_at order",
			in.Name, in.Snap.TakenAt.Format(time.RFC3339), prev.Name, prev.Snap.TakenAt.Format(time.RFC3339))
		sorted := slices.Clone(inputs)
		slices.SortStableFunc(sorted, func(a, b *loaded) int { return a.Snap.TakenAt.Compare(b.Snap.TakenAt) })
		return sorted, nil
	}
	return inputs, nil
}

// sameProcess refuses two snapshots whose sources tell different processes.
func sameProcess(x, y *loaded) error {
	a, b := x.Snap.Source, y.Snap.Source
	var va, vb any
	field := leaks.SourceMismatch(a, b)
	switch field {
	case "":
		return nil
	case "host":
		va, vb = a.Host, b.Host
	case "process":
		va, vb = a.Process, b.Process
	default:
		va, vb = a.PID, b.PID
	}
	return usageError("%s and %s come from different processes (source %s %s and %s): growth is measured across the snapshots of one process; compare two runs with --baseline",
		render.Escape(x.Name), render.Escape(y.Name), field,
		render.Escape(fmt.Sprint(va)), render.Escape(fmt.Sprint(vb)))
}

// warnf prints a one-line warning on stderr; its strings are escaped.
func warnf(f *Factory, format string, args ...any) {
	es := f.ErrStyles()
	fmt.Fprintf(f.IO.ErrOut, "%s %s\n", es.Warning.Render("warning:"), render.Escape(fmt.Sprintf(format, args...)))
}

// loadSuppressions reads the suppressions file named, or the default one
// when present; nil when there is none. Only a regular file of at most
// leaks.MaxSuppressionsBytes is read. The default file comes with the
// working tree — a pull request can ship it — so it must be the file
// itself: a symbolic link, FIFO, device or directory there is not read, and
// a warning says so (docs/leaks.md#suppressions). A file named with
// --suppressions is followed through links, and must then be regular too.
func loadSuppressions(f *Factory, path string) (*leaks.Suppressions, error) {
	data, name, err := readProjectFile(f, path, leaks.DefaultSuppressionsFile, leaks.MaxSuppressionsBytes, "suppressions file", "no suppressions apply")
	if err != nil || data == nil {
		return nil, err
	}
	s, err := leaks.ParseSuppressions(data, name)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("invalid suppressions file: %w", err)}
	}
	return s, nil
}

// readProjectFile reads a project file — the suppressions, the config —
// named by path, or when path is "" the default one, def, in the working
// directory: that one only if it is a regular file and not a link (it may
// come from a fork), else a warning says it was skipped (what then
// happens: skipped). A FIFO never blocks the open. At most max bytes are
// read (the parser refuses more). data is nil when there is nothing to read.
func readProjectFile(f *Factory, path, def string, max int64, what, skipped string) (data []byte, name string, err error) {
	isDef := path == ""
	flag := os.O_RDONLY | syscall.O_NONBLOCK // opening a FIFO never waits for a writer
	if isDef {
		path = def
		flag |= syscall.O_NOFOLLOW
	}
	file, err := os.OpenFile(path, flag, 0)
	switch {
	case isDef && errors.Is(err, fs.ErrNotExist):
		return nil, path, nil
	case isDef && errors.Is(err, syscall.ELOOP):
		warnf(f, "%s is a symbolic link: not read, %s (commit the file itself)", path, skipped)
		return nil, path, nil
	case err != nil:
		return nil, path, inputError(err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, path, inputError(err)
	}
	if !fi.Mode().IsRegular() {
		if isDef {
			warnf(f, "%s is not a regular file (%s): not read, %s", path, fileKind(fi.Mode()), skipped)
			return nil, path, nil
		}
		return nil, path, usageError("invalid %s: %s is not a regular file (%s)", what, render.Escape(path), fileKind(fi.Mode()))
	}
	data, err = io.ReadAll(io.LimitReader(file, max+1))
	if err != nil {
		return nil, path, inputError(err)
	}
	return data, path, nil
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// reconcileIndex reads /proc of the process the attached registry's
// snapshot comes from, for --reconcile (docs/importers.md, "Reconciling").
// It returns the index of that /proc snapshot and the addresses the
// registry is served on, whose sockets are its server's own.
func reconcileIndex(ctx context.Context, f *Factory, opts *LeaksOptions, s *snapshot.Snapshot) (*snapshot.Index, []string, error) {
	if opts.Input.Attach == "" {
		return nil, nil, usageError("--reconcile compares a live process with what /proc shows of it: use it with --attach TARGET")
	}
	c, err := opts.Input.client(f, opts.Input.Attach)
	if err != nil {
		return nil, nil, err // proc: and pprof: targets have no registry
	}
	defer c.Close()
	if s.Source.PID <= 0 {
		return nil, nil, &exitError{code: ExitError, err: errors.New("--reconcile: the attached process's snapshot names no pid (source.pid)")}
	}
	if host, err := os.Hostname(); err == nil && s.Source.Host != "" && s.Source.Host != host {
		return nil, nil, &exitError{code: ExitError, err: fmt.Errorf("--reconcile: the attached process runs on %s, not on this machine (%s)", render.Escape(s.Source.Host), render.Escape(host))}
	}
	ps, err := procsnap.Take(ctx, int(s.Source.PID), procsnap.Options{})
	if err != nil {
		return nil, nil, &exitError{code: ExitError, err: fmt.Errorf("--reconcile: %w", err)}
	}
	ix, err := snapshot.NewIndex(ps)
	if err != nil {
		return nil, nil, &exitError{code: ExitError, err: fmt.Errorf("--reconcile: %w", err)}
	}
	return ix, []string{c.Target().Addr}, nil
}

// reportBaseline reads --baseline when it is a leak report (leaks -o json)
// rather than a snapshot: ok is false for anything else, which is then
// read as a snapshot. The file is bounded by --max-input.
func reportBaseline(path string, maxBytes int64) (sigs []string, ok bool, err error) {
	if maxBytes <= 0 {
		maxBytes = snapshot.DefaultMaxBytes
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, false, nil // the snapshot reader says why, as for any input
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, false, nil
	}
	// Only as far as the first key tells: a snapshot is then read once,
	// by the snapshot reader.
	if !leaks.IsReport(bufio.NewReader(io.LimitReader(fh, maxBytes))) {
		return nil, false, nil
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return nil, false, inputError(err)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxBytes+1))
	if err != nil {
		return nil, false, inputError(err)
	}
	if int64(len(data)) > maxBytes {
		return nil, false, &exitError{code: ExitError, err: fmt.Errorf("invalid baseline report %s: larger than the limit of %d bytes (--max-input)", render.Escape(path), maxBytes)}
	}
	sigs, err = leaks.ReportSignatures(data)
	if err != nil {
		return nil, false, &exitError{code: ExitError, err: fmt.Errorf("invalid baseline report %s: %w", render.Escape(path), err)}
	}
	return sigs, true, nil
}

// reportPaths reads --source-root and --path-map (docs/ci.md, "Source paths").
func reportPaths(root string, maps []string) (report.Paths, error) {
	var p report.Paths
	for _, v := range maps {
		m, err := report.ParsePathRewrite(v)
		if err != nil {
			return p, usageError("--path-map: %v", err)
		}
		p.Map = append(p.Map, m)
	}
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return p, usageError("--source-root: %v", err)
		}
		p.SourceRoot = filepath.ToSlash(abs)
	}
	return p, nil
}
