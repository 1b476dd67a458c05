package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ListOptions are the flags of `rescoord list`.
type ListOptions struct {
	Input InputOptions
	Args  []string

	Types     []string
	Owner     string
	Recursive bool
	State     string
	Running   bool
	MinSize   string
	Sort      string
	Limit     int
	Outputs   []string
	Tree      bool
}

// NewCmdList builds `rescoord list`. A non-nil runF replaces the run, for tests.
func NewCmdList(f *Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{}
	c := &cobra.Command{
		Use:   "list [SNAPSHOT]",
		Short: "Show the tracked resources, filtered and sorted, or the component tree",
		Example: `  rescoord list --demo
  rescoord list --demo --type worker --type thread --running
  rescoord list --demo --owner copy_verify_tab --recursive --sort size
  rescoord list --demo --tree
  rescoord list snapshot.json -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: runner(f, opts, &opts.Args, runF, runList),
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	fl.StringArrayVar(&opts.Types, "type", nil, "keep resources of this type (repeatable)")
	fl.StringVar(&opts.Owner, "owner", "", "keep resources owned by this component id")
	_ = c.RegisterFlagCompletionFunc("owner", completeIDs(f, &opts.Input, true))
	fl.BoolVarP(&opts.Recursive, "recursive", "r", false, "with --owner, include the component's whole subtree")
	fl.StringVar(&opts.State, "state", "live", "keep resources in this state: live, active, releasing, released or all")
	fl.BoolVar(&opts.Running, "running", false, "keep only running resources")
	fl.StringVar(&opts.MinSize, "min-size", "", "keep resources of at least this size (4096, 512KiB, 10MB)")
	fl.StringVar(&opts.Sort, "sort", "", "order by id, size (largest first), age (oldest first), type or owner; default: snapshot order")
	fl.IntVar(&opts.Limit, "limit", 0, "show at most this many resources (0: all)")
	addOutputFlag(c, printer.List, &opts.Outputs)
	fl.BoolVar(&opts.Tree, "tree", false, "show the component tree with resource counts and live bytes")
	_ = c.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(snapshot.KnownTypes(), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(snapshot.SortKeys(), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"live", "active", "releasing", "released", "all"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runList(ctx context.Context, f *Factory, opts *ListOptions) error {
	targets, err := parseTargets(printer.List, opts.Outputs)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if opts.Tree && t.Format != "table" && t.Format != "wide" {
			return usageError("--tree prints a text tree: use it without -o, or drop --tree for %s", t.Format)
		}
	}
	if opts.Recursive && opts.Owner == "" {
		return usageError("--recursive needs --owner ID")
	}
	if opts.Limit < 0 {
		return usageError("invalid --limit %d: want 0 or more", opts.Limit)
	}
	q := snapshot.Query{Types: opts.Types, Owner: opts.Owner, Recursive: opts.Recursive, State: snapshot.StateFilter(opts.State), Running: opts.Running, Sort: opts.Sort}
	if opts.MinSize != "" {
		n, err := parseSize(opts.MinSize)
		if err != nil {
			return usageError("--min-size: %v", err)
		}
		q.MinSize = n
	}
	_, ix, err := opts.Input.loadIndex(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	if opts.Owner != "" && !knownOwner(ix, opts.Owner) {
		return usageError("no component %q in the snapshot", opts.Owner)
	}
	if opts.Tree {
		// The tree is rooted at --owner and always shows its whole subtree.
		q.Sort = ""
		q.Recursive = q.Owner != ""
		sel, err := ix.Select(q)
		if err != nil {
			return usageError("%v", err)
		}
		if _, ok := ix.ComponentIndex(opts.Owner); opts.Owner != "" && !ok {
			return usageError("no component %q in the snapshot", opts.Owner)
		}
		return printTo(f, printer.List, targets, printer.Options{}, &printer.ListData{Index: ix, Sel: sel, Tree: true, Root: opts.Owner})
	}
	sel, err := ix.Select(q)
	if err != nil {
		return usageError("%v", err)
	}
	total := len(sel)
	if opts.Limit > 0 && len(sel) > opts.Limit {
		sel = sel[:opts.Limit]
	}
	if len(sel) == 0 {
		fmt.Fprintln(f.HumanErr(), "no resources match")
	}
	err = printTo(f, printer.List, targets, printer.Options{}, &printer.ListData{Index: ix, Sel: sel, Total: total})
	if err != nil {
		return err
	}
	if total > len(sel) {
		fmt.Fprintf(f.IO.ErrOut, "(%d more not shown: --limit %d)\n", total-len(sel), opts.Limit)
	}
	return nil
}

// knownOwner reports whether id is a component of the snapshot or the
// owner some resource names (a missing owner's orphans are listed too).
func knownOwner(ix *snapshot.Index, id string) bool {
	if _, ok := ix.ComponentIndex(id); ok {
		return true
	}
	for i := range ix.Snap.Resources {
		if ix.Snap.Resources[i].Owner == id {
			return true
		}
	}
	return false
}
