package report

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// chain is a snapshot of n components, each the parent of the next, with
// the components at the given positions destroyed.
func chain(t *testing.T, n int, destroyed ...int) *snapshot.Index {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)}
	for i := range n {
		c := snapshot.Component{ID: "c" + strconv.Itoa(i), State: snapshot.StateAlive}
		if i > 0 {
			c.Parent = "c" + strconv.Itoa(i-1)
		}
		s.Components = append(s.Components, c)
	}
	for _, d := range destroyed {
		s.Components[d].State = snapshot.StateDestroyed
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func hopLabels(hops []hop) string {
	labels := make([]string, len(hops))
	for i, h := range hops {
		labels[i] = h.label
	}
	return strings.Join(labels, " / ")
}

func TestComponentHops_LongPathElidedInTheMiddle(t *testing.T) {
	for _, tc := range []struct {
		n         int
		destroyed []int
		want      string
	}{
		{7, nil, "c0 / c1 / c2 / c3 / c4 / c5 / c6"},
		{8, nil, "c0 / c1 / c2 / … 2 levels … / c5 / c6 / c7"},
		{50_000, nil, "c0 / c1 / c2 / … 49,994 levels … / c49997 / c49998 / c49999"},
		// A destroyed ancestor in the middle is the reason for a leak: kept.
		{50_000, []int{25_000}, "c0 / c1 / c2 / … 24,997 levels … / c25000 / … 24,996 levels … / c49997 / c49998 / c49999"},
		// Of many, the first and the last are kept.
		{50_000, []int{10, 11, 20_000, 40_000}, "c0 / c1 / c2 / … 7 levels … / c10 / … 39,989 levels … / c40000 / … 9,996 levels … / c49997 / c49998 / c49999"},
		{50_000, []int{1, 49_998}, "c0 / c1 / c2 / … 49,994 levels … / c49997 / c49998 / c49999"},
	} {
		ix := chain(t, tc.n, tc.destroyed...)
		hops := newTracer(ix).componentHops(tc.n-1, "")
		if got := hopLabels(hops); got != tc.want {
			t.Errorf("%d levels, destroyed %v:\n got %s\nwant %s", tc.n, tc.destroyed, got, tc.want)
		}
		for _, h := range hops {
			if strings.HasPrefix(h.label, "c") && h.bad != (ix.Snap.Components[mustAtoi(t, h.label[1:])].State == snapshot.StateDestroyed) {
				t.Errorf("%s: bad = %v", h.label, h.bad)
			}
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrace_PlainTextOfADeepPathIsShort(t *testing.T) {
	ix := chain(t, 50_000, 25_000)
	tr := trace{hops: newTracer(ix).componentHops(49_999, "")}
	out := string(tr.appendPlain(nil))
	if lines := strings.Count(out, "\n"); lines != 9 {
		t.Errorf("%d lines, want 9:%s", lines, out)
	}
	if len(out) > 1000 {
		t.Errorf("%d bytes for a 50,000-level path", len(out))
	}
}

func TestElidePath(t *testing.T) {
	short := []string{"a", "b", "c", "d", "e", "f", "g"}
	if got := elidePath(short, 0); strings.Join(got, " ") != "a b c d e f g" {
		t.Errorf("short path changed: %q", got)
	}
	long := make([]string, 50_000)
	for i := range long {
		long[i] = "c" + strconv.Itoa(i)
	}
	if got := strings.Join(elidePath(long, 0), " / "); got != "c0 / c1 / c2 / … 49,994 levels … / c49997 / c49998 / c49999" {
		t.Errorf("long path: %s", got)
	}
	// A path the analysis already shortened (first and last 8, and how
	// many levels it left out) gives the same.
	cut := append(append([]string{}, long[:8]...), long[len(long)-8:]...)
	if got := strings.Join(elidePath(cut, len(long)-16), " / "); got != "c0 / c1 / c2 / … 49,994 levels … / c49997 / c49998 / c49999" {
		t.Errorf("shortened path: %s", got)
	}
}
