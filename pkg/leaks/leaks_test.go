package leaks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func TestFindLeaks_Demo(t *testing.T) {
	var got []string
	for _, f := range FindLeaks(testsnap.Demo(t), LeakOptions{}) {
		got = append(got, fmt.Sprintf("%s %s %s%s", f.Rule, f.Severity, f.ResourceID, f.ComponentID))
	}
	want := []string{
		"running-orphan critical r-1042media_analysis_tab",
		"running-orphan critical r-1043media_analysis_controller",
		"orphaned-resource error r-1001media_analysis_workers",
		"orphaned-resource error r-1045media_analysis_controller",
		"orphaned-resource error r-6001export_dialog",
		"over-component-limit error thumbnail_tab",
		"orphaned-component warning audio_plugin",
		"dangling-dependency warning r-2012copy_verify_resources",
		"dangling-dependency warning r-4002settings_controller",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("demo findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Severity decides what fails through --fail-on; --severity only hides.
// Scanning in ranges and building findings on several goroutines gives
// what one goroutine gives.
func TestFindLeaks_ParallelSameAsSerial(t *testing.T) {
	cfg := gensnap.Tiny
	cfg.Cycles = 5
	ix := testsnap.Generated(t, cfg)
	for _, opts := range []LeakOptions{{}, {Grace: 3 * time.Minute, MaxAge: 30 * time.Minute}} {
		serial, _ := findLeaks(ix, opts, tuning{workers: 1, scanRange: 1 << 16, buildRange: 4096}, false)
		parallel, _ := findLeaks(ix, opts, tuning{workers: 4, scanRange: 999, buildRange: 97}, false)
		if len(serial) < 500 || !reflect.DeepEqual(serial, parallel) {
			t.Errorf("%+v: %d findings on one goroutine, %d on four, or they differ", opts, len(serial), len(parallel))
		}
	}
}

// Findings whose signatures differ are in different groups even when
// their hashes collide.
func TestAnalyze_GroupsDespiteHashCollisions(t *testing.T) {
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC),
		Components: []snapshot.Component{{ID: "tab", Name: "Tab", Type: "tab", State: "destroyed"}}}
	for i := range 30 {
		s.Resources = append(s.Resources, snapshot.Resource{ID: fmt.Sprintf("r-%02d", i), Type: "worker", Owner: "tab",
			Name: fmt.Sprintf("w-%d", i%4), State: snapshot.StateActive, Running: i%3 == 0, DependsOn: []string{fmt.Sprintf("gone-%d", i%3)}})
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	want := Analyze(ix, ReportOptions{FailOn: SeverityError})
	got := analyze(ix, ReportOptions{FailOn: SeverityError}, func(maphash.Seed, string) uint64 { return 42 })
	if len(want.Groups) != 12 || !reflect.DeepEqual(got.Groups, want.Groups) || !reflect.DeepEqual(got.Findings, want.Findings) {
		t.Errorf("with every hash equal, %d groups, want %d (or they differ)", len(got.Groups), len(want.Groups))
	}
}

// Findings grouped in two halves are grouped as in one: the same groups,
// in the same order, with hashes that spread and hashes that collide.
func TestFindGroups_TwoHalvesAsOne(t *testing.T) {
	t.Parallel()
	sup := &Suppression{Reason: "r"}
	fs := make([]Finding, 6000)
	for i := range fs {
		fs[i] = Finding{Rule: ruleSlots[i%3], Severity: Severity(1 + i/7%4), Signature: fmt.Sprintf("sig-%d", i%53)}
		if i%11 == 0 {
			fs[i].SuppressedBy = sup
		}
	}
	one := tuning{workers: 1, groupHalf: 1}
	two := tuning{workers: 2, groupHalf: 1000}
	if one.leakWorkers(len(fs), one.groupHalf) != 1 || two.leakWorkers(len(fs), two.groupHalf) != 2 {
		t.Fatal("the tunings do not make one worker and two")
	}
	for name, hash := range map[string]func(maphash.Seed, string) uint64{
		"spread":  maphash.String,
		"collide": func(seed maphash.Seed, s string) uint64 { return maphash.String(seed, s) & (1<<63 | 0xf) },
	} {
		wantG, wantI := findGroups(fs, hash, one)
		gotG, gotI := findGroups(fs, hash, two)
		if !slices.Equal(gotG, wantG) || !slices.Equal(gotI, wantI) {
			t.Errorf("%s: two halves find other groups than one", name)
		}
		// 53 signatures × 4 severities × suppressed or not, each of them
		// many times over.
		if len(wantI) != 53*4*2 {
			t.Errorf("%s: %d groups of %d findings, want %d", name, len(wantI), len(fs), 53*4*2)
		}
	}
}

func TestAnalyze_SeverityAndFailOn(t *testing.T) {
	ix := testsnap.Demo(t) // 2 critical, 4 error, 3 warning
	for _, tc := range []struct {
		failOn, show Severity
		failed       bool
		failing      int
		shown        int
	}{
		{SeverityError, 0, true, 6, 9},
		{SeverityCritical, 0, true, 2, 9},
		{SeverityWarning, 0, true, 9, 9},
		{SeverityInfo, 0, true, 9, 9},
		{0, 0, false, 0, 9},
		{SeverityError, SeverityCritical, true, 6, 2},
		{SeverityWarning, SeverityError, true, 9, 6},
		{SeverityCritical, SeverityWarning, true, 2, 9},
	} {
		r := Analyze(ix, ReportOptions{FailOn: tc.failOn, Show: tc.show})
		if r.Failed != tc.failed || r.Failing != tc.failing || len(r.Findings) != tc.shown || r.Hidden != 9-tc.shown {
			t.Errorf("fail-on %s, show %s: failed=%v failing=%d shown=%d hidden=%d", tc.failOn, tc.show, r.Failed, r.Failing, len(r.Findings), r.Hidden)
		}
		if s := r.Summary; s.Critical != 2 || s.Error != 4 || s.Warning != 3 || s.Info != 0 {
			t.Errorf("summary counts every finding, shown or not: %+v", s)
		}
	}
}

func TestAnalyze_GroupsBySignature(t *testing.T) {
	// Twelve thumbnail buffers of a destroyed tab: one signature, one group ×12.
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC),
		Components: []snapshot.Component{{ID: "tab", Name: "Tab", Type: "tab", State: "destroyed"}}}
	for i := range 12 {
		s.Resources = append(s.Resources, snapshot.Resource{ID: fmt.Sprintf("r-%02d", i), Type: "memory", Owner: "tab", Name: "buf", State: snapshot.StateActive,
			CreatedBy: snapshot.NewStack("thumbs.py:77 render")})
	}
	s.Resources = append(s.Resources, snapshot.Resource{ID: "w", Type: "worker", Owner: "tab", State: snapshot.StateActive, Running: true})
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	r := Analyze(ix, ReportOptions{FailOn: SeverityError})
	if len(r.Groups) != 2 || r.Groups[0].Rule != RuleRunningOrphan || len(r.Groups[1].Findings) != 12 {
		t.Fatalf("groups: %+v", r.Groups)
	}
	if r.Groups[1].Findings[0].ResourceID != "r-00" || r.Groups[1].Findings[11].ResourceID != "r-11" || !r.Groups[1].Fails {
		t.Errorf("a group keeps snapshot order: %+v", r.Groups[1])
	}
}

