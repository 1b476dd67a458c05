package leaks

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

var underTakenAt = time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)

// handSnapshot builds a snapshot from compact specs: components as
// "id<parent" with a trailing "!" when destroyed (4s before the
// snapshot), resources as "id type owner" with a trailing " running".
func handSnapshot(t *testing.T, comps, res []string) *snapshot.Index {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: underTakenAt,
		Components: []snapshot.Component{}, Resources: []snapshot.Resource{}}
	for _, c := range comps {
		destroyed := strings.HasSuffix(c, "!")
		id, parent, _ := strings.Cut(strings.TrimSuffix(c, "!"), "<")
		sc := snapshot.Component{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Type: "controller", Parent: parent, State: snapshot.StateAlive}
		if destroyed {
			sc.State, sc.DestroyedAt = snapshot.StateDestroyed, underTakenAt.Add(-4*time.Second)
		}
		s.Components = append(s.Components, sc)
	}
	for _, r := range res {
		f := strings.Fields(r)
		sr := snapshot.Resource{ID: f[0], Type: f[1], Owner: f[2], Name: f[0] + "-name", State: snapshot.StateActive,
			CreatedBy: snapshot.NewStack(f[0] + ".py:1 start")}
		for _, extra := range f[3:] {
			switch extra {
			case "running":
				sr.Running = true
			case "released":
				sr.State = snapshot.StateReleased
			}
		}
		s.Resources = append(s.Resources, sr)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// ruleOf lists, per resource id, the rules of its findings.
func rulesOf(fs []Finding) map[string][]Rule {
	out := map[string][]Rule{}
	for _, f := range fs {
		if f.ResourceID != "" {
			out[f.ResourceID] = append(out[f.ResourceID], f.Rule)
		}
	}
	return out
}

// Hand-built cases: which resource rule a running (or not) resource gets
// depending on where the gone component is.
func TestRules_RunningUnderOrphanCases(t *testing.T) {
	tests := []struct {
		name  string
		comps []string
		res   string
		want  Rule // "" for no resource finding
	}{
		{"owner destroyed", []string{"app", "tab<app!"}, "r-1 worker tab running", RuleRunningOrphan},
		{"owner missing", []string{"app"}, "r-1 worker gone running", RuleRunningOrphan},
		{"owner destroyed under a destroyed parent", []string{"app", "tab<app!", "ctl<tab!"}, "r-1 worker ctl running", RuleRunningOrphan},
		{"parent destroyed", []string{"app", "tab<app!", "ctl<tab"}, "r-1 worker ctl running", RuleRunningUnderOrphan},
		{"grandparent destroyed", []string{"app", "tab<app!", "ctl<tab", "workers<ctl"}, "r-1 thread workers running", RuleRunningUnderOrphan},
		{"root destroyed far above", []string{"app!", "tab<app", "ctl<tab", "workers<ctl"}, "r-1 timer workers running", RuleRunningUnderOrphan},
		{"parent missing", []string{"plugin<host"}, "r-1 process plugin running", RuleRunningUnderOrphan},
		{"ancestor missing", []string{"plugin<host", "sub<plugin"}, "r-1 timer sub running", RuleRunningUnderOrphan},
		{"all alive", []string{"app", "tab<app", "ctl<tab"}, "r-1 worker ctl running", ""},
		{"destroyed sibling", []string{"app", "tab<app!", "other<app"}, "r-1 worker other running", ""},
		{"destroyed child", []string{"app", "ctl<app", "sub<ctl!"}, "r-1 worker ctl running", ""},
		{"not running", []string{"app", "tab<app!", "ctl<tab"}, "r-1 worker ctl", ""},
		{"released", []string{"app", "tab<app!", "ctl<tab"}, "r-1 worker ctl running released", ""},
		{"file never runs", []string{"app", "tab<app!", "ctl<tab"}, "r-1 file ctl running", ""},
		{"memory never runs", []string{"app", "tab<app!", "ctl<tab"}, "r-1 memory ctl running", ""},
		{"custom type never runs", []string{"app", "tab<app!", "ctl<tab"}, "r-1 gpu-texture ctl running", ""},
		{"not running, owner destroyed", []string{"app", "tab<app!"}, "r-1 worker tab", RuleOrphanedResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := handSnapshot(t, tt.comps, []string{tt.res})
			got := rulesOf(FindLeaks(ix, LeakOptions{}))["r-1"]
			var want []Rule
			if tt.want != "" {
				want = []Rule{tt.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("r-1 gets %q, want %q", got, want)
			}
		})
	}
}

// Most specific wins: a running-under-orphan resource is not also stale,
// and the resources that are not (not running, or not of a type that
// runs) keep the rules they had.
func TestRules_RunningUnderOrphanPrecedence(t *testing.T) {
	fs := FindLeaks(leakIndex(t, "running-under-orphan"), LeakOptions{MaxAge: time.Second})
	for id, rules := range rulesOf(fs) {
		if !slices.Equal(rules, []Rule{RuleRunningUnderOrphan}) {
			t.Errorf("%s: %q, want running-under-orphan only", id, rules)
		}
	}
	if got := byRule(fs, RuleOrphanedComponent); len(got) != 2 {
		t.Errorf("the orphaned components are still reported: %+v", got)
	}
	clean := rulesOf(FindLeaks(leakIndex(t, "running-under-orphan-clean"), LeakOptions{MaxAge: time.Second}))
	want := map[string][]Rule{
		"r-1": {RuleStaleResource}, // not running, owner alive: at most stale
		"r-2": {RuleStaleResource}, // a file never runs
		"r-4": {RuleRunningOrphan}, // owner destroyed
		"r-5": {RuleRunningOrphan}, // owner destroyed, itself under an orphan
		"r-6": {RuleStaleResource}, // all alive
		"r-7": {RuleStaleResource}, // all alive, a destroyed tab beside it
		"r-8": {RuleRunningOrphan}, // owner missing
	}
	if fmt.Sprint(clean) != fmt.Sprint(want) {
		t.Errorf("clean snapshot:\n got %v\nwant %v", clean, want)
	}
}

func TestRules_RunningUnderOrphanMessagesAndPaths(t *testing.T) {
	want := map[string]struct{ path, msg string }{
		"r-1": {"app tab controller r-1", `worker "analysis-worker" (r-1) is still running; its owner Controller (controller) is alive, but its parent Tab (tab) was destroyed 4s before the snapshot`},
		"r-2": {"app tab controller workers r-2", `timer "progress-timer" (r-2) is still running; its owner Workers (workers) is alive, but its ancestor Tab (tab) was destroyed 4s before the snapshot`},
		"r-4": {"plugin_host plugin r-4", `process "ffmpeg" (r-4) is still running; its owner Plugin (plugin) is alive, but its parent plugin_host is no longer in the registry`},
	}
	fs := byRule(FindLeaks(leakIndex(t, "running-under-orphan"), LeakOptions{}), RuleRunningUnderOrphan)
	seen := 0
	for _, f := range fs {
		w, ok := want[f.ResourceID]
		if !ok {
			continue
		}
		seen++
		if got := strings.Join(f.Path, " "); got != w.path {
			t.Errorf("%s: path %q, want %q", f.ResourceID, got, w.path)
		}
		if f.Message != w.msg {
			t.Errorf("%s: message\n %q\nwant %q", f.ResourceID, f.Message, w.msg)
		}
		if f.ComponentID != ix(t).Snap.Resources[f.Resource].Owner {
			t.Errorf("%s: component %q, want the owner", f.ResourceID, f.ComponentID)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d of %d findings", seen, len(want))
	}
	ancestor := handSnapshot(t, []string{"plugin<host", "sub<plugin"}, []string{"r-1 timer sub running"})
	got := FindLeaks(ancestor, LeakOptions{})
	if len(got) == 0 || got[0].Message != `timer "r-1-name" (r-1) is still running; its owner Sub (sub) is alive, but its ancestor host is no longer in the registry` {
		t.Errorf("missing ancestor: %+v", got)
	}
}

func ix(t *testing.T) *snapshot.Index { return leakIndex(t, "running-under-orphan") }

// The signature is docs/leaks.md's: rule, owner name and type, resource type,
// name and first frame — the owner's, not the gone ancestor's.
func TestRules_RunningUnderOrphanSignature(t *testing.T) {
	fs := byRule(FindLeaks(ix(t), LeakOptions{}), RuleRunningUnderOrphan)
	want := Signature(RuleRunningUnderOrphan, "Controller", "controller", "worker", "analysis-worker", "analysis-worker.py:10 make")
	if len(fs) == 0 || fs[0].ResourceID != "r-1" || fs[0].Signature != want {
		t.Errorf("signature of r-1: %+v, want %s", fs, want)
	}
	orphan := Signature(RuleRunningOrphan, "Controller", "controller", "worker", "analysis-worker", "analysis-worker.py:10 make")
	if want == orphan {
		t.Error("the rule is part of the signature")
	}
}

// Grace applies to the gone ancestor's destroyed_at; a missing one is
// never within grace.
func TestRules_RunningUnderOrphanGrace(t *testing.T) {
	for _, tc := range []struct {
		grace time.Duration
		want  Severity
	}{{0, SeverityCritical}, {4 * time.Second, SeverityCritical}, {5 * time.Second, SeverityInfo}} {
		for _, f := range byRule(FindLeaks(ix(t), LeakOptions{Grace: tc.grace}), RuleRunningUnderOrphan) {
			want := tc.want
			if f.ResourceID == "r-4" {
				want = SeverityCritical
			}
			if f.Severity != want || f.WithinGrace != (want == SeverityInfo) {
				t.Errorf("grace %s: %s is %s (within grace %v), want %s", tc.grace, f.ResourceID, f.Severity, f.WithinGrace, want)
			}
			if f.WithinGrace && !strings.HasSuffix(f.Message, "; within the 5s grace, so not yet a leak") {
				t.Errorf("message does not say so: %q", f.Message)
			}
		}
	}
}

// refResourceRule is what docs/leaks.md says of a live resource, computed the
// slow way: climb the parents.
func refResourceRule(ix *snapshot.Index, ri int, maxAge time.Duration) Rule {
	s := ix.Snap
	r := &s.Resources[ri]
	if !r.Live() {
		return ""
	}
	runs := r.Running && r.CanRun()
	o := ix.Owner(ri)
	if o < 0 || !s.Components[o].Alive() {
		if runs {
			return RuleRunningOrphan
		}
		return RuleOrphanedResource
	}
	goneAbove := false
	for c := o; ; {
		if s.Components[c].Parent == "" {
			break
		}
		p := ix.Parent(c)
		if p < 0 || !s.Components[p].Alive() {
			goneAbove = true
			break
		}
		c = p
	}
	if runs && goneAbove {
		return RuleRunningUnderOrphan
	}
	if maxAge > 0 && !r.CreatedAt.IsZero() && s.TakenAt.Sub(r.CreatedAt) > maxAge {
		return RuleStaleResource
	}
	return ""
}

// On a generated registry (destroyed components with alive children,
// missing parents and owners), every live resource gets the rule the
// slow reference gives it, and nothing else but dangling-dependency.
func TestRules_ResourceRulesAgreeWithReference(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := gensnap.Config{Components: 300, Resources: 3000, Seed: seed}
		ix := testsnap.Generated(t, cfg)
		s := ix.Snap
		maxAge := 10 * time.Minute
		got := map[int]Rule{}
		for _, f := range FindLeaks(ix, LeakOptions{MaxAge: maxAge}) {
			if f.Resource < 0 || f.Rule == RuleDanglingDependency {
				continue
			}
			if prev, dup := got[f.Resource]; dup {
				t.Fatalf("seed %d: %s has %s and %s", seed, f.ResourceID, prev, f.Rule)
			}
			got[f.Resource] = f.Rule
		}
		under := 0
		for ri := range s.Resources {
			want := refResourceRule(ix, ri, maxAge)
			if got[ri] != want {
				t.Errorf("seed %d: %s gets %q, reference %q", seed, s.Resources[ri].ID, got[ri], want)
			}
			if want == RuleRunningUnderOrphan {
				under++
			}
		}
		if under == 0 {
			t.Errorf("seed %d: the generated registry has no running-under-orphan case: the test checks nothing", seed)
		}
	}
}

// Every rule has a row in docs/leaks.md's table and a section there (the
// SARIF rules link to it).
func TestRules_Documented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "leaks.md"))
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for line := range strings.Lines(string(doc)) {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			headings = append(headings, strings.TrimSpace(h))
		}
	}
	for _, ri := range rules {
		id := string(ri.ID)
		if !strings.Contains(string(doc), "| `"+id+"` | "+ri.Severity.String()+" |") {
			t.Errorf("%s: no row in the rules table with severity %s", id, ri.Severity)
		}
		if !slices.ContainsFunc(headings, func(h string) bool { return h == id || strings.Contains(h, id+" ") || strings.HasSuffix(h, " "+id) }) {
			t.Errorf("%s: no section", id)
		}
	}
}
