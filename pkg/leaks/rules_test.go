package leaks

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/planner"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// leakIndex loads testdata/leaks/NAME.json.
func leakIndex(t testing.TB, name string) *snapshot.Index {
	t.Helper()
	return testsnap.File(t, filepath.Join("..", "..", "testdata", "leaks", name+".json"))
}

func byRule(fs []Finding, rule Rule) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func resourceIDs(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ResourceID)
	}
	return ids
}

// TestRules_TriggerAndClean runs each rule on a snapshot that must trigger
// it and on one that must not.
func TestRules_TriggerAndClean(t *testing.T) {
	maxAge := LeakOptions{MaxAge: time.Minute}
	tests := []struct {
		rule Rule
		opts LeakOptions
		// want lists the finding ids (resource, else component, else the
		// path joined with spaces) the trigger snapshot must produce.
		want []string
	}{
		{RuleRunningOrphan, LeakOptions{}, []string{"r-1", "r-2", "r-3"}},
		{RuleRunningUnderOrphan, LeakOptions{}, []string{"r-1", "r-2", "r-3", "r-4"}},
		{RuleOrphanedResource, LeakOptions{}, []string{"r-1", "r-2"}},
		{RuleOverComponentLimit, LeakOptions{}, []string{"tab"}},
		{RuleOverGlobalLimit, LeakOptions{}, []string{""}},
		{RuleCleanupCycle, LeakOptions{}, []string{"r-1 r-2 r-3", "r-4"}},
		{RuleOrphanedComponent, LeakOptions{}, []string{"panel", "plugin"}},
		{RuleDanglingDependency, LeakOptions{}, []string{"r-1"}},
		{RuleStaleResource, maxAge, []string{"r-1"}},
	}
	id := func(f Finding) string {
		switch {
		case f.ResourceID != "":
			return f.ResourceID
		case f.ComponentID != "":
			return f.ComponentID
		}
		return strings.Join(f.Path, " ")
	}
	for _, tt := range tests {
		t.Run(string(tt.rule), func(t *testing.T) {
			got := byRule(FindLeaks(leakIndex(t, string(tt.rule)), tt.opts), tt.rule)
			var ids []string
			for _, f := range got {
				ids = append(ids, id(f))
				info, _ := RuleByID(tt.rule)
				if f.Severity != info.Severity {
					t.Errorf("%s: severity %s, want %s", id(f), f.Severity, info.Severity)
				}
				if f.Signature == "" || f.Message == "" || f.Path == nil {
					t.Errorf("%s: incomplete finding %+v", id(f), f)
				}
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("findings %q, want %q", ids, tt.want)
			}
			if clean := byRule(FindLeaks(leakIndex(t, string(tt.rule)+"-clean"), tt.opts), tt.rule); len(clean) > 0 {
				t.Errorf("clean snapshot triggers %s: %+v", tt.rule, clean)
			}
		})
	}
}

// A running orphan is running-orphan only, never also orphaned-resource;
// an orphan is never also stale.
func TestRules_MostSpecificWins(t *testing.T) {
	fs := FindLeaks(leakIndex(t, "running-orphan"), LeakOptions{MaxAge: time.Second})
	for _, f := range fs {
		if f.Rule != RuleRunningOrphan {
			t.Errorf("unexpected %s finding for %s", f.Rule, f.ResourceID)
		}
	}
	clean := FindLeaks(leakIndex(t, "running-orphan-clean"), LeakOptions{})
	if got := resourceIDs(byRule(clean, RuleOrphanedResource)); !slices.Equal(got, []string{"r-2", "r-3"}) {
		t.Errorf("not running (or not a runnable type) orphans: %q, want r-2 r-3 as orphaned-resource", got)
	}
	stale := FindLeaks(leakIndex(t, "stale-resource-clean"), LeakOptions{MaxAge: time.Minute})
	if got := byRule(stale, RuleOrphanedResource); len(got) != 1 || got[0].ResourceID != "r-4" {
		t.Errorf("old orphan r-4 should be orphaned-resource, got %+v", got)
	}
}