// A baseline whose ids all differ still matches by signature: only the new
// leak and the growth are reported.
func TestAnalyze_BaselineWithChangedIDs(t *testing.T) {
	r := Analyze(leakIndex(t, "growth-new"), ReportOptions{FailOn: SeverityError, Baseline: leakIndex(t, "growth-base")})
	var got []string
	for _, f := range r.Findings {
		got = append(got, string(f.Rule)+" "+f.ResourceID)
	}
	if strings.Join(got, ", ") != "running-orphan b-t, growth " || r.InBaseline != 1 || r.Snapshots != 2 {
		t.Errorf("findings %q, in baseline %d", got, r.InBaseline)
	}
}

func TestAnalyze_SuppressionsInReport(t *testing.T) {
	sup := mustSuppressions(t, `suppressions:
  - rule: running-orphan
    reason: known
  - type: file
    action: report
    reason: third-party cache
  - rule: cleanup-cycle
    reason: unused
`)
	r := Analyze(testsnap.Demo(t), ReportOptions{FailOn: SeverityError, Suppressions: sup, Now: may2027})
	if r.Summary.Suppressed != 2 || r.Summary.Critical != 0 {
		t.Errorf("suppressed: %+v", r.Summary)
	}
	// r-1001 (file) is reported but does not fail; r-2012 (file, dangling) too.
	if r.Failing != 3 || r.Summary.Error != 4 || r.Summary.Info != 1 {
		t.Errorf("failing %d, summary %+v", r.Failing, r.Summary)
	}
	for _, g := range r.Groups {
		if g.Findings[0].ResourceID == "r-1001" && (g.Fails || g.Findings[0].SuppressedBy == nil) {
			t.Errorf("action report group must not fail: %+v", g)
		}
	}
	if len(r.Uses) != 3 || r.Uses[0].Hits != 2 || r.Uses[1].Hits != 2 || r.Uses[2].Hits != 0 {
		t.Errorf("uses: %+v", r.Uses)
	}
}

