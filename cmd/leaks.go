package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/coordinator"
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
growth must also be strictly monotonic across all of them.

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
	fl.StringVar(&opts.Suppressions, "suppressions", "", "suppressions file (default: "+coordinator.DefaultSuppressionsFile+" in the working directory, when present)")
	fl.IntVar(&opts.GrowthCount, "growth-count", coordinator.DefaultGrowth.Count, "growth: least increase in the live count of a (component, type); 0 turns the count criterion off")
	fl.StringVar(&opts.GrowthBytes, "growth-bytes", "16MiB", "growth: least increase in the live bytes of a (component, type); 0 turns the bytes criterion off")
	fl.Float64Var(&opts.GrowthPercent, "growth-percent", coordinator.DefaultGrowth.Percent, "growth: least increase relative to the old value, in percent")
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
	ro := coordinator.ReportOptions{
		Leaks: coordinator.LeakOptions{Grace: opts.Grace, MaxAge: opts.MaxAge},
		Now:   f.Now(),
	}
	if ro.FailOn, err = coordinator.ParseSeverity(opts.FailOn, true); err != nil {
		return usageError("--fail-on: %v", err)
	}
	if ro.Show, err = coordinator.ParseSeverity(opts.Severity, false); err != nil {
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
	ro.Growth = coordinator.GrowthOptions{Count: opts.GrowthCount, Bytes: gb, Percent: opts.GrowthPercent}
	if ro.Growth.Count == 0 && ro.Growth.Bytes == 0 && (opts.Baseline != "" || len(opts.Args) > 2) {
		return usageError("--growth-count 0 and --growth-bytes 0 turn growth off: keep one of them")
	}

	switch n := len(opts.Args); {
	case n == 2:
		return usageError("leaks reads one snapshot, or three or more of one scenario (oldest first); to compare two, use --baseline OLD NEW")
	case n > 2 && opts.Baseline != "":
		return usageError("--baseline compares two snapshots; with three or more, growth is measured across them: drop --baseline")
	}
	inputs, err := opts.Input.load(ctx, f, opts.Args)
	if err != nil {
		return err
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
		base, err := (&InputOptions{AttachOptions: AttachOptions{MaxBytes: opts.Input.MaxBytes}}).load(ctx, f, []string{opts.Baseline})
		if err != nil {
			return err
		}
		if ro.Baseline, err = index(base[0]); err != nil {
			return err
		}
	}
	if ro.Suppressions, err = loadSuppressions(opts.Suppressions); err != nil {
		return err
	}

	r := coordinator.Analyze(ix, ro)

	popts := report.Options{
		Input:    inputs[len(inputs)-1].Name,
		Version:  version(),
		Baseline: opts.Baseline,
		Series:   seriesNames,
		Grace:    opts.Grace,
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

// loadSuppressions reads the suppressions file named, or the default one
// when present; nil when there is none.
func loadSuppressions(path string) (*coordinator.Suppressions, error) {
	if path == "" {
		path = coordinator.DefaultSuppressionsFile
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, inputError(err)
	}
	s, err := coordinator.ParseSuppressions(data, path)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("invalid suppressions file: %w", err)}
	}
	return s, nil
}

// writeReport prints r in one format to stdout or to a file.
func writeReport(f *Factory, o leakOutput, popts report.Options, r *coordinator.Report) error {
	if o.path == "" {
		popts.Styles = f.Styles()
		p, err := report.New(o.format, popts)
		if err != nil {
			return usageError("%v", err)
		}
		return p.Print(f.IO.Out, r)
	}
	popts.Styles = render.NewStyles(io.Discard, false)
	p, err := report.New(o.format, popts)
	if err != nil {
		return usageError("%v", err)
	}
	file, err := os.Create(o.path)
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing the %s report: %w", o.format, err)}
	}
	err = p.Print(file, r)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("writing the %s report to %s: %w", o.format, o.path, err)}
	}
	return nil
}