func TestRules_PathsAndMessages(t *testing.T) {
	fs := FindLeaks(leakIndex(t, "running-orphan"), LeakOptions{})
	want := map[string]struct {
		path, msg string
	}{
		"r-1": {"app tab r-1", `worker "analysis-worker" (r-1) is still running, but its owner Tab (tab) was destroyed 4s before the snapshot`},
		"r-2": {"gone_dialog r-2", `timer "refresh-timer" (r-2) is still running, but its owner gone_dialog is no longer in the registry`},
	}
	for _, f := range fs {
		w, ok := want[f.ResourceID]
		if !ok {
			continue
		}
		if got := strings.Join(f.Path, " "); got != w.path {
			t.Errorf("%s: path %q, want %q", f.ResourceID, got, w.path)
		}
		if f.Message != w.msg {
			t.Errorf("%s: message %q, want %q", f.ResourceID, f.Message, w.msg)
		}
	}
	comp := FindLeaks(leakIndex(t, "orphaned-component"), LeakOptions{})
	if got := strings.Join(comp[1].Path, " "); got != "plugin_host plugin" {
		t.Errorf("a missing parent stands first in the path: %q", got)
	}
	global := FindLeaks(leakIndex(t, "over-global-limit"), LeakOptions{})
	if len(global) != 1 || global[0].Path == nil || len(global[0].Path) != 0 || global[0].ResourceID != "" || global[0].ComponentID != "" {
		t.Errorf("over-global-limit names nothing and has an empty path: %+v", global)
	}
}

func TestRules_Grace(t *testing.T) {
	ix := leakIndex(t, "running-orphan") // tab destroyed 4s before the snapshot
	for _, tc := range []struct {
		grace time.Duration
		want  Severity
	}{{0, SeverityCritical}, {4 * time.Second, SeverityCritical}, {5 * time.Second, SeverityInfo}} {
		fs := FindLeaks(ix, LeakOptions{Grace: tc.grace})
		for _, f := range fs {
			want := tc.want
			if f.ResourceID == "r-2" {
				want = SeverityCritical // a missing owner is never within grace
			}
			if f.Severity != want {
				t.Errorf("grace %s: %s is %s, want %s", tc.grace, f.ResourceID, f.Severity, want)
			}
			if f.WithinGrace != (want == SeverityInfo) {
				t.Errorf("grace %s: %s WithinGrace=%v", tc.grace, f.ResourceID, f.WithinGrace)
			}
			if f.WithinGrace && !strings.Contains(f.Message, "within the 5s grace, so not yet a leak") {
				t.Errorf("message does not say so: %q", f.Message)
			}
		}
	}
	comp := FindLeaks(leakIndex(t, "orphaned-component"), LeakOptions{Grace: time.Minute})
	if comp[0].ComponentID != "panel" || comp[0].Severity != SeverityInfo || comp[1].Severity != SeverityWarning {
		t.Errorf("grace applies to a destroyed parent, not a missing one: %+v", comp)
	}
}

func TestRules_MaxAgeOffByDefault(t *testing.T) {
	if got := byRule(FindLeaks(leakIndex(t, "stale-resource"), LeakOptions{}), RuleStaleResource); len(got) != 0 {
		t.Errorf("stale-resource without MaxAge: %+v", got)
	}
	fs := byRule(FindLeaks(leakIndex(t, "stale-resource"), LeakOptions{MaxAge: time.Minute}), RuleStaleResource)
	if len(fs) != 1 || fs[0].Message != `timer "autosave" (r-1) has been live for 2m05s, longer than the maximum age of 1m00s` {
		t.Errorf("stale finding: %+v", fs)
	}
}