// AppendJSON writes exactly what encoding/json writes for the shape docs/leaks.md gives.
func TestFinding_AppendJSONMatchesEncodingJSON(t *testing.T) {
	type spec struct {
		Rule      string   `json:"rule"`
		Severity  string   `json:"severity"`
		Resource  *string  `json:"resource"`
		Component *string  `json:"component"`
		Signature string   `json:"signature"`
		Message   string   `json:"message"`
		Path      []string `json:"path"`
	}
	fs := FindLeaks(testsnap.Demo(t), LeakOptions{})
	fs = append(fs, Finding{Rule: RuleOverGlobalLimit, Severity: SeverityError, Signature: "x", Message: "odd \"chars\" \\ \n\t\x01 <&> \u2028 é \xff", Path: []string{}})
	for _, f := range fs {
		sp := spec{Rule: string(f.Rule), Severity: f.Severity.String(), Signature: f.Signature, Message: f.Message, Path: f.Path}
		if f.ResourceID != "" {
			sp.Resource = &f.ResourceID
		}
		if f.ComponentID != "" {
			sp.Component = &f.ComponentID
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("    ", "  ")
		if err := enc.Encode(sp); err != nil {
			t.Fatal(err)
		}
		got := string(f.AppendJSON(nil, "    ", "  ")) + "\n"
		if got != want.String() {
			t.Errorf("got\n%s\nwant\n%s", got, want.String())
		}
		compact, _ := json.Marshal(f)
		var back spec
		if err := json.Unmarshal(compact, &back); err != nil || back.Message != strings.ToValidUTF8(f.Message, "\ufffd") {
			t.Errorf("compact form does not round-trip: %s (%v)", compact, err)
		}
	}
}

func TestSignature_StableDocumentedForm(t *testing.T) {
	// The documented form: SHA-256 of the fields, each followed by NUL, first 8 bytes in hex.
	got := Signature(RuleRunningOrphan, "MediaAnalysisTab", "tab", "worker", "analysis-worker", "media_analysis_controller.py:88 start_analysis_workflow")
	if got != "bf34de9ac4839514" {
		t.Errorf("signature changed: %s (reports and baselines depend on it)", got)
	}
	for _, f := range FindLeaks(testsnap.Demo(t), LeakOptions{}) {
		if f.ResourceID == "r-1042" && f.Signature != got {
			t.Errorf("FindLeaks signature %s differs from Signature %s", f.Signature, got)
		}
	}
}

// bigSnapshot builds n resources under n/10 components: a fifth of the
// components destroyed, some owners missing, dependencies on neighbours.
func bigSnapshot(n int) *snapshot.Snapshot {
	taken := time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: taken, Limits: snapshot.Limits{GlobalBytes: 1 << 40}}
	nc := max(n/10, 1)
	for i := range nc {
		c := snapshot.Component{ID: fmt.Sprintf("c-%d", i), Name: fmt.Sprintf("Comp%d", i%50), Type: "tab", State: "alive", CreatedAt: taken.Add(-time.Hour)}
		if i > 0 {
			c.Parent = fmt.Sprintf("c-%d", (i-1)/4)
		}
		if i%5 == 4 {
			c.State, c.DestroyedAt = "destroyed", taken.Add(-time.Duration(i%60)*time.Second)
		}
		s.Components = append(s.Components, c)
	}
	types := []string{"worker", "timer", "file", "memory", "qobject"}
	for i := range n {
		r := snapshot.Resource{ID: fmt.Sprintf("r-%d", i), Type: types[i%len(types)], Owner: fmt.Sprintf("c-%d", i%nc), Name: fmt.Sprintf("res-%d", i%100),
			State: snapshot.StateActive, Running: i%3 == 0, SizeBytes: int64(i % 4096), CreatedAt: taken.Add(-time.Duration(i%600) * time.Second),
			CreatedBy: snapshot.NewStack(fmt.Sprintf("module_%d.py:%d make", i%20, i%300), "app.py:1 main")}
		if i%97 == 0 {
			r.Owner = "gone"
		}
		if i%7 == 0 {
			r.State = snapshot.StateReleased
		}
		if i > 0 && i%3 == 1 {
			r.DependsOn = []string{fmt.Sprintf("r-%d", i-1)}
		}
		s.Resources = append(s.Resources, r)
	}
	return s
}

