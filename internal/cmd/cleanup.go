package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// CleanupOptions are the flags of `rescoord cleanup`.
type CleanupOptions struct {
	Input InputOptions
	Args  []string

	DryRun        bool
	Component     string
	Outputs       []string
	CriticalChain bool
	// Yes skips the confirmation of a live cleanup.
	Yes bool
	// Deadline turns the plan into a verdict (--deadline, --baseline).
	Deadline DeadlineOptions
	// maxRegression is --max-regression as given ("20%").
	maxRegression string
	// targets are the -o values, checked.
	targets []output.Target
}

// NewCmdCleanup builds `rescoord cleanup`. A non-nil runF replaces the run, for tests.
func NewCmdCleanup(f *Factory, runF func(*CleanupOptions) error) *cobra.Command {
	opts := &CleanupOptions{}
	c := &cobra.Command{
		Use:   "cleanup --dry-run [SNAPSHOT]",
		Short: "Show the exact order in which cleanup releases everything, and why",
		Long: `cleanup --dry-run prints the cleanup plan of a snapshot: every step in the
order a cleanup runs it — callbacks, resources released by their type's
strategy, components marked destroyed — with its actions, its timeout and
the reason for its position, then the step count, the worst case (every
timeout one after another) and the critical path (the heaviest chain of
steps that must follow each other).

The order obeys three hard constraints: a resource is released before the
resources it depends on; a component's callbacks run before its resources
are released; a component is marked destroyed after its own steps and its
children. Among the steps that are ready, the deepest component goes first,
then the newest, then callbacks by priority, then resources by type
(workers, timers, files and sockets, GUI objects, the rest), newest first.
If the constraints form a cycle there is no plan: the members are named and
the exit code is 2.

With --deadline, the plan is a verdict for CI: exit 1 when the shutdown
would miss the deadline — by the critical path, or by the worst case with
--serial — naming the chain of steps that makes it late and by how much.
With --baseline OLD, the critical path and the worst case are compared with
those of an older snapshot's plan: exit 1 when either grew by more than
--max-regression.

Only a live process can really be cleaned (--attach); for a file, standard
input or the demo, --dry-run is required.`,
		Example: `  rescoord cleanup --dry-run --demo
  rescoord cleanup --dry-run --demo --component copy_verify_tab
  rescoord cleanup --dry-run --demo --critical-chain
  rescoord cleanup --dry-run snapshot.json -o json
  rescoord cleanup --dry-run snapshot.json --deadline 30s -o junit
  rescoord cleanup --dry-run new.json --baseline main.json --max-regression 20%`,
		Args: cobra.MaximumNArgs(1),
		RunE: runner(f, opts, &opts.Args, runF, runCleanup),
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan without cleaning anything (required unless --attach)")
	fl.StringVar(&opts.Component, "component", "", "plan only this component's subtree (default: the whole registry)")
	_ = c.RegisterFlagCompletionFunc("component", completeIDs(f, &opts.Input, false))
	addOutputFlag(c, printer.Cleanup, &opts.Outputs)
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "with --attach, clean without asking for confirmation")
	fl.BoolVar(&opts.CriticalChain, "critical-chain", false, "print only the heaviest chain of steps, with when each starts and how long it may take")
	fl.DurationVar(&opts.Deadline.Deadline, "deadline", 0, "with --dry-run, exit 1 when the cleanup may take longer than this (systemd stops a unit after 90s, Kubernetes a pod after 30s)")
	fl.BoolVar(&opts.Deadline.Serial, "serial", false, "with --deadline, hold the worst case (every step one after another) to the deadline instead of the critical path")
	fl.StringVar(&opts.Deadline.Baseline, "baseline", "", "with --dry-run, compare the critical path and worst case with those of this older snapshot")
	fl.StringVar(&opts.maxRegression, "max-regression", "20%", "with --baseline, the growth of the critical path or worst case that fails")
	return c
}

func runCleanup(ctx context.Context, f *Factory, opts *CleanupOptions) error {
	var err error
	if opts.targets, err = parseTargets(printer.Cleanup, opts.Outputs); err != nil {
		return err
	}
	onlyJSON := true
	for _, t := range opts.targets {
		if opts.CriticalChain && t.Format != "text" && t.Format != "wide" {
			return usageError("--critical-chain prints text: drop -o %s", t.Format)
		}
		onlyJSON = onlyJSON && t.Format == "json"
	}
	if err := opts.checkDeadlineFlags(); err != nil {
		return err
	}
	if !opts.DryRun {
		if opts.Input.Attach == "" {
			return usageError("only a live process can be cleaned: use --attach TARGET (with --component ID), or --dry-run to see the plan")
		}
		return runLiveCleanup(ctx, f, opts)
	}
	opts.Input.dropMetadata = true // never shown
	in, ix, err := opts.Input.loadIndex(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	// JSON only writes the steps out: a lazy plan makes them block by
	// block as they are written (see planJSONPrinter).
	plan, err := newPlan(ix, opts.Component, onlyJSON && !opts.CriticalChain)
	if err != nil {
		return err
	}
	vd, err := judge(ctx, f, opts, plan)
	if err != nil {
		return err
	}
	data := &printer.CleanupData{Plan: plan, Index: ix, Scope: opts.Component, Verdict: vd, Input: in.Name, CriticalChain: opts.CriticalChain}
	if len(plan.Warnings) > 0 && !opts.CriticalChain {
		if t, ok := output.Stdout(opts.targets); ok && (t.Format == "text" || t.Format == "wide") {
			es := f.ErrStyles()
			for _, w := range plan.Warnings {
				fmt.Fprintf(f.HumanErr(), "%s %s\n", es.Warning.Render("warning:"), render.Escape(w))
			}
		}
	}
	if err := printTo(f, printer.Cleanup, opts.targets, printer.Options{}, data); err != nil {
		return err
	}
	return verdictExit(vd)
}

// checkDeadlineFlags refuses the verdict flags where they mean nothing.
func (opts *CleanupOptions) checkDeadlineFlags() error {
	d := &opts.Deadline
	p, err := parsePercent("--max-regression", opts.maxRegression)
	if err != nil {
		return err
	}
	d.MaxRegression = p
	switch {
	case d.Deadline < 0:
		return usageError("invalid --deadline %s: want a positive duration such as 30s", d.Deadline)
	case d.Serial && d.Deadline == 0:
		return usageError("--serial needs --deadline")
	case d.active() && !opts.DryRun:
		return usageError("--deadline and --baseline judge a plan: add --dry-run")
	}
	return nil
}

// verdictExit is exit 1 when the verdict fails.
func verdictExit(v *printer.Verdict) error {
	if v.Failed() {
		return errFindings
	}
	return nil
}

// newPlan plans scope ("" for the whole registry), lazily if asked (its
// steps made on demand by a StepFiller). An unknown component is a usage
// error; a cycle is exit 2 naming its members.
func newPlan(ix *snapshot.Index, scope string, lazy bool) (*planner.Plan, error) {
	if scope != "" {
		if _, ok := ix.ComponentIndex(scope); !ok {
			return nil, usageError("no component %q in the snapshot", scope)
		}
	}
	plan := planner.NewPlan
	if lazy {
		plan = planner.NewLazyPlan
	}
	p, err := plan(ix, planner.Scope{Component: scope})
	if err != nil {
		var ce *planner.CycleError
		if errors.As(err, &ce) {
			return nil, &exitError{code: ExitError, err: err}
		}
		return nil, err
	}
	return p, nil
}
