package printer

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ListData is what `rescoord list` prints: the selected resources of an
// index (Sel, in order, at most a --limit of the Total that matched) or,
// with Tree, the component tree from Root ("" for every root) with the
// counts and bytes of the selected resources.
type ListData struct {
	Index *snapshot.Index
	Sel   []int32
	Total int
	Tree  bool
	Root  string
}

func (*ListData) kind() Kind { return List }

func listPrinter(format string, st *render.Styles) printFunc {
	return func(w io.Writer, d Data) error {
		l := d.(*ListData)
		ix, sel := l.Index, l.Sel
		if l.Tree {
			return printTree(w, st, ix, sel, l.Root)
		}
		switch format {
		case "json":
			return printListJSON(w, ix.Snap.Resources, sel, l.Total)
		case "csv":
			// Escaped as text is (docs: README): a terminal or a CI log shows it.
			return printListCSV(w, ix.Snap.Resources, sel)
		}
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
	}
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
		frame := r.CreatedBy.Top()
		// A cell is quoted as CSV wants, and escaped (render.Escape): a
		// terminal would act on an ESC in it (docs: list -o csv).
		_ = cw.Write([]string{render.Escape(r.ID), render.Escape(r.Type), render.Escape(r.Name), render.Escape(r.Owner),
			r.State.String(), strconv.FormatBool(r.Running), strconv.FormatInt(r.SizeBytes, 10), created,
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
		state := r.State.String()
		if r.Running {
			state += ", running"
		}
		size := "-"
		if r.SizeBytes > 0 {
			size = render.Bytes(r.SizeBytes)
		}
		row := []string{render.Escape(r.ID), render.Escape(r.Type), render.Escape(r.Name), render.Escape(r.Owner),
			state, size, render.Since(s.TakenAt, r.CreatedAt)}
		if wide {
			ownerState := "missing"
			if o := ix.Owner(int(i)); o >= 0 {
				ownerState = s.Components[o].State
			}
			frame := "-"
			if r.CreatedBy.Len() > 0 {
				frame = r.CreatedBy.Top()
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

// maxTreeDepth is the deepest level the tree draws indented: below it the
// indentation stops growing and each line starts with its real depth
// ("[depth 40]"), so a chain of 50,000 components prints in megabytes, not
// gigabytes (README, "list --tree").
const maxTreeDepth = 32

// printTree prints the component tree (from root, or every root when root is
// ""), each node with the count and bytes of the selected resources it owns
// and those of its subtree; destroyed components are marked. Every string
// from the snapshot is escaped (render.Escape).
func printTree(w io.Writer, st *render.Styles, ix *snapshot.Index, sel []int32, root string) error {
	s := ix.Snap
	n := len(s.Components)
	ownCount := make([]int, n)
	ownBytes := make([]int64, n)
	orphans := map[string][2]int64{} // missing owner -> count, bytes
	for _, i := range sel {
		r := &s.Resources[i]
		if o := ix.Owner(int(i)); o >= 0 {
			ownCount[o]++
			ownBytes[o] += r.SizeBytes
		} else {
			v := orphans[r.Owner]
			orphans[r.Owner] = [2]int64{v[0] + 1, v[1] + r.SizeBytes}
		}
	}
	subCount := slices.Clone(ownCount)
	subBytes := slices.Clone(ownBytes)
	// Children before parents, without recursion: a chain may be
	// 50,000 levels deep.
	post := func(r int) {
		sub := ix.Subtree(r)
		for k := len(sub) - 1; k > 0; k-- {
			c := sub[k]
			p := ix.Parent(int(c))
			subCount[p] += subCount[c]
			subBytes[p] += subBytes[c]
		}
	}
	roots := ix.Roots()
	if root != "" {
		ci, ok := ix.ComponentIndex(root)
		if !ok {
			return fmt.Errorf("no component %q in the snapshot", root)
		}
		roots = []int32{int32(ci)}
	}
	for _, r := range roots {
		post(int(r))
	}

	var b strings.Builder
	// The nodes still to draw, the next on top: an explicit stack, as a
	// chain may be 50,000 levels deep.
	type pending struct {
		ci, depth      int
		prefix, branch string
	}
	var stack []pending
	node := func(ci, depth int, prefix, branch string) {
		c := &s.Components[ci]
		display := render.Escape(c.DisplayName())
		name := st.Paint(st.Bold, display)
		if !c.Alive() {
			name = st.Paint(st.Dead, display)
		}
		b.WriteString(prefix + branch)
		if depth > maxTreeDepth {
			b.WriteString(st.Paint(st.Dim, "[depth "+strconv.Itoa(depth)+"]") + " ")
		}
		b.WriteString(name + st.Paint(st.Dim, " ("+describeComp(c)+")"))
		if !c.Alive() {
			b.WriteString(" " + st.Paint(st.Error, destroyedNote(c, s)))
		}
		if c.Parent != "" && ix.Parent(ci) < 0 {
			b.WriteString(" " + st.Paint(st.Warning, "[parent "+render.Escape(c.Parent)+" not in snapshot]"))
		}
		b.WriteString("  " + countNote(ownCount[ci], ownBytes[ci]))
		kids := ix.Children(ci)
		if len(kids) > 0 && subCount[ci] != ownCount[ci] {
			b.WriteString(st.Paint(st.Dim, "; subtree "+countNote(subCount[ci], subBytes[ci])))
		}
		b.WriteByte('\n')
		childPrefix := prefix
		if depth < maxTreeDepth {
			switch branch {
			case "├── ":
				childPrefix += "│   "
			case "└── ":
				childPrefix += "    "
			}
		}
		for k := len(kids) - 1; k >= 0; k-- {
			br := "├── "
			if k == len(kids)-1 {
				br = "└── "
			}
			stack = append(stack, pending{int(kids[k]), depth + 1, childPrefix, br})
		}
	}
	for _, r := range roots {
		stack = append(stack[:0], pending{int(r), 0, "", ""})
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			node(p.ci, p.depth, p.prefix, p.branch)
		}
	}
	if root == "" && len(orphans) > 0 {
		owners := make([]string, 0, len(orphans))
		for o := range orphans {
			owners = append(owners, o)
		}
		slices.Sort(owners)
		b.WriteString(st.Paint(st.Warning, "owners not in snapshot:") + "\n")
		for _, o := range owners {
			v := orphans[o]
			fmt.Fprintf(&b, "  %s  %s\n", render.Escape(o), countNote(int(v[0]), v[1]))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describeComp is "id, type", escaped.
func describeComp(c *snapshot.Component) string {
	if c.Type == "" {
		return render.Escape(c.ID)
	}
	return render.Escape(c.ID + ", " + c.Type)
}

func destroyedNote(c *snapshot.Component, s *snapshot.Snapshot) string {
	if c.DestroyedAt.IsZero() {
		return "[destroyed]"
	}
	return "[destroyed " + render.Since(s.TakenAt, c.DestroyedAt) + " before snapshot]"
}

func countNote(n int, bytes int64) string {
	if n == 0 {
		return "0 resources"
	}
	note := fmt.Sprintf("%d %s", n, human.Plural(n, "resource", "resources"))
	if bytes > 0 {
		note += ", " + render.Bytes(bytes)
	}
	return note
}
