package leaks

import (
	"testing"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

func growthOf(fs []Finding) map[string]*Growth {
	out := map[string]*Growth{}
	for _, f := range fs {
		if f.Rule == RuleGrowth {
			out[f.Growth.ResourceType] = f.Growth
		}
	}
	return out
}

func TestGrowth_Baseline(t *testing.T) {
	// Ids differ between the snapshots; names and types do not.
	fs := FindGrowth([]*snapshot.Index{leakIndex(t, "growth-base"), leakIndex(t, "growth-new")}, DefaultGrowth())
	g := growthOf(fs)
	if len(g) != 1 || g["memory"] == nil {
		t.Fatalf("want memory growth only, got %+v", fs)
	}
	m := g["memory"]
	if m.ComponentName != "ThumbnailController" || m.Counts[0] != 3 || m.Counts[1] != 20 || !m.ByCount || !m.ByBytes {
		t.Errorf("memory growth: %+v", m)
	}
	f := fs[0]
	if f.ComponentID != "b-thumbs" || f.Severity != SeverityWarning || len(f.Path) != 2 {
		t.Errorf("growth finding: %+v", f)
	}
	want := "live memory resources of ThumbnailController (controller) grew since the baseline: count 3 → 20 (+17), bytes 3.0 MiB → 20.0 MiB (+17.0 MiB)"
	if f.Message != want {
		t.Errorf("message %q\nwant    %q", f.Message, want)
	}
	// Below the thresholds: nothing.
	if fs := FindGrowth([]*snapshot.Index{leakIndex(t, "growth-base"), leakIndex(t, "growth-new")}, GrowthOptions{Count: 18, Bytes: 18 << 20}); len(fs) != 0 {
		t.Errorf("below thresholds: %+v", fs)
	}
	// Percent: +17 on 3 is 567%.
	if fs := FindGrowth([]*snapshot.Index{leakIndex(t, "growth-base"), leakIndex(t, "growth-new")}, GrowthOptions{Count: 2, Percent: 600}); len(fs) != 0 {
		t.Errorf("below percent: %+v", fs)
	}
}

// The three-snapshot technique: growth must be strictly monotonic across
// all snapshots, so a one-off spike or a cache filled once is not growth.
func TestGrowth_ThreeSnapshots(t *testing.T) {
	s1, s2, s3, plateau := leakIndex(t, "growth-s1"), leakIndex(t, "growth-s2"), leakIndex(t, "growth-s3"), leakIndex(t, "growth-plateau")
	// memory 3 → 12 → 25 grows at every step; files 5 → 60 → 20 spike.
	g := growthOf(FindGrowth([]*snapshot.Index{s1, s2, s3}, DefaultGrowth()))
	if len(g) != 1 || g["memory"] == nil || len(g["memory"].Counts) != 3 {
		t.Errorf("monotonic memory only: %+v", g)
	}
	// The same spike compared as two snapshots is growth (5 → 20).
	if g := growthOf(FindGrowth([]*snapshot.Index{s1, s3}, DefaultGrowth())); g["file"] == nil {
		t.Errorf("baseline comparison misses file growth: %+v", g)
	}
	// memory 3 → 25 → 25 plateaus (a cache filled once); files 5 → 20 → 60 grow.
	g = growthOf(FindGrowth([]*snapshot.Index{s1, s3, plateau}, DefaultGrowth()))
	if len(g) != 1 || g["file"] == nil || !g["file"].ByCount || g["file"].ByBytes {
		t.Errorf("plateau: %+v", g)
	}
}