func BenchmarkFindLeaks(b *testing.B) {
	for _, n := range []int{10_000} {
		ix, err := snapshot.NewIndex(bigSnapshot(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var found int
			for b.Loop() {
				found = len(FindLeaks(ix, LeakOptions{Grace: 10 * time.Second, MaxAge: 5 * time.Minute}))
			}
			b.ReportMetric(float64(found), "findings")
		})
	}
}

// bigSnapshotWithCycles adds dependency knots to bigSnapshot: every 50th
// resource depends on the one 10 ahead and back, some through longer loops.
func bigSnapshotWithCycles(n int) *snapshot.Snapshot {
	s := bigSnapshot(n)
	for i := 0; i+20 < n; i += 50 {
		s.Resources[i].State, s.Resources[i+10].State, s.Resources[i+20].State = snapshot.StateActive, snapshot.StateActive, snapshot.StateActive
		s.Resources[i].DependsOn = append(s.Resources[i].DependsOn, s.Resources[i+10].ID)
		s.Resources[i+10].DependsOn = append(s.Resources[i+10].DependsOn, s.Resources[i+20].ID)
		if i%100 == 0 {
			s.Resources[i+20].DependsOn = append(s.Resources[i+20].DependsOn, s.Resources[i].ID)
		} else {
			s.Resources[i+10].DependsOn = append(s.Resources[i+10].DependsOn, s.Resources[i].ID)
		}
	}
	return s
}

// AppendJSONString escapes as encoding/json does with HTML escaping off,
// whether the bytes to escape come alone or among runs of plain ones.
func TestAppendJSONString_AsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "plain", "sixteen plain by", string([]byte{0xff, 0xfe}), "\u2028", "a\u2029b", "\xed\xa0\x80", "é\x80", "→ r-1 → r-2"}
	for b := range 256 {
		c := string([]byte{byte(b)})
		cases = append(cases, c, "x"+c+"y", "12345678"+c, "1234567"+c+"abcdefgh", strings.Repeat(c, 9))
	}
	for range 3000 {
		buf := make([]byte, r.IntN(40))
		for i := range buf {
			if r.IntN(4) == 0 {
				buf[i] = byte(r.IntN(256))
			} else {
				buf[i] = byte(0x20 + r.IntN(0x5f))
			}
		}
		cases = append(cases, string(buf))
	}
	for _, s := range cases {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := AppendJSONString(nil, s); string(got)+"\n" != want.String() {
			t.Fatalf("AppendJSONString(%q) = %s, want %s", s, got, want.String())
		}
	}
}
