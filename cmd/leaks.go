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

	"github.com/rescoord/rescoord/internal/atomicfile"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/leaks"
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
		RunE: func(c *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return runLeaks(c.Context(), f, opts)
		},
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	fl.StringArrayVarP(&opts.Outputs, "output", "o", []string{"text"}, "report format, repeatable: text, json, sarif, junit, github or markdown; FORMAT=PATH writes to a file")
	fl.StringVar(&opts.FailOn, "fail-on", "error", "exit 1 when a finding is at or above this severity: critical, error, warning, info or none")
	fl.StringVar(&opts.Severity, "severity", "info", "show findings at or above this severity: critical, error, warning or info (the exit code still counts all)")
	fl.DurationVar(&opts.Grace, "grace", 0, "report a resource whose owner was destroyed less than this before the snapshot as info, not as a leak (e.g. 5s)")
	fl.DurationVar(&opts.MaxAge, "max-age", 0, "report live resources older than this as stale-resource (e.g. 10m); off by default")
	fl.StringVar(&opts.Baseline, "baseline", "", "an older snapshot of the same scenario: show only new findings, and growth since it")
	fl.StringVar(&opts.Suppressions, "suppressions", "", "suppressions file (default: "+leaks.DefaultSuppressionsFile+" in the working directory, when present)")
	fl.IntVar(&opts.GrowthCount, "growth-count", leaks.DefaultGrowth.Count, "growth: least increase in the live count of a (component, type); 0 turns the count criterion off")
	fl.StringVar(&opts.GrowthBytes, "growth-bytes", "16MiB", "growth: least increase in the live bytes of a (component, type); 0 turns the bytes criterion off")
	fl.Float64Var(&opts.GrowthPercent, "growth-percent", leaks.DefaultGrowth.Percent, "growth: least increase relative to the old value, in percent")
	fl.BoolVar(&opts.NoStepSummary, "no-step-summary", false, "with -o github, do not append the Markdown report to $GITHUB_STEP_SUMMARY")
	fl.StringVar(&opts.SourceRoot, "source-root", "", "for -o sarif, github and junit: make absolute frame paths under this directory relative to it")
	fl.StringArrayVar(&opts.PathMap, "path-map", nil, "for -o sarif, github and junit: replace the frame path prefix FROM by TO, repeatable (FROM=TO; the first match wins; before --source-root)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(report.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"critical", "error", "warning", "info", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("severity", cobra.FixedCompletions([]string{"critical", "error", "warning", "info"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// leakOutput is one -o value: a format and where it goes ("" for stdout).
type leakOutput struct {
	format, path string
}

// parseOutputs reads the -o values; at most one may go to stdout.
func parseOutputs(values []string) ([]leakOutput, error) {
	var outs []leakOutput
	stdout := 0
	for _, v := range values {
		format, path, hasPath := strings.Cut(v, "=")
		if err := oneOf("--output", format, report.Formats...); err != nil {
			return nil, err
		}
		if hasPath && path == "" {
			return nil, usageError("invalid --output %q: give a path after =, or just %s for standard output", v, format)
		}
		if !hasPath {
			stdout++
		}
		outs = append(outs, leakOutput{format, path})
	}
	if stdout > 1 {
		return nil, usageError("at most one --output can go to standard output; write the others to files with FORMAT=PATH")
	}
	return outs, nil
}

func runLeaks(ctx context.Context, f *Factory, opts *LeaksOptions) error {
	outs, err := parseOutputs(opts.Outputs)
	if err != nil {
		return err
	}
	ro := leaks.ReportOptions{
		Leaks: leaks.LeakOptions{Grace: opts.Grace, MaxAge: opts.MaxAge},
		Now:   f.Now(),
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
		if o.format == "json" && o.path != "" {
			popts.FullReport = o.path
			break
		}
	}
	for _, o := range outs {
		if err := writeReport(f, o, popts, r); err != nil {
			return err
		}
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
	def := path == ""
	flag := os.O_RDONLY | syscall.O_NONBLOCK // opening a FIFO never waits for a writer
	if def {
		path = leaks.DefaultSuppressionsFile
		flag |= syscall.O_NOFOLLOW
	}
	file, err := os.OpenFile(path, flag, 0)
	switch {
	case def && errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case def && errors.Is(err, syscall.ELOOP):
		warnf(f, "%s is a symbolic link: not read, no suppressions apply (commit the file itself)", path)
		return nil, nil
	case err != nil:
		return nil, inputError(err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, inputError(err)
	}
	if !fi.Mode().IsRegular() {
		if def {
			warnf(f, "%s is not a regular file (%s): not read, no suppressions apply", path, fileKind(fi.Mode()))
			return nil, nil
		}
		return nil, usageError("invalid suppressions file: %s is not a regular file (%s)", render.Escape(path), fileKind(fi.Mode()))
	}
	data, err := io.ReadAll(io.LimitReader(file, leaks.MaxSuppressionsBytes+1))
	if err != nil {
		return nil, inputError(err)
	}
	s, err := leaks.ParseSuppressions(data, path)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("invalid suppressions file: %w", err)}
	}
	return s, nil
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

// writeReport prints r in one format to stdout or to a file.
func writeReport(f *Factory, o leakOutput, popts report.Options, r *leaks.Report) error {
	if o.path == "" {
		popts.Styles = f.Styles()
		p, err := report.New(o.format, popts)
		if err != nil {
			return usageError("%v", err)
		}
		if err := p.Print(f.IO.Out, r); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing the %s report: %w", o.format, err)}
		}
		return nil
	}
	popts.Styles = render.NewStyles(io.Discard, false)
	p, err := report.New(o.format, popts)
	if err != nil {
		return usageError("%v", err)
	}
	if err := writeFile(o.path, 0o644, func(w io.Writer) error { return p.Print(w, r) }); err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing the %s report to %s: %w", o.format, render.Escape(o.path), err)}
	}
	return nil
}

