package snapshot

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
)

func demoIndex(t testing.TB) *Index {
	t.Helper()
	s, err := Load(filepath.Join(testdata, "snapshots", "media-app.json"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func ids(ix *Index, cs []int32) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = ix.Snap.Components[c].ID
	}
	return out
}

func TestIndex_TreeAndDepth(t *testing.T) {
	ix := demoIndex(t)
	ci, ok := ix.ComponentIndex("media_analysis_workers")
	if !ok {
		t.Fatal("media_analysis_workers not found")
	}
	if got := ix.Depth(ci); got != 3 {
		t.Errorf("depth = %d, want 3", got)
	}
	if got := ids(ix, ix.PathTo(ci)); !slices.Equal(got, []string{"main_window", "media_analysis_tab", "media_analysis_controller", "media_analysis_workers"}) {
		t.Errorf("path = %v", got)
	}
	if got := ids(ix, ix.Roots()); !slices.Equal(got, []string{"main_window", "audio_plugin"}) {
		t.Errorf("roots = %v (a component whose parent is missing is a root)", got)
	}
	plugin, _ := ix.ComponentIndex("audio_plugin")
	if ix.Depth(plugin) != 0 || ix.Parent(plugin) != -1 {
		t.Errorf("audio_plugin: depth %d parent %d, want 0 -1", ix.Depth(plugin), ix.Parent(plugin))
	}
	tab, _ := ix.ComponentIndex("copy_verify_tab")
	if got := ids(ix, ix.Subtree(tab)); !slices.Equal(got, []string{"copy_verify_tab", "copy_verify_controller", "copy_verify_resources", "copy_verify_workers", "copy_verify_ui"}) {
		t.Errorf("subtree = %v", got)
	}
	for _, c := range ix.Subtree(tab) {
		if !ix.InSubtree(int(c), tab) {
			t.Errorf("%s not InSubtree of copy_verify_tab", ix.Snap.Components[c].ID)
		}
	}
	if ix.InSubtree(ci, tab) {
		t.Error("media_analysis_workers is InSubtree of copy_verify_tab")
	}
}

func TestIndex_LiveBytes(t *testing.T) {
	ix := demoIndex(t)
	thumb, _ := ix.ComponentIndex("thumbnail_tab")
	ctrl, _ := ix.ComponentIndex("thumbnail_controller")
	const mib = 1 << 20
	if got := ix.LiveBytes(ctrl); got != 72*mib {
		t.Errorf("own live bytes = %d, want 72 MiB (a released buffer does not count)", got)
	}
	if got := ix.SubtreeLiveBytes(thumb); got != 76*mib {
		t.Errorf("subtree live bytes = %d, want 76 MiB", got)
	}
	var sum int64
	for _, r := range ix.Roots() {
		sum += ix.SubtreeLiveBytes(int(r))
	}
	orphan := ix.Resource("r-6001").SizeBytes
	if sum+orphan != ix.TotalLiveBytes() {
		t.Errorf("roots' subtrees %d + orphans %d != total %d", sum, orphan, ix.TotalLiveBytes())
	}
}

func TestIndex_OwnersAndCleanups(t *testing.T) {
	ix := demoIndex(t)
	ri, _ := ix.ResourceIndex("r-6001")
	if ix.Owner(ri) != -1 {
		t.Error("r-6001's owner export_dialog is not in the snapshot, want -1")
	}
	ctrl, _ := ix.ComponentIndex("copy_verify_controller")
	if got := len(ix.Cleanups(ctrl)); got != 2 {
		t.Errorf("cleanups of copy_verify_controller = %d, want 2", got)
	}
	res, _ := ix.ComponentIndex("copy_verify_resources")
	var owned []string
	for _, r := range ix.Owned(res) {
		owned = append(owned, ix.Snap.Resources[r].ID)
	}
	if !slices.Equal(owned, []string{"r-2002", "r-2003", "r-2005", "r-2006", "r-2012"}) {
		t.Errorf("owned = %v", owned)
	}
}

func TestNewIndex_RejectsCyclesAndDuplicates(t *testing.T) {
	s := &Snapshot{Components: []Component{
		{ID: "a", Parent: "b", State: StateAlive},
		{ID: "b", Parent: "a", State: StateAlive},
	}}
	if _, err := NewIndex(s); err == nil {
		t.Error("parent cycle indexed without error")
	}
	s = &Snapshot{Resources: []Resource{{ID: "r"}, {ID: "r"}}}
	if _, err := NewIndex(s); err == nil {
		t.Error("duplicate resource ids indexed without error")
	}
}

func TestSelect(t *testing.T) {
	ix := demoIndex(t)
	resIDs := func(sel []int32) []string {
		out := make([]string, len(sel))
		for i, r := range sel {
			out[i] = ix.Snap.Resources[r].ID
		}
		return out
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"workers running", Query{Types: []string{"worker"}, Running: true}, []string{"r-1042", "r-2001", "r-2004"}},
		{"owner exact", Query{Owner: "copy_verify_ui"}, []string{"r-2010", "r-2011"}},
		{"owner recursive", Query{Owner: "media_analysis_tab", Recursive: true}, []string{"r-1001", "r-1042", "r-1043", "r-1045"}},
		{"missing owner", Query{Owner: "export_dialog"}, []string{"r-6001"}},
		{"released", Query{State: FilterReleased}, []string{"r-1044", "r-3004", "r-4001"}},
		{"releasing", Query{State: FilterReleasing}, []string{"r-2012"}},
		{"min size sorted", Query{MinSize: 16 << 20, Sort: "size"}, []string{"r-3001", "r-3002", "r-3003", "r-2006"}},
		{"oldest first", Query{Types: []string{"memory"}, State: FilterAll, Sort: "age"}, []string{"r-1045", "r-3004", "r-2006", "r-3001", "r-3002", "r-3003"}},
		{"by type", Query{Owner: "settings_controller", State: FilterAll, Sort: "type"}, []string{"r-4001", "r-4002"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := ix.Select(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := resIDs(sel); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := ix.Select(Query{Sort: "color"}); err == nil {
		t.Error("bad sort key accepted")
	}
	if _, err := ix.Select(Query{State: "zombie"}); err == nil {
		t.Error("bad state accepted")
	}
	if _, err := ix.Select(Query{Owner: "nope", Recursive: true}); err == nil {
		t.Error("recursive select under a missing component accepted")
	}
}

func TestComputeStats(t *testing.T) {
	ix := demoIndex(t)
	st := ComputeStats(ix, 3)
	if st.LiveResources != 25 || st.Resources != 28 || st.DestroyedComponents != 3 {
		t.Errorf("counts: %+v", st)
	}
	if len(st.TopComponents) != 3 || st.TopComponents[0].ID != "thumbnail_controller" {
		t.Errorf("top components: %+v", st.TopComponents)
	}
	var over []string
	for _, l := range st.Limits {
		if l.Percent > 100 {
			over = append(over, l.Component)
		}
	}
	if !slices.Equal(over, []string{"thumbnail_tab"}) {
		t.Errorf("over limit: %v", over)
	}
	if len(st.Oldest) != 3 || st.Oldest[0].ID != "r-0001" {
		t.Errorf("oldest: %+v", st.Oldest)
	}
}

// TestNewIndex_OwnersNotedByTheDecoder loads a file by windows, so that
// the decoder notes each resource's owner, and wants the owners an index
// built from scratch finds — also where owners were changed after the
// decoder noted them (a position is trusted only for the very id string).
func TestNewIndex_OwnersNotedByTheDecoder(t *testing.T) {
	s, tabs := loadByWindowsTables(t, gensnap.Config{Components: 300, Resources: 3000, Seed: 4})
	if tabs == nil || len(tabs.owners) != len(s.Resources) {
		t.Fatal("the decoder noted no owners")
	}
	check := func(what string) {
		t.Helper()
		ix, err := newIndex(s, tabs, small())
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		for ri := range s.Resources {
			if ix.Owner(ri) != want.Owner(ri) {
				t.Fatalf("%s: resources[%d] (owner %q): owner %d, want %d", what, ri, s.Resources[ri].Owner, ix.Owner(ri), want.Owner(ri))
			}
		}
	}
	check("as loaded")
	s.Resources[5].Owner = s.Components[7].ID
	s.Resources[6].Owner = "gone"
	s.Resources[7].Owner = string([]byte(s.Components[2].ID)) // equal, not the same string
	check("owners changed")
}

// TestLoadIndex_IsLoadThenNewIndex: the index LoadIndex builds with the
// decoder's tables answers as NewIndex on the loaded snapshot, for a file
// read whole and one read by windows; an index error names the file.
func TestLoadIndex_IsLoadThenNewIndex(t *testing.T) {
	paths := validSnapshots(t)
	for _, p := range paths {
		ix, err := LoadIndex(context.Background(), p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewIndex(ix.Snap)
		if err != nil {
			t.Fatal(err)
		}
		for ri := range ix.Snap.Resources {
			if ix.Owner(ri) != want.Owner(ri) {
				t.Errorf("%s: resources[%d]: owner %d, want %d", p, ri, ix.Owner(ri), want.Owner(ri))
			}
		}
		for ci := range ix.Snap.Components {
			if ix.SubtreeLiveBytes(ci) != want.SubtreeLiveBytes(ci) || ix.Parent(ci) != want.Parent(ci) {
				t.Errorf("%s: components[%d] differ", p, ci)
			}
		}
	}
}

// TestIndex_ByteSumsSaturate: sizes that add up past math.MaxInt64 give
// math.MaxInt64 — never a negative sum that hides an exceeded limit —
// whether the sum is made in one worker or across workers, in the owner,
// its ancestors and the totals.
func TestIndex_ByteSumsSaturate(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3 * small().minParallel} {
		var b strings.Builder
		b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","limits":{"global_bytes":1,"components":{"root":1}},` +
			`"components":[{"id":"root","state":"alive"},{"id":"a","parent":"root","state":"alive"},{"id":"b","parent":"root","state":"alive"}],"resources":[`)
		for k := range n {
			if k > 0 {
				b.WriteByte(',')
			}
			owner, size := "a", int64(0)
			switch k {
			case 0:
				size = math.MaxInt64
			case n - 1:
				owner, size = "a", math.MaxInt64
			case n / 2:
				owner, size = "b", math.MaxInt64
			}
			fmt.Fprintf(&b, `{"id":"r-%d","type":"memory","owner":"%s","state":"active","size_bytes":%d}`, k, owner, size)
		}
		b.WriteString(`]}`)
		s, err := parse(context.Background(), []byte(b.String()), "in", false, small())
		if err != nil {
			t.Fatal(err)
		}
		ix, err := newIndex(s, nil, small())
		if err != nil {
			t.Fatal(err)
		}
		root, _ := ix.ComponentIndex("root")
		a, _ := ix.ComponentIndex("a")
		for what, got := range map[string]int64{"total": ix.TotalLiveBytes(), "a": ix.LiveBytes(a), "subtree of a": ix.SubtreeLiveBytes(a), "subtree of root": ix.SubtreeLiveBytes(root)} {
			if got != math.MaxInt64 {
				t.Errorf("%d resources: %s live bytes %d, want MaxInt64", n, what, got)
			}
		}
		st := ComputeStats(ix, 5)
		if st.LiveBytes != math.MaxInt64 || st.ByType[0].LiveBytes != math.MaxInt64 {
			t.Errorf("%d resources: stats live bytes %d, by type %d", n, st.LiveBytes, st.ByType[0].LiveBytes)
		}
		for _, l := range st.Limits {
			if l.Used != math.MaxInt64 || l.Percent <= 100 {
				t.Errorf("%d resources: limit %+v", n, l)
			}
		}
	}
}
