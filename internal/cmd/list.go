package cmd

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/output"
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
	Outputs   []string
	Tree      bool
}

// listFormats are the formats of `rescoord list`.
var listFormats = output.Formats{
	{Name: "table", Help: "the main columns"},
	{Name: "wide", Help: "every column"},
	{Name: "json", Help: `{"resources", "total"}`},
	{Name: "csv", Help: "every column, a header row"},
	{Name: "markdown", Help: "a table for a pull request or an issue"},
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
	listFormats.AddFlag(c, &opts.Outputs)
	fl.BoolVar(&opts.Tree, "tree", false, "show the component tree with resource counts and live bytes")
	_ = c.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(snapshot.KnownTypes, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(snapshot.SortKeys, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"live", "active", "releasing", "released", "all"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runList(ctx context.Context, f *Factory, opts *ListOptions) error {
	targets, err := parseTargets(listFormats, opts.Outputs)
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
	in, err := opts.Input.loadOne(ctx, f, opts.Args)
	if err != nil {
		return err
	}
	ix, err := index(in)
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
		return printTo(f, targets, func(w io.Writer, st *render.Styles, _ string) error {
			return printTree(render.SafeWriter(w), st, ix, sel, opts.Owner)
		})
	}
	sel, err := ix.Select(q)
	if err != nil {
		return usageError("%v", err)
	}
	total := len(sel)
	if opts.Limit > 0 && len(sel) > opts.Limit {
		sel = sel[:opts.Limit]
	}
	res := ix.Snap.Resources
	if len(sel) == 0 {
		fmt.Fprintln(f.HumanErr(), "no resources match")
	}
	err = printTo(f, targets, func(w io.Writer, st *render.Styles, format string) error {
		switch format {
		case "json":
			return printListJSON(w, res, sel, total)
		case "csv":
			// Escaped as text is (docs: README): a terminal or a CI log shows it.
			return printListCSV(render.SafeWriter(w), res, sel)
		}
		w = render.SafeWriter(w)
		header, rows := listRows(ix, sel, format == "wide")
		if format == "markdown" {
			return render.Markdown(w, header, rows)
		}
		if len(sel) == 0 {
			return nil
		}
		if format == "wide" {
			return render.Table(w, st.Unfitted(), header, rows)
		}
		// On a terminal the table fits its width (README, "Tables on a
		// terminal"); -o wide shows every cell whole.
		return render.FitTable(w, st, header, rows, "NAME", "OWNER")
	})
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

// printListJSON writes {"resources": [...], "total": N} (docs/snapshot-format.md, "list -o json") as
// encoding/json's Encoder with a two-space indent writes it, one resource
// at a time: each is appended as compact JSON (Resource.AppendJSON), then
// indented into the output buffer.
func printListJSON(w io.Writer, res []snapshot.Resource, sel []int32, total int) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString("{\n  \"resources\": [")
	var compact []byte
	for k, i := range sel {
		if k > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		compact = res[i].AppendJSON(compact[:0])
		if _, err := bw.Write(appendIndentedJSON(bw.AvailableBuffer(), compact, 2)); err != nil {
			return err
		}
	}
	if len(sel) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"total\": ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(total), 10))
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// appendIndentedJSON appends the JSON value src, starting at nesting
// depth, the way encoding/json's Encoder writes a Marshaler's output with
// SetIndent("", "  "): white space outside strings dropped, one member or
// element per line, empty objects and arrays as {} and [], a space after
// each colon, and <, >, &, U+2028 and U+2029 escaped in strings (raw
// metadata may hold them as they are). src must be valid JSON.
func appendIndentedJSON(dst, src []byte, depth int) []byte {
	open := false // just after { or [: the newline waits for a first member
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if open && c != '}' && c != ']' {
			open = false
			depth++
			dst = appendJSONNewline(dst, depth)
		}
		switch c {
		case '"':
			var end int
			dst, end = copyJSONString(dst, src, i)
			i = end
		case '{', '[':
			open = true
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			dst = appendJSONNewline(dst, depth)
		case ':':
			dst = append(dst, ':', ' ')
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				dst = appendJSONNewline(dst, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendJSONNewline(dst []byte, depth int) []byte {
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, ' ', ' ')
	}
	return dst
}

// copyJSONString copies the string that starts with the quote at
// src[start], escaping what encoding/json escapes in a Marshaler's output
// (<, >, &, U+2028, U+2029), and returns the position of its closing quote.
func copyJSONString(dst, src []byte, start int) ([]byte, int) {
	from := start
	for i := start + 1; i < len(src); i++ {
		if !jsonStringSpecial[src[i]] {
			continue
		}
		switch c := src[i]; c {
		case '\\':
			i++ // the escaped byte
		case '"':
			return append(dst, src[from:i+1]...), i
		case '<', '>', '&':
			dst = append(dst, src[from:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			from = i + 1
		case 0xe2: // U+2028 and U+2029 are e2 80 a8 and e2 80 a9
			if i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xa8 {
				dst = append(dst, src[from:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigit[src[i+2]&0xf])
				i += 2
				from = i + 1
			}
		}
	}
	return append(dst, src[from:]...), len(src) - 1
}

// jsonStringSpecial marks the bytes copyJSONString looks at.
var jsonStringSpecial = [256]bool{'\\': true, '"': true, '<': true, '>': true, '&': true, 0xe2: true}

const hexDigit = "0123456789abcdef"

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
		// A cell is quoted as CSV wants, and escaped (render.Escape): a
		// terminal would act on an ESC in it (docs: list -o csv).
		_ = cw.Write([]string{render.Escape(r.ID), render.Escape(r.Type), render.Escape(r.Name), render.Escape(r.Owner),
			render.Escape(r.State), strconv.FormatBool(r.Running), strconv.FormatInt(r.SizeBytes, 10), created,
			render.Escape(strings.Join(r.DependsOn, " ")), render.Escape(frame)})
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
		row := []string{render.Escape(r.ID), render.Escape(r.Type), render.Escape(r.Name), render.Escape(r.Owner),
			render.Escape(state), size, render.Since(s.TakenAt, r.CreatedAt)}
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
			row = append(row, render.Escape(ownerState), render.Escape(deps), render.Escape(frame))
		}
		rows = append(rows, row)
	}
	return header, rows
}
