package leaks

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// deferCases are reports whose findings have every kind of text: orphans
// of destroyed and of missing owners, resources running under one,
// dangling dependencies, stale resources, findings within the grace,
// paths too long to keep whole, suppressed ones.
func deferCases(t *testing.T) map[string]func() (*snapshot.Index, ReportOptions) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sup := mustSuppressions(t, "suppressions:\n  - rule: dangling-dependency\n    type: timer\n    action: report\n    reason: timers are swept at exit\n")
	deep := gensnap.Tiny
	deep.Shape = gensnap.Deep
	return map[string]func() (*snapshot.Index, ReportOptions){
		"standard": func() (*snapshot.Index, ReportOptions) {
			return testsnap.Generated(t, gensnap.Tiny), ReportOptions{Now: now, FailOn: SeverityError}
		},
		"grace and max age": func() (*snapshot.Index, ReportOptions) {
			return testsnap.Generated(t, gensnap.Tiny), ReportOptions{Leaks: LeakOptions{Grace: 3 * time.Minute, MaxAge: 30 * time.Minute}, Now: now}
		},
		"deep, suppressed": func() (*snapshot.Index, ReportOptions) {
			return testsnap.Generated(t, deep), ReportOptions{Suppressions: sup, Now: now, Show: SeverityWarning}
		},
	}
}

// A report that leaves the findings' text for later writes the same JSON
// finding by finding, and is the same report once completed.
func TestDeferText_SameReport(t *testing.T) {
	for name, mk := range deferCases(t) {
		t.Run(name, func(t *testing.T) {
			ix, opts := mk()
			want := Analyze(ix, opts)
			opts.DeferText = true
			got := Analyze(ix, opts)
			later := 0
			for i := range got.Findings {
				if got.Findings[i].later != 0 {
					later++
					if got.Findings[i].Message != "" || got.Findings[i].Path != nil {
						t.Fatalf("finding %d was left for later but has a text", i)
					}
				}
			}
			if later < 100 {
				t.Fatalf("only %d findings left for later: the test proves little", later)
			}
			var s Scratch
			for i := range want.Findings {
				w := want.Findings[i].AppendJSON(nil, "", "  ")
				g := got.AppendFindingJSON(nil, &got.Findings[i], &s, "", "  ")
				if !bytes.Equal(w, g) {
					t.Fatalf("finding %d:\nwant %s\ngot  %s", i, w, g)
				}
			}
			got.Complete(got.Findings[:len(got.Findings)/3])
			got.Complete(got.Findings) // the first third again: left alone
			if !reflect.DeepEqual(want.Findings, got.Findings) || !reflect.DeepEqual(want.Groups, got.Groups) {
				t.Error("the completed report differs from the one made with the text")
			}
		})
	}
}

// One Scratch serves reports of different snapshots in turn; Complete
// may run on distinct findings from several goroutines at once.
func TestDeferText_ScratchAndConcurrency(t *testing.T) {
	cases := deferCases(t)
	ixA, optsA := cases["standard"]()
	ixB, optsB := cases["deep, suppressed"]()
	optsA.DeferText, optsB.DeferText = true, true
	a, b := Analyze(ixA, optsA), Analyze(ixB, optsB)
	wantA, wantB := Analyze(ixA, ReportOptions{Now: optsA.Now, FailOn: optsA.FailOn}), Analyze(ixB, ReportOptions{Suppressions: optsB.Suppressions, Now: optsB.Now, Show: optsB.Show})
	var s Scratch
	for i := range min(len(a.Findings), len(b.Findings), 300) {
		for _, c := range []struct {
			r, want *Report
		}{{a, wantA}, {b, wantB}} {
			g := c.r.AppendFindingJSON(nil, &c.r.Findings[i], &s, "", "")
			if w := c.want.Findings[i].AppendJSON(nil, "", ""); !bytes.Equal(w, g) {
				t.Fatalf("finding %d, scratch shared between reports:\nwant %s\ngot  %s", i, w, g)
			}
		}
	}
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Go(func() { a.Complete(a.Findings[len(a.Findings)*k/4 : len(a.Findings)*(k+1)/4]) })
	}
	wg.Wait()
	for i := range a.Findings {
		if a.Findings[i].Message != wantA.Findings[i].Message {
			t.Fatalf("finding %d: message %q, want %q", i, a.Findings[i].Message, wantA.Findings[i].Message)
		}
	}
}

// CompleteGroups makes the text of the first perGroup findings of the
// groups it is given, as the report made with the text has it, and of no
// other finding.
func TestCompleteGroups_TheFirstFindingsOfTheGroupsGiven(t *testing.T) {
	// 40 destroyed tabs, each still holding 5 alike workers: 40 groups of
	// 5 findings.
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for c := range 40 {
		id := fmt.Sprintf("tab-%d", c)
		s.Components = append(s.Components, snapshot.Component{ID: id, Type: "tab", State: snapshot.StateDestroyed, DestroyedAt: s.TakenAt.Add(-time.Hour)})
		for k := range 5 {
			s.Resources = append(s.Resources, snapshot.Resource{ID: fmt.Sprintf("r-%d-%d", c, k), Type: "worker", Name: "thumbnails", Owner: id,
				State: snapshot.StateActive, CreatedBy: snapshot.NewStack(fmt.Sprintf("tab_%d.py:1 start", c))})
		}
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	opts := ReportOptions{Now: s.TakenAt}
	want := Analyze(ix, opts)
	opts.DeferText = true
	got := Analyze(ix, opts)
	if len(got.Groups) != 40 || len(got.Findings) != 200 {
		t.Fatalf("%d groups of %d findings, want 40 of 200", len(got.Groups), len(got.Findings))
	}
	const from, to, per = 10, 30, 2
	got.CompleteGroups(got.Groups[from:to], per)
	made := 0
	for gi, g := range got.Groups {
		for k := range g.Findings {
			f, w := &g.Findings[k], &want.Groups[gi].Findings[k]
			if gi >= from && gi < to && k < per {
				if f.Message != w.Message || !reflect.DeepEqual(f.Path, w.Path) || f.PathElided != w.PathElided || f.Message == "" {
					t.Fatalf("group %d, finding %d: %q %v, want %q %v", gi, k, f.Message, f.Path, w.Message, w.Path)
				}
				made++
			} else if f.Message != "" || f.Path != nil {
				t.Fatalf("group %d, finding %d: text made outside the findings given", gi, k)
			}
		}
	}
	if made != (to-from)*per {
		t.Errorf("%d findings made, want %d", made, (to-from)*per)
	}
}
