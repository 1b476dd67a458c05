package leaks

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// chainIndex is a chain of n components, each the parent of the next
// (the root's parent missing when missingRoot), all alive but the one at
// position gone, and a running worker owned by each component below it.
func chainIndex(t testing.TB, n, gone int, missingRoot bool) *snapshot.Index {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)}
	for i := range n {
		c := snapshot.Component{ID: "c" + strconv.Itoa(i), State: snapshot.StateAlive}
		switch {
		case i > 0:
			c.Parent = "c" + strconv.Itoa(i-1)
		case missingRoot:
			c.Parent = "gone-root"
		}
		if i == gone {
			c.State = snapshot.StateDestroyed
		}
		s.Components = append(s.Components, c)
		if i > gone {
			s.Resources = append(s.Resources, snapshot.Resource{ID: "r" + strconv.Itoa(i), Type: "worker", Owner: c.ID, State: snapshot.StateActive, Running: true})
		}
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// fullPath is the path of the resource owned by c_i, computed the slow way.
func fullPath(i int, missingRoot bool) []string {
	var p []string
	if missingRoot {
		p = append(p, "gone-root")
	}
	for k := 0; k <= i; k++ {
		p = append(p, "c"+strconv.Itoa(k))
	}
	return append(p, "r"+strconv.Itoa(i))
}

// TestFindLeaks_LongPathsKeepTheirEnds: a path of more than 2×PathEnds+1
// ids keeps its first and last PathEnds and counts the rest, exactly as
// cutting the whole path would, at every depth around the threshold.
func TestFindLeaks_LongPathsKeepTheirEnds(t *testing.T) {
	for _, missingRoot := range []bool{false, true} {
		ix := chainIndex(t, 60, 2, missingRoot)
		n := 0
		for _, fd := range FindLeaks(ix, LeakOptions{}) {
			if fd.Resource < 0 {
				continue
			}
			n++
			i, _ := strconv.Atoi(fd.ResourceID[1:])
			want, elided := fullPath(i, missingRoot), 0
			if len(want) > 2*PathEnds+1 {
				elided = len(want) - 2*PathEnds
				want = append(want[:PathEnds:PathEnds], want[len(want)-PathEnds:]...)
			}
			if !slices.Equal(fd.Path, want) || fd.PathElided != elided {
				t.Fatalf("missing root %v, %s: path %v (%d left out), want %v (%d)", missingRoot, fd.ResourceID, fd.Path, fd.PathElided, want, elided)
			}
		}
		if n != 57 {
			t.Fatalf("%d resource findings, want 57", n)
		}
	}
}

// TestFindLeaks_DeepChainIsLinear: 20,000 findings on a 20,000-deep chain
// hold 16 ids each, not the whole chain; the JSON says how many levels
// each leaves out.
func TestFindLeaks_DeepChainIsLinear(t *testing.T) {
	ix := chainIndex(t, 20_000, 0, false)
	fds := FindLeaks(ix, LeakOptions{})
	total := 0
	for _, fd := range fds {
		total += len(fd.Path)
	}
	if len(fds) < 19_999 || total > 17*len(fds) {
		t.Fatalf("%d findings hold %d path ids", len(fds), total)
	}
	last := fds[len(fds)-1]
	for _, fd := range fds {
		if fd.ResourceID == "r19999" {
			last = fd
		}
	}
	if last.PathElided != 20_001-2*PathEnds || last.Path[0] != "c0" || last.Path[len(last.Path)-1] != "r19999" {
		t.Errorf("deepest finding: path %v, %d left out", last.Path, last.PathElided)
	}
}