func TestRules_Cycle(t *testing.T) {
	fs := byRule(FindLeaks(leakIndex(t, "cleanup-cycle"), LeakOptions{}), RuleCleanupCycle)
	if len(fs) != 2 {
		t.Fatalf("want 2 cycles, got %+v", fs)
	}
	if fs[0].Message != "3 live resources depend on each other in a cycle, so no cleanup order exists: r-1 → r-2 → r-3 → r-1" {
		t.Errorf("message %q", fs[0].Message)
	}
	if fs[0].Resource != -1 || fs[0].Component != -1 || fs[0].ResourceID != "" || fs[0].ComponentID != "" {
		t.Errorf("a cycle names neither resource nor component: %+v", fs[0])
	}
	if fs[1].Message != "live resource r-4 depends on itself, so no cleanup order exists" {
		t.Errorf("self cycle: %q", fs[1].Message)
	}
	// The cycle through a released resource is no cycle, but two dangling dependencies.
	clean := FindLeaks(leakIndex(t, "cleanup-cycle-clean"), LeakOptions{})
	if got := resourceIDs(byRule(clean, RuleDanglingDependency)); !slices.Equal(got, []string{"r-4"}) {
		t.Errorf("dangling: %q", got)
	}
}

func TestRules_Dangling(t *testing.T) {
	fs := FindLeaks(leakIndex(t, "dangling-dependency"), LeakOptions{})
	if len(fs) != 1 || !slices.Equal(fs[0].Dangling, []string{"r-2", "r-9"}) {
		t.Fatalf("one finding per resource listing what is gone: %+v", fs)
	}
	want := `socket "update-check" (r-1) depends on what is gone: r-2 "settings.json" (file, released), r-9 (not in the registry)`
	if fs[0].Message != want {
		t.Errorf("message %q, want %q", fs[0].Message, want)
	}
}

func TestRules_EmptySnapshot(t *testing.T) {
	ix, err := snapshot.NewIndex(&snapshot.Snapshot{Format: snapshot.FormatV1})
	if err != nil {
		t.Fatal(err)
	}
	if fs := FindLeaks(ix, LeakOptions{MaxAge: time.Second}); fs == nil || len(fs) != 0 {
		t.Errorf("want an empty, non-nil list, got %#v", fs)
	}
}

func TestParseSeverity(t *testing.T) {
	for _, s := range []string{"critical", "error", "warning", "info"} {
		v, err := ParseSeverity(s, false)
		if err != nil || v.String() != s {
			t.Errorf("%s: %v %v", s, v, err)
		}
	}
	if v, err := ParseSeverity("none", true); err != nil || v != 0 {
		t.Errorf("none: %v %v", v, err)
	}
	if _, err := ParseSeverity("none", false); err == nil {
		t.Error("none accepted where it is not allowed")
	}
	if _, err := ParseSeverity("fatal", true); err == nil || !strings.Contains(err.Error(), "critical, error, warning, info or none") {
		t.Errorf("error should list the values: %v", err)
	}
}

// The leak report and the cleanup planner name the same cycles, in the
// same order.
func TestRules_CyclesAgreeWithPlanner(t *testing.T) {
	for _, name := range []string{"cleanup-cycle", "cleanup-cycle-clean"} {
		ix := leakIndex(t, name)
		var want []string
		for _, cyc := range planner.DependencyCycles(ix) {
			var ids []string
			for _, ri := range cyc {
				ids = append(ids, ix.Snap.Resources[ri].ID)
			}
			want = append(want, strings.Join(ids, " "))
		}
		var got []string
		for _, f := range byRule(FindLeaks(ix, LeakOptions{}), RuleCleanupCycle) {
			got = append(got, strings.Join(f.Path, " "))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: leaks %q, planner %q", name, got, want)
		}
	}
	ix, err := snapshot.NewIndex(bigSnapshotWithCycles(3000))
	if err != nil {
		t.Fatal(err)
	}
	fs := byRule(FindLeaks(ix, LeakOptions{}), RuleCleanupCycle)
	cycles := planner.DependencyCycles(ix)
	if len(fs) != len(cycles) || len(fs) == 0 {
		t.Fatalf("leaks found %d cycles, planner %d", len(fs), len(cycles))
	}
	for k, cyc := range cycles {
		if len(fs[k].Path) != len(cyc) || fs[k].Path[0] != ix.Snap.Resources[cyc[0]].ID {
			t.Errorf("cycle %d: leaks %q, planner starts at %s with %d members", k, fs[k].Path, ix.Snap.Resources[cyc[0]].ID, len(cyc))
		}
	}
}
