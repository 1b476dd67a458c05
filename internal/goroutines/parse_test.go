package goroutines

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func parseFile(t testing.TB, name string) []Goroutine {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return gs
}

func TestParse_Waits(t *testing.T) {
	gs := parseFile(t, "waits.txt")
	if len(gs) != 5 {
		t.Fatalf("%d goroutines, want 5", len(gs))
	}
	g := gs[0]
	if g.ID != 1 || g.State != "chan receive" || g.Wait != 5*time.Minute || g.WaitText != "5 minutes" || g.CreatedBy != nil {
		t.Errorf("goroutine 1 = %+v", g)
	}
	if len(g.Frames) != 1 || g.Frames[0] != (Frame{"main.main", "/src/app/main.go", 12}) {
		t.Errorf("goroutine 1 frames = %+v", g.Frames)
	}
	g = gs[1]
	if g.State != "select" || g.Wait != time.Minute || !g.Locked || g.Creator != 1 ||
		g.CreatedBy == nil || *g.CreatedBy != (Frame{"example.com/app/worker.NewPool", "/src/app/worker/pool.go", 40}) {
		t.Errorf("goroutine 7 = %+v", g)
	}
	if g.Frames[0].Func != "example.com/app/worker.(*Pool).loop" {
		t.Errorf("goroutine 7 function = %q: the arguments must go, (*Pool) stay", g.Frames[0].Func)
	}
	g = gs[2]
	if len(g.Frames) != 2 || g.Elided != 1 || g.Creator != 0 || g.CreatedBy.Func != "net/http.(*Server).Serve" {
		t.Errorf("goroutine 8 = %+v", g)
	}
	if !gs[3].Running() || gs[0].Running() {
		t.Error("runnable must be running, chan receive not")
	}
	if !gs[4].Leaked || gs[4].State != "chan send" || gs[4].Wait != 3*time.Minute {
		t.Errorf("goroutine 10 = %+v, want a leaked chan send", gs[4])
	}
}

// A real SIGQUIT (GOTRACEBACK=system): the signal and registers are
// skipped, every goroutine 0 kept, fp= sp= pc= cut from locations.
func TestParse_SIGQUIT(t *testing.T) {
	gs := parseFile(t, "sigquit.txt")
	var main *Goroutine
	for i := range gs {
		if gs[i].ID == 1 {
			main = &gs[i]
		}
		for _, f := range gs[i].Frames {
			if strings.Contains(f.File, "fp=") || strings.Contains(f.File, "+0x") || f.Line == 0 && f.File != "" {
				t.Fatalf("goroutine %d: location not cut: %+v", gs[i].ID, f)
			}
		}
	}
	if main == nil || main.State != "sleep" || main.Frames[2].Func != "main.main" {
		t.Fatalf("goroutine 1 = %+v", main)
	}
	if len(gs) < 5 {
		t.Errorf("only %d goroutines", len(gs))
	}
}

// A panic: the message before the dump is skipped, a second dump after it
// with the same ids is an error (two dumps in one input).
func TestParse_Panic(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join("testdata", "panic.txt"))
	_, err := Parse(bytes.NewReader(b))
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "goroutine 1 appears twice") {
		t.Fatalf("err = %v, want goroutine 1 twice", err)
	}
	i := bytes.Index(b, []byte("panic: boom"))
	gs, err := Parse(bytes.NewReader(b[i:]))
	if err != nil || len(gs) != 1 || gs[0].State != "running" {
		t.Fatalf("the panic alone: %+v, %v", gs, err)
	}
}

func TestParse_Errors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "no goroutine found",
		"hello\nworld\n":                       "no goroutine found",
		"goroutine x [running]:\n":             "line 1: malformed goroutine header: the id is not a number",
		"goroutine 1 running]:\n":              "line 1: malformed goroutine header: no [state]",
		"\n\ngoroutine 1 []:\n":                "line 3: malformed goroutine header: empty state",
		"goroutine [x]:\n":                     "line 1: malformed goroutine header",
		strings.Repeat("a", MaxLine+1):         "longer than",
		"goroutine 1 [a]:\n\ngoroutine 1 [b]:": "line 3: goroutine 1 appears twice",
	} {
		_, err := Parse(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40q) = %v, want %q", in, err, want)
		}
	}
}

