package cmd

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

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
			return usageError("no component %q in the snapshot", root)
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
	note := fmt.Sprintf("%d %s", n, plural(n, "resource", "resources"))
	if bytes > 0 {
		note += ", " + render.Bytes(bytes)
	}
	return note
}
