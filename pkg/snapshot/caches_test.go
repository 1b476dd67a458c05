package snapshot

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Creation stacks whose texts are alike — one a prefix of another, equal
// but for the last byte, equal frames written with an escape, a null or
// other spacing, too short or too long for the cache — each decode to
// their own frames, by windows as in memory, and as Parse decodes them.
func TestFast_StacksKnownByTheirText(t *testing.T) {
	t.Parallel()
	frames := make([]string, 16)
	for i := range frames {
		frames[i] = fmt.Sprintf("media_analysis_controller.py:%d start_analysis_workflow", 100+i)
	}
	quote := func(list []string) string {
		var b strings.Builder
		b.WriteByte('[')
		for i, f := range list {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + f + `"`)
		}
		b.WriteByte(']')
		return b.String()
	}
	lastByte := slices.Clone(frames)
	lastByte[15] = strings.TrimSuffix(lastByte[15], "w") + "x"
	middle := slices.Clone(frames) // same length, start and end
	middle[7] = strings.Replace(middle[7], ":107", ":197", 1)
	long := slices.Repeat(frames, 4) // more than stackMaxText bytes
	cases := []struct {
		text string
		want []string
	}{
		{quote(frames), frames},
		{quote(frames[:15]), frames[:15]},
		{quote(frames[:2]), frames[:2]},
		{quote(lastByte), lastByte},
		{quote(middle), middle},
		{strings.Replace(quote(frames), "media", `\u006dedia`, 1), frames},
		{strings.Replace(quote(frames), `",`, `", null ,`, 1), frames},
		{strings.ReplaceAll(quote(frames), `,`, ` , `), frames},
		{`["a.py:1 f"]`, []string{"a.py:1 f"}},
		{quote(long), long},
		{`null`, nil},
		{`[]`, nil},
	}
	for _, c := range cases {
		if len(c.text) >= stackKey && len(c.text) <= stackMaxText && c.want == nil {
			t.Fatalf("case %s tests nothing of the cache", c.text)
		}
	}
	var b strings.Builder
	b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive"}],"resources":[`)
	n := small().minParallel * 3
	elements(&b, n, func(k int) {
		fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active","created_by":%s}`, k, cases[k%len(cases)].text)
	})
	b.WriteString(`]}`)
	data := []byte(b.String())
	compareModes(t, data)
	want, err := Parse([]byte(b.String()), "in")
	if err != nil {
		t.Fatal(err)
	}
	bothWays(t, data, func(how string, s *Snapshot) {
		t.Helper()
		if !sameSnapshot(want, s) {
			t.Fatalf("%s: the snapshot is not Parse's", how)
		}
		for k, r := range s.Resources {
			if got := r.CreatedBy.Frames(); !slices.Equal(got, cases[k%len(cases)].want) {
				t.Fatalf("%s: resource %d: created_by %q, want %q", how, k, got, cases[k%len(cases)].want)
			}
		}
	})
	// A text taken for another's would end inside the array: the element
	// would then go to the strict decoder, which must not have been needed.
	path := writeTemp(t, "stacks.json", data)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := loadLarge(context.Background(), f, int64(len(data)), path, small()); !ok {
		t.Fatal("valid creation stacks needed the strict decoder")
	}
}

// A cursor in copy mode reads a stack it has read before, byte for byte,
// from its cache and gives the same Stack; one whose stacks do not repeat
// stops looking after stackProbe of them.
func TestFast_StackTextsCacheAndGiveUp(t *testing.T) {
	t.Parallel()
	text := `["plugin_host.py:101 _build_results_table","plugin_host.py:192 verify_copy"]`
	read := func(f *fast, data string) Stack {
		t.Helper()
		f.data, f.pos = []byte(data), 0
		var s Stack
		if !f.readStack(&s) || f.pos != len(text) {
			t.Fatalf("readStack at %d of %s", f.pos, data)
		}
		return s
	}
	f := &fast{copy: true}
	first := read(f, text+`,"x":1}`)
	second := read(f, text+`}`)
	if f.texts == nil || f.texts.hits != 1 {
		t.Fatalf("the second reading of the same text was not a hit: %+v", f.texts)
	}
	if first.frames != second.frames || !slices.Equal(second.Frames(), []string{"plugin_host.py:101 _build_results_table", "plugin_host.py:192 verify_copy"}) {
		t.Fatalf("the hit gave %q at %p, the parse %q at %p", second.Frames(), second.frames, first.Frames(), first.frames)
	}

	g := &fast{copy: true}
	for i := range stackProbe {
		var s Stack
		g.data, g.pos = fmt.Appendf(nil, `["plugin_host.py:101 _build_results_table","plugin_host.py:%06d verify"]`, i), 0
		if !g.readStack(&s) || s.Len() != 2 {
			t.Fatal("readStack failed")
		}
	}
	if !g.texts.off {
		t.Fatalf("after %d stacks that never repeat the cache is still used", stackProbe)
	}
	read(g, text)
	read(g, text)
	if g.texts.hits != 0 {
		t.Fatal("the cache was used after it was given up")
	}
}

// Two sets of fields that repeat and share a bucket of the cache of maps
// keep their maps while sets seen once pass through the same bucket.
func TestMapCache_KeepsWhatRepeats(t *testing.T) {
	t.Parallel()
	var c *mapCache[string]
	get := func(h uint64, v string) uintptr {
		ps := []labelPair{{"tab", v}}
		m, slot := cachedMap(&c, h, ps)
		if m == nil {
			m = map[string]string{"tab": v}
			slot.hash, slot.m = h, m
		}
		if len(m) != 1 || m["tab"] != v {
			t.Fatalf("hash %d, %q: the map of %v", h, v, m)
		}
		return reflect.ValueOf(m).Pointer()
	}
	stride := uint64(extraSlots / extraWays) // the next hash of the same bucket
	a, b := get(7, "a"), get(7+stride, "b")
	for i := range 100 {
		get(7+uint64(i+2)*stride, fmt.Sprint("once-", i))
		if get(7, "a") != a || get(7+stride, "b") != b {
			t.Fatalf("after %d sets seen once, a set that repeats got a new map", i+1)
		}
	}
	// Equal hashes, other fields: not the cached map.
	if get(7, "c") == a {
		t.Fatal("another set of the same hash got its map")
	}
}
