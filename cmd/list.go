package cmd

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/render"
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
	Output    string
	Tree      bool
}

var listFormats = []string{"table", "wide", "json", "csv", "markdown"}

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
		RunE: func(c *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return runList(f, opts)
		},
	}
	opts.Input.addFlags(c)
	fl := c.Flags()
	fl.StringArrayVar(&opts.Types, "type", nil, "keep resources of this type (repeatable)")
	fl.StringVar(&opts.Owner, "owner", "", "keep resources owned by this component id")
	fl.BoolVarP(&opts.Recursive, "recursive", "r", false, "with --owner, include the component's whole subtree")
	fl.StringVar(&opts.State, "state", "live", "keep resources in this state: live, active, releasing, released or all")
	fl.BoolVar(&opts.Running, "running", false, "keep only running resources")
	fl.StringVar(&opts.MinSize, "min-size", "", "keep resources of at least this size (4096, 512KiB, 10MB)")
	fl.StringVar(&opts.Sort, "sort", "", "order by id, size (largest first), age (oldest first), type or owner; default: snapshot order")
	fl.IntVar(&opts.Limit, "limit", 0, "show at most this many resources (0: all)")
	fl.StringVarP(&opts.Output, "output", "o", "table", "output format: table, wide, json, csv or markdown")
	fl.BoolVar(&opts.Tree, "tree", false, "show the component tree with resource counts and live bytes")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(listFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(snapshot.KnownTypes, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(snapshot.SortKeys, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"live", "active", "releasing", "released", "all"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runList(f *Factory, opts *ListOptions) error {
	if err := oneOf("--output", opts.Output, listFormats...); err != nil {
		return err
	}
	if opts.Tree && opts.Output != "table" && opts.Output != "wide" {
		return usageError("--tree prints a text tree: use it without -o, or drop --tree for %s", opts.Output)
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
	in, err := opts.Input.loadOne(f, opts.Args)
	if err != nil {
		return err
	}
	ix, err := index(in)
	if err != nil {
		return err
	}
	if opts.Tree {
		// The tree is rooted at --owner and always shows its whole subtree.
		q.Sort = ""
		q.Recursive = q.Owner != ""
		sel, err := ix.Select(q)
		if err != nil {
			return usageError("%v", err)
		}
		return printTree(f.IO.Out, f.Styles(), ix, sel, opts.Owner)
	}
	sel, err := ix.Select(q)
	if err != nil {
		return usageError("%v", err)
	}
	total := len(sel)
	if opts.Limit > 0 && len(sel) > opts.Limit {
		sel = sel[:opts.Limit]
	}
	w := f.IO.Out
	res := ix.Snap.Resources
	switch opts.Output {
	case "json":
		return printListJSON(w, res, sel, total)
	case "csv":
		return printListCSV(w, res, sel)
	}
	wide := opts.Output == "wide"
	header, rows := listRows(ix, sel, wide)
	if opts.Output == "markdown" {
		return render.Markdown(w, header, rows)
	}
	if len(sel) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "no resources match")
		return nil
	}
	if err := render.Table(w, f.Styles(), header, rows); err != nil {
		return err
	}
	if total > len(sel) {
		fmt.Fprintf(f.IO.ErrOut, "(%d more not shown: --limit %d)\n", total-len(sel), opts.Limit)
	}
	return nil
}

func printListJSON(w io.Writer, res []snapshot.Resource, sel []int32, total int) error {
	out := struct {
		Resources []*snapshot.Resource `json:"resources"`
		Total     int                  `json:"total"`
	}{Resources: make([]*snapshot.Resource, len(sel)), Total: total}
	for k, i := range sel {
		out.Resources[k] = &res[i]
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printListCSV(w io.Writer, res []snapshot.Resource, sel []int32) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "type", "name", "owner", "state", "running", "size_bytes", "created_at", "depends_on", "created_by"})
	for _, i := range sel {
		r := &res[i]
		created := ""
		if !r.CreatedAt.IsZero() {
			created = r.CreatedAt.Format(time.RFC3339Nano)
		}
		frame := ""
		if len(r.CreatedBy) > 0 {
			frame = r.CreatedBy[0]
		}
		_ = cw.Write([]string{r.ID, r.Type, r.Name, r.Owner, r.State, strconv.FormatBool(r.Running),
			strconv.FormatInt(r.SizeBytes, 10), created, strings.Join(r.DependsOn, " "), frame})
	}
	cw.Flush()
	return cw.Error()
}

// listRows builds the table: human sizes and ages relative to taken_at.
func listRows(ix *snapshot.Index, sel []int32, wide bool) ([]string, [][]string) {
	header := []string{"ID", "TYPE", "NAME", "OWNER", "STATE", "SIZE", "AGE"}
	if wide {
		header = append(header, "OWNER STATE", "DEPENDS ON", "CREATED BY")
	}
	s := ix.Snap
	rows := make([][]string, 0, len(sel))
	for _, i := range sel {
		r := &s.Resources[i]
		state := r.State
		if r.Running {
			state += ", running"
		}
		size := "-"
		if r.SizeBytes > 0 {
			size = render.Bytes(r.SizeBytes)
		}
		row := []string{r.ID, r.Type, r.Name, r.Owner, state, size, render.Since(s.TakenAt, r.CreatedAt)}
		if wide {
			ownerState := "missing"
			if o := ix.Owner(int(i)); o >= 0 {
				ownerState = s.Components[o].State
			}
			frame := "-"
			if len(r.CreatedBy) > 0 {
				frame = r.CreatedBy[0]
			}
			deps := "-"
			if len(r.DependsOn) > 0 {
				deps = strings.Join(r.DependsOn, ",")
			}
			row = append(row, ownerState, deps, frame)
		}
		rows = append(rows, row)
	}
	return header, rows
}
