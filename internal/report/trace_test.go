package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func underOrphanReport(t *testing.T) *leaks.Report {
	t.Helper()
	ix := testsnap.File(t, filepath.Join("..", "..", "testdata", "leaks", "running-under-orphan.json"))
	return leaks.Analyze(ix, leaks.ReportOptions{FailOn: leaks.SeverityError})
}

// The trace of a running-under-orphan finding marks the owner's nearest
// gone ancestor, and only it.
func TestTrace_RunningUnderOrphanMarksTheGoneAncestor(t *testing.T) {
	r := underOrphanReport(t)
	tr := newTracer(r.Index)
	want := map[string]string{"r-1": "Tab (tab, tab)", "r-2": "Tab (tab, tab)", "r-4": "plugin_host"}
	for _, f := range r.Findings {
		if f.Rule != leaks.RuleRunningUnderOrphan {
			continue
		}
		var marked []string
		for _, h := range tr.trace(&f).hops {
			if strings.HasSuffix(h.state, goneMark) {
				marked = append(marked, h.label)
			}
		}
		if w, ok := want[f.ResourceID]; ok && (len(marked) != 1 || marked[0] != w) {
			t.Errorf("%s: marked %q, want %q", f.ResourceID, marked, w)
		}
	}
}

// Only running-under-orphan marks a hop: a running orphan's own owner is
// the reason, and is marked destroyed already.
func TestTrace_RunningOrphanHasNoMark(t *testing.T) {
	ix := testsnap.File(t, filepath.Join("..", "..", "testdata", "leaks", "running-under-orphan-clean.json"))
	tr := newTracer(ix)
	for _, f := range leaks.FindLeaks(ix, leaks.LeakOptions{}) {
		if got := tr.trace(&f).appendPlain(nil); bytes.Contains(got, []byte(goneMark)) {
			t.Errorf("%s %s%s is marked:\n%s", f.Rule, f.ResourceID, f.ComponentID, got)
		}
	}
}

// The orphaned-component trace lists the running resources below the
// component, at most maxRunningShown, then how many more.
func TestTrace_OrphanedComponentListsWhatRunsBelow(t *testing.T) {
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC),
		Components: []snapshot.Component{
			{ID: "tab", State: snapshot.StateDestroyed},
			{ID: "ctl", Parent: "tab", State: snapshot.StateAlive},
			{ID: "workers", Parent: "ctl", State: snapshot.StateAlive},
		}}
	add := func(id, typ, owner string, running bool, state snapshot.ResourceState) {
		s.Resources = append(s.Resources, snapshot.Resource{ID: id, Type: typ, Owner: owner, State: state, Running: running,
			CreatedBy: snapshot.NewStack(id + ".py:3 start")})
	}
	add("idle", "worker", "ctl", false, snapshot.StateActive)
	add("file", "file", "ctl", true, snapshot.StateActive)
	add("done", "thread", "ctl", true, snapshot.StateReleased)
	for i := range maxRunningShown + 2 {
		add(fmt.Sprintf("w-%d", i), "worker", "workers", true, snapshot.StateActive)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	var comp *leaks.Finding
	fs := leaks.FindLeaks(ix, leaks.LeakOptions{})
	for i := range fs {
		if fs[i].Rule == leaks.RuleOrphanedComponent {
			comp = &fs[i]
		}
	}
	if comp == nil {
		t.Fatal("no orphaned-component finding")
	}
	got := string(newTracer(ix).trace(comp).appendPlain(nil))
	want := `
tab  destroyed
└─ ctl  alive
its subtree holds 9 live resources (0 B)
running below it:
  w-0 (worker), owned by workers, created at w-0.py:3 start
  w-1 (worker), owned by workers, created at w-1.py:3 start
  w-2 (worker), owned by workers, created at w-2.py:3 start
  w-3 (worker), owned by workers, created at w-3.py:3 start
  w-4 (worker), owned by workers, created at w-4.py:3 start
  … and 2 more`
	if got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// Every report format carries the rule, and the trace's mark where the
// format shows traces.
func TestFormats_RunningUnderOrphan(t *testing.T) {
	r := underOrphanReport(t)
	for _, format := range Formats {
		out := string(printReport(t, format, Options{Input: "running-under-orphan.json", Version: "test"}, r))
		if !strings.Contains(out, "running-under-orphan") {
			t.Errorf("%s: the rule is not named:\n%s", format, out)
		}
		if format != "json" && !strings.Contains(out, "this is why it still runs") {
			t.Errorf("%s: the gone ancestor is not marked:\n%s", format, out)
		}
	}
}

// The running resources listed under an orphaned component are the
// snapshot's strings, escaped.
func TestTrace_RunningBelowEscapes(t *testing.T) {
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC),
		Components: []snapshot.Component{{ID: "ctl\x1b[2J", Parent: "gone", State: snapshot.StateAlive}},
		Resources: []snapshot.Resource{{ID: "r-1", Type: "worker", Name: "w\r\n::error::x", Owner: "ctl\x1b[2J", State: snapshot.StateActive,
			Running: true, CreatedBy: snapshot.NewStack("a.py:1 f\x07")}}}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(newTracer(ix).runningBelow(0, maxRunningShown), "\n")
	want := "running below it:\n  w\\r\\n::error::x (worker, r-1), owned by ctl\\x1b[2J, created at a.py:1 f\\x07"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
