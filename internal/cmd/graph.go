package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/planner"
)

// GraphOptions are the flags of `rescoord graph`.
type GraphOptions struct {
	Input InputOptions
	Args  []string

	Outputs   []string
	Component string
	Plan      bool
	All       bool
	// Leaks draws only the paths from the roots to the leak findings.
	Leaks bool
}

// NewCmdGraph builds `rescoord graph`. A non-nil runF replaces the run, for tests.
func NewCmdGraph(f *Factory, runF func(*GraphOptions) error) *cobra.Command {
	opts := &GraphOptions{}
	c := &cobra.Command{
		Use:   "graph [SNAPSHOT]",
		Short: "Draw the ownership tree and the dependencies as Graphviz DOT or Mermaid",
		Long: `graph writes the component tree, the resources each component owns and the
depends_on links between resources as a Graphviz DOT digraph or a Mermaid
flowchart.

Solid edges are ownership (parent → child, component → resource); dashed
edges are depends_on (the resource at the tail is cleaned up before the one
at the head). Destroyed components and released resources are dashed and
grey; owners and parents that are not in the snapshot are dotted and grey;
resources whose depends_on form a cycle, and the edges of the cycle, are red.
The leaks rescoord leaks finds are filled, with a legend: running orphans
(running-orphan, running-under-orphan) light red, orphans (orphaned-resource,
orphaned-component) orange, and the subtree of a component over its limit
violet; --leaks draws only the paths from the roots to the findings.
Only live resources are drawn unless --all is given. --plan numbers each
node with its step in the cleanup plan (components also list their
callbacks' steps).`,
		Example: `  rescoord graph --demo | dot -Tsvg > registry.svg
  rescoord graph --demo -o mermaid --plan
  rescoord graph --demo -o dot=registry.dot -o mermaid=registry.mmd
  rescoord graph snapshot.json --component copy_verify_tab --all
  rescoord graph --demo --leaks | dot -Tsvg > leaks.svg`,
		Args: cobra.MaximumNArgs(1),
		RunE: runner(f, opts, &opts.Args, runF, runGraph),
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	addOutputFlag(c, printer.Graph, &opts.Outputs)
	// --format, the flag's earlier name, stays as a hidden alias of -o.
	fl.Var(&appendValue{to: &opts.Outputs}, "format", "the same as --output")
	_ = fl.MarkHidden("format")
	fl.StringVar(&opts.Component, "component", "", "draw only this component's subtree")
	_ = c.RegisterFlagCompletionFunc("component", completeIDs(f, &opts.Input, false))
	fl.BoolVar(&opts.Plan, "plan", false, "label each node with its step number in the cleanup plan")
	fl.BoolVar(&opts.All, "all", false, "also draw released resources")
	fl.BoolVar(&opts.Leaks, "leaks", false, "draw only the paths from the roots to what rescoord leaks finds")
	return c
}

func runGraph(ctx context.Context, f *Factory, opts *GraphOptions) error {
	targets, err := parseTargets(printer.Graph, opts.Outputs)
	if err != nil {
		return err
	}
	opts.Input.dropMetadata = true // never shown
	_, ix, err := opts.Input.loadIndex(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	root := -1
	if opts.Component != "" {
		ci, ok := ix.ComponentIndex(opts.Component)
		if !ok {
			return usageError("no component %q in the snapshot", opts.Component)
		}
		root = ci
	}
	var plan *planner.Plan
	if opts.Plan {
		if plan, err = newPlan(ix, opts.Component, false); err != nil {
			return fmt.Errorf("%w (drop --plan to draw the graph with the cycle in red)", err)
		}
	}
	findings := leaks.FindLeaks(ix, leaks.LeakOptions{})
	return printTo(f, printer.Graph, targets, printer.Options{}, &printer.GraphData{Index: ix, Root: root, All: opts.All, Plan: plan, Findings: findings, OnlyLeaks: opts.Leaks})
}