func TestParse_BoundsFrames(t *testing.T) {
	var b strings.Builder
	b.WriteString("goroutine 1 [running]:\n")
	for range MaxFrames + 50 {
		b.WriteString("main.f()\n\t/a.go:1 +0x1\n")
	}
	gs, err := Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs[0].Frames) != MaxFrames || gs[0].Elided != 50 {
		t.Errorf("%d frames, %d elided; want %d and 50", len(gs[0].Frames), gs[0].Elided, MaxFrames)
	}
}

func TestPackage(t *testing.T) {
	tabletest.Func(t, "Package", Package, map[string]string{
		"main.main":              "main",
		"main.main.func1":        "main",
		"net/http.(*conn).serve": "net/http",
		"example.com/a/b.(*T).m": "example.com/a/b",
		"example.com/a/b.F[...]": "example.com/a/b",
		"runtime.gopark":         "runtime",
		"noDot":                  "noDot",
		"example.com/a/b.c/d.fn": "example.com/a/b.c/d",
	})
}

func TestBuild(t *testing.T) {
	gs := parseFile(t, "waits.txt")
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := Build(gs, BuildOptions{TakenAt: at, Process: "app", Producer: "rescoord import goroutines"})
	// The snapshot is valid: it goes through the encoder and the strict decoder.
	s2, err := snapshot.Decode(bytes.NewReader(s.AppendJSON(nil)), "built")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.NewIndex(s2); err != nil {
		t.Fatal(err)
	}
	comps := map[string]string{}
	for _, c := range s2.Components {
		comps[c.ID] = c.Parent
	}
	for _, id := range []string{"package/main", "package/example.com/app/worker", "package/net/http", "package/example.com/app/cache"} {
		if p, ok := comps[id]; !ok || p != RootID {
			t.Errorf("component %s: missing or not under the root (%v)", id, comps)
		}
	}
	r := s2.Resources[1]
	if r.ID != "goroutine/7" || r.Type != snapshot.TypeThread || r.Owner != "package/example.com/app/worker" ||
		r.Name != "example.com/app/worker.(*Pool).loop" || r.Running || !r.CreatedAt.Equal(at.Add(-time.Minute)) {
		t.Errorf("goroutine 7 = %+v", r)
	}
	want := []string{"/src/app/worker/pool.go:88 example.com/app/worker.(*Pool).loop", "/src/app/worker/pool.go:40 example.com/app/worker.NewPool"}
	if strings.Join(r.CreatedBy.Frames(), "|") != strings.Join(want, "|") {
		t.Errorf("created_by = %q, want %q", r.CreatedBy.Frames(), want)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Metadata.Raw(), &m); err != nil {
		t.Fatal(err)
	}
	if m["wait"] != "1 minute" || m["wait_seconds"] != 60.0 || m["locked_to_thread"] != true || m["creator"] != 1.0 || m["state"] != "select" {
		t.Errorf("metadata = %v", m)
	}
	if !s2.Resources[3].Running {
		t.Error("the runnable goroutine is not running")
	}
	if string(s2.Resources[4].Extra[LeakedField]) != "true" || s2.Resources[0].Extra != nil {
		t.Errorf("leaked marks: %v, %v", s2.Resources[4].Extra, s2.Resources[0].Extra)
	}
}

func TestBuild_Labels(t *testing.T) {
	gs := []Goroutine{
		{ID: 1, State: "select", Labels: map[string]string{"handler": "/upload", "tenant": "a"}, Frames: []Frame{{Func: "main.h"}}},
		{ID: 2, State: "select", Frames: []Frame{{Func: "example.com/x.f"}}},
	}
	s := Build(gs, BuildOptions{Label: "handler"})
	if s.Resources[0].Owner != "label/handler=/upload" || s.Resources[1].Owner != "package/example.com/x" {
		t.Errorf("owners %q %q", s.Resources[0].Owner, s.Resources[1].Owner)
	}
	if c := s.Components[1]; c.Name != "/upload" || c.Type != "label handler" || c.Labels["handler"] != "/upload" {
		t.Errorf("label component = %+v", c)
	}
}
