package goroutines

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

func testProfile() *profile.Profile {
	fn := func(id uint64, name string) *profile.Function {
		return &profile.Function{ID: id, Name: name, Filename: "/src/" + name + ".go"}
	}
	park, work, exit := fn(1, "runtime.gopark"), fn(2, "example.com/a.work"), fn(3, "runtime.goexit")
	inl := fn(4, "example.com/a.inlined")
	l1 := &profile.Location{ID: 1, Line: []profile.Line{{Function: park, Line: 10}}}
	l2 := &profile.Location{ID: 2, Line: []profile.Line{{Function: inl, Line: 5}, {Function: work, Line: 20}}}
	l3 := &profile.Location{ID: 3, Line: []profile.Line{{Function: exit, Line: 1}}}
	return &profile.Profile{Sample: []*profile.Sample{
		{Value: []int64{3}, Location: []*profile.Location{l1, l2, l3}, Label: map[string][]string{"handler": {"/x"}, "b": {"1"}}},
		{Value: []int64{1}, Location: []*profile.Location{l1, l2, l3}},
		{Value: []int64{0}, Location: []*profile.Location{l1}},
	}}
}

func TestFromProfile(t *testing.T) {
	gs, err := FromProfile(testProfile(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 4 {
		t.Fatalf("%d goroutines, want 4 (3 + 1, the empty sample none)", len(gs))
	}
	want := []Frame{{"runtime.gopark", "/src/runtime.gopark.go", 10}, {"example.com/a.inlined", "/src/example.com/a.inlined.go", 5}, {"example.com/a.work", "/src/example.com/a.work.go", 20}}
	if len(gs[0].Frames) != 3 || gs[0].Frames[0] != want[0] || gs[0].Frames[1] != want[1] || gs[0].Frames[2] != want[2] {
		t.Errorf("frames = %+v, want %+v (inlined first, goexit dropped)", gs[0].Frames, want)
	}
	if gs[0].Labels["handler"] != "/x" || gs[3].Labels != nil {
		t.Errorf("labels %v %v", gs[0].Labels, gs[3].Labels)
	}
	if DefaultLabel(gs) != "b" {
		t.Errorf("DefaultLabel = %q, want the first key sorted", DefaultLabel(gs))
	}
	if _, err := FromProfile(testProfile(), 3); err == nil {
		t.Error("4 goroutines under a bound of 3: no error")
	}
	s := Build(gs, BuildOptions{Label: "handler"})
	if s.Resources[0].Owner != "label/handler=/x" || s.Resources[3].Owner != "package/example.com/a" || s.Resources[0].Name != "example.com/a.work" {
		t.Errorf("resources %+v", s.Resources)
	}
}

func TestMarkLeaked(t *testing.T) {
	all, _ := FromProfile(testProfile(), 100)
	p := testProfile()
	p.Sample[0].Value[0] = 2 // two of the three labelled ones leaked
	p.Sample[1].Value[0] = 2 // one more unlabelled than the goroutine profile saw
	leaked, _ := FromProfile(p, 100)
	got := MarkLeaked(all, leaked)
	n := 0
	for _, g := range got {
		if g.Leaked {
			n++
		}
	}
	if len(got) != 5 || n != 4 || got[2].Leaked || !got[0].Leaked || !got[4].Leaked {
		t.Errorf("%d goroutines, %d leaked: %+v", len(got), n, got)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"pprof:http://127.0.0.1:6060":             "http://127.0.0.1:6060/debug/pprof/",
		"pprof:http://127.0.0.1:6060/debug/pprof": "http://127.0.0.1:6060/debug/pprof/",
		"pprof:https://h:1/x/debug/pprof/":        "https://h:1/x/debug/pprof/",
	} {
		u, err := ParseTarget(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"pprof:", "pprof:127.0.0.1:6060", "pprof:unix:///x", "pprof:http://h/?debug=1", "pprof:http://a:b@h/", "http://h/"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q): no error", bad)
		}
	}
}

// Names that differ only in bytes that are not UTF-8 stay distinct ids
// and keys once written: the snapshot decodes.
func TestBuild_InvalidUTF8(t *testing.T) {
	gs := []Goroutine{
		{ID: 1, State: "s", Labels: map[string]string{"k\xff": "a", "k\xfe": "b", "h": "\xff"}, Frames: []Frame{{Func: "p\xff.f"}}},
		{ID: 2, State: "s", Labels: map[string]string{"h": "\xfe"}, Frames: []Frame{{Func: "p\xfe.f"}}},
		{ID: 3, State: "s", Frames: []Frame{{Func: "p\xfe.f"}}},
		{ID: 4, State: "s", Frames: []Frame{{Func: "p\xff.f"}}},
	}
	for _, label := range []string{"h", ""} {
		s := Build(gs, BuildOptions{Label: label})
		if _, err := snapshot.Decode(bytes.NewReader(s.AppendJSON(nil)), "x"); err != nil {
			t.Errorf("label %q: %v", label, err)
		}
	}
}
