package cmd

import (
	"bytes"
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// completeFunc is the shape of cobra's flag completion functions.
type completeFunc = func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective)

// completable reports whether s can be offered to a shell as it is: no
// character Escape would show escaped, no blank (a shell would split it).
func completable(s string) bool {
	return s != "" && render.Escape(s) == s && !strings.ContainsAny(s, " \t")
}

// completeAttach completes --attach with what rescoord ps lists: the
// process name and pid:N of every discovery file that is trusted and whose
// process is alive.
func completeAttach(f *Factory) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		listed, err := discovery.List(discovery.Dir(f.Getenv), nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		seen := map[string]bool{}
		add := func(value, desc string) {
			if completable(value) && !seen[value] && strings.HasPrefix(value, toComplete) {
				seen[value] = true
				out = append(out, cobra.CompletionWithDesc(value, render.Escape(desc)))
			}
		}
		for _, l := range listed {
			if l.Stale || l.Refused != "" {
				continue
			}
			pid := "pid:" + strconv.Itoa(l.PID)
			add(l.Process, pid)
			add(pid, l.Process)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeIDs completes a flag with the component ids of the snapshot
// the command line names (its SNAPSHOT argument, or --demo), and with
// owners also the owners that resources name (a missing owner's orphans).
// Standard input and --attach are not read to complete.
func completeIDs(f *Factory, in *InputOptions, owners bool) completeFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := c.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		var ix *snapshot.Index
		var err error
		switch {
		case in.Demo:
			ix, err = snapshot.DecodeIndex(ctx, bytes.NewReader(f.Demo), "demo", snapshot.Options{})
		case len(args) == 1 && args[0] != "-" && in.Attach == "":
			ix, err = snapshot.LoadIndex(ctx, args[0], snapshot.Options{MaxBytes: in.MaxBytes})
		default:
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		desc := map[string]string{}
		var ids []string
		add := func(id, d string) {
			if _, ok := desc[id]; ok || !completable(id) || !strings.HasPrefix(id, toComplete) {
				return
			}
			desc[id] = d
			ids = append(ids, id)
		}
		for i := range ix.Snap.Components {
			comp := &ix.Snap.Components[i]
			add(comp.ID, strings.TrimSpace(comp.DisplayName()+" ("+comp.Type+", "+comp.State+")"))
		}
		if owners {
			for i := range ix.Snap.Resources {
				if o := ix.Snap.Resources[i].Owner; o != "" {
					add(o, "not in the snapshot")
				}
			}
		}
		sort.Strings(ids)
		out := make([]cobra.Completion, len(ids))
		for i, id := range ids {
			out[i] = cobra.CompletionWithDesc(id, render.Escape(desc[id]))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
