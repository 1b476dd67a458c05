package printer

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Every kind has a table, and New makes a printer for every format of it
// and for nothing else.
func TestNew_EveryFormatOfEveryKind(t *testing.T) {
	t.Parallel()
	for i := range kinds {
		k := Kind(i)
		fs := Formats(k)
		if got, ok := KindNamed(k.String()); !ok || got != k {
			t.Errorf("KindNamed(%q) = %v, %v", k, got, ok)
		}
		if len(fs) == 0 {
			t.Fatalf("%s has no formats", k)
		}
		for _, f := range fs {
			if f.Help == "" {
				t.Errorf("%s -o %s has no help", k, f.Name)
			}
			if _, err := New(k, f.Name, Options{}); err != nil {
				t.Errorf("New(%s, %s): %v", k, f.Name, err)
			}
		}
		_, err := New(k, "yaml", Options{})
		if err == nil || !strings.Contains(err.Error(), fs.Default()) {
			t.Errorf("New(%s, yaml) = %v, want an error naming the formats", k, err)
		}
	}
}

// The leaks table and internal/report name the same formats, in the same
// order, so validation, help, completion and printing agree.
func TestFormats_LeaksAreTheReportFormats(t *testing.T) {
	t.Parallel()
	if got := Formats(Leaks).Names(); !slices.Equal(got, report.Formats) {
		t.Errorf("the leaks table has %v, internal/report prints %v", got, report.Formats)
	}
}

// A printer refuses the data of another kind instead of guessing.
func TestPrint_RefusesOtherKindsData(t *testing.T) {
	t.Parallel()
	p := mustNew(t, Stats, "text")
	for _, d := range []Data{nil, &ListData{}, &LeaksData{}} {
		if err := p.Print(io.Discard, d); err == nil {
			t.Errorf("a stats printer printed %T", d)
		}
	}
}

// mustNew returns the printer of kind and format, without options.
func mustNew(t *testing.T, k Kind, format string) Printer {
	t.Helper()
	p, err := New(k, format, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// hostile is a snapshot whose strings would act on a terminal.
func hostile(t *testing.T) *snapshot.Index {
	t.Helper()
	s := &snapshot.Snapshot{
		Format:     snapshot.FormatV1,
		TakenAt:    time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
		Source:     snapshot.Source{Process: "app\x1b]0;owned\x07"},
		Components: []snapshot.Component{{ID: "app\x1b[2J", Type: "window", State: "alive"}},
		Resources: []snapshot.Resource{{ID: "r-1\x1b[31m", Type: "worker", Owner: "app\x1b[2J", Name: "evil\x1b]8;;http://x\x07",
			State: snapshot.StateActive, Running: true, CreatedAt: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)}},
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// Every format but the raw ones goes through render.SafeWriter: no
// control character of the snapshot reaches the output, however the
// format's own code writes it. The raw formats escape their own text.
func TestPrint_NoControlCharacterReachesTheOutput(t *testing.T) {
	t.Parallel()
	ix := hostile(t)
	data := map[Kind]Data{
		List:     &ListData{Index: ix, Sel: []int32{0}, Total: 1},
		Stats:    &StatsData{Snap: ix.Snap, Stats: snapshot.ComputeStats(ix, 5)},
		Validate: &ValidateData{Report: ValidateReport{Valid: true, Input: "x\x1b"}, Label: "x\x1b[2J"},
		Graph:    &GraphData{Index: ix, Root: -1, All: true},
		Leaks:    &LeaksData{Report: leaks.Analyze(ix, leaks.ReportOptions{Now: ix.Snap.TakenAt.Add(time.Hour)})},
		Ps: &PsData{Dir: "/run/x\x1b[2J", Now: ix.Snap.TakenAt, Processes: []discovery.Listed{
			{Entry: discovery.Entry{PID: 7, Process: "app\x1b]0;owned\x07", Address: "unix:///x\x1b.sock"}, Refused: "mode\x1b"}}},
		AttachCheck: &AttachCheckData{Target: "t\x1b", Checks: []CheckResult{
			{Name: "snapshot\x1b[2J", OK: true, Got: "200\x07"}, {Name: "host", Want: "421", Got: "body \x1b]0;owned\x07"}}},
	}
	for k, d := range data {
		for _, f := range Formats(k) {
			p := mustNew(t, k, f.Name)
			var out bytes.Buffer
			if err := p.Print(&out, d); err != nil {
				t.Fatalf("%s -o %s: %v", k, f.Name, err)
			}
			if i := bytes.IndexAny(out.Bytes(), "\x1b\x07"); i >= 0 {
				t.Errorf("%s -o %s wrote a control character at %d:\n%q", k, f.Name, i, out.String())
			}
		}
	}
}

// The tree is the list kind's text with Tree set, from a root.
func TestPrint_ListTree(t *testing.T) {
	t.Parallel()
	ix := hostile(t)
	p := mustNew(t, List, "table")
	var out bytes.Buffer
	if err := p.Print(&out, &ListData{Index: ix, Sel: []int32{0}, Tree: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `app\x1b[2J`) || !strings.Contains(out.String(), "1 resource") {
		t.Errorf("tree:\n%s", out.String())
	}
	if err := p.Print(io.Discard, &ListData{Index: ix, Tree: true, Root: "nope"}); err == nil {
		t.Error("a tree from a missing root printed")
	}
}

// A write error reaches the caller.
func TestPrint_WriteError(t *testing.T) {
	t.Parallel()
	ix := hostile(t)
	p := mustNew(t, List, "table")
	err := p.Print(&failingWriter{}, &ListData{Index: ix, Sel: []int32{0}, Total: 1})
	if !errors.Is(err, errWriteFailed) {
		t.Errorf("err = %v, want the write's", err)
	}
}

func TestKind_Describe(t *testing.T) {
	t.Parallel()
	if _, ok := KindNamed("import"); ok {
		t.Error("import has a kind")
	}
	if Formats(Kind(99)) != nil || Kind(99).String() != "Kind(99)" {
		t.Error("an unknown kind has formats or a name")
	}
	if got := Leaks.Describe("sarif"); got != "the sarif report" {
		t.Errorf("Describe = %q", got)
	}
	if got := Cleanup.Describe("json"); got != "the json plan" {
		t.Errorf("Describe = %q", got)
	}
}

// The path itself escapes what a format's code forgot to: a printer that
// writes a raw ESC gets it escaped unless its format is Raw.
func TestPrint_ThePathEscapes(t *testing.T) {
	t.Parallel()
	careless := func(w io.Writer, _ Data) error {
		_, err := io.WriteString(w, "a\x1b]0;owned\x07b")
		return err
	}
	for _, raw := range []bool{false, true} {
		var out bytes.Buffer
		p := &printer{kind: Stats, raw: raw, print: careless}
		if err := p.Print(&out, &StatsData{}); err != nil {
			t.Fatal(err)
		}
		if escaped := !strings.Contains(out.String(), "\x1b"); escaped == raw {
			t.Errorf("raw %v: wrote %q", raw, out.String())
		}
	}
}