// writeFile writes a report file: atomically (internal/atomicfile), a new
// file with mode perm less the umask, refusing a symbolic link; or, for a
// stream, straight to it, appending, since a stream cannot be replaced. A
// stream is a FIFO or character device named as such, or a link under /dev/
// or /proc/ — system-made, such as /dev/stdout or a shell's process
// substitution /dev/fd/63 — to anything but a directory. A FIFO with no
// reader is an error, not a wait. Errors about path do not repeat it.
func writeFile(path string, perm fs.FileMode, print func(io.Writer) error) error {
	stream := false
	if lfi, err := os.Lstat(path); err == nil {
		switch m := lfi.Mode(); {
		case m&(fs.ModeNamedPipe|fs.ModeCharDevice) != 0:
			stream = true
		case m&fs.ModeSymlink != 0 && systemPath(path):
			fi, err := os.Stat(path)
			stream = err == nil && !fi.IsDir()
		}
	}
	if !stream {
		return unwrapPath(atomicfile.Write(path, perm, print), path)
	}
	flag := os.O_WRONLY | os.O_APPEND
	if fi, err := os.Stat(path); err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
		flag |= syscall.O_NONBLOCK // fail with ENXIO when nobody reads
	}
	file, err := os.OpenFile(path, flag, 0)
	if errors.Is(err, syscall.ENXIO) {
		return errors.New("a FIFO that nobody reads")
	}
	if err != nil {
		return unwrapPath(err, path)
	}
	w := bufio.NewWriterSize(file, 64<<10)
	err = print(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return unwrapPath(err, path)
}

// systemPath reports whether path is under /dev/ or /proc/, whose links
// the system makes (no other user can plant one there).
func systemPath(path string) bool {
	abs, err := filepath.Abs(path)
	return err == nil && (strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/"))
}

// unwrapPath drops the *fs.PathError around err when it names path, which
// the caller's message already names.
func unwrapPath(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return pe.Err
	}
	return err
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
