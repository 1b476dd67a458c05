package snapshot

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestAppendJSON_MatchesEncodingJSON holds the hand-written encoder to what
// encoding/json writes for the same values.
func TestAppendJSON_MatchesEncodingJSON(t *testing.T) {
	for _, p := range validSnapshots(t) {
		s, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		got := s.AppendJSON(nil)
		// AppendJSON writes empty lists as [], not null.
		for _, l := range []*[]Component{&s.Components} {
			if *l == nil {
				*l = []Component{}
			}
		}
		if s.Resources == nil {
			s.Resources = []Resource{}
		}
		if s.Cleanups == nil {
			s.Cleanups = []Cleanup{}
		}
		// The elements' MarshalJSON is ours too: encode the document level
		// by reflection and compare the values both encodings hold.
		type plain Snapshot
		std, err := json.Marshal(plain(*s))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: AppendJSON wrote invalid JSON: %v", p, err)
		}
		if err := json.Unmarshal(std, &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: AppendJSON and encoding/json disagree\n%s\n%s", p, ja, jb)
		}
	}
}

func TestAppendString_Escapes(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "tab\tnl\ncr\r", "\x01\x1f", "<a&b>", "é😀", "bad\xffutf8", "ls\u2028ps\u2029"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendJSON_RoundTrip(t *testing.T) {
	data, err := os.ReadFile(testdata + "/snapshots/media-app.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data, "")
	if err != nil {
		t.Fatal(err)
	}
	out := s.AppendJSON(nil)
	again, err := Parse(out, "")
	if err != nil {
		t.Fatalf("re-parsing AppendJSON output: %v", err)
	}
	if out2 := again.AppendJSON(nil); !bytes.Equal(out, out2) {
		t.Error("AppendJSON is not stable across a round trip")
	}
}

// TestAppendJSON_ElementsMatchReflection compares each element with what
// encoding/json writes for the same struct without its MarshalJSON.
func TestAppendJSON_ElementsMatchReflection(t *testing.T) {
	s, err := Load(testdata + "/snapshots/media-app.json")
	if err != nil {
		t.Fatal(err)
	}
	type plainResource Resource
	type plainComponent Component
	type plainCleanup Cleanup
	for i := range s.Resources {
		want, _ := json.Marshal(plainResource(s.Resources[i]))
		if got := s.Resources[i].appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("resource %d:\n%s\n%s", i, got, want)
		}
	}
	for i := range s.Components {
		want, _ := json.Marshal(plainComponent(s.Components[i]))
		if got := s.Components[i].appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("component %d:\n%s\n%s", i, got, want)
		}
	}
	for i := range s.Cleanups {
		want, _ := json.Marshal(plainCleanup(s.Cleanups[i]))
		if got := s.Cleanups[i].appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("cleanup %d:\n%s\n%s", i, got, want)
		}
	}
}

// chunkWriter records the size of each write.
type chunkWriter struct {
	bytes.Buffer
	writes []int
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.Buffer.Write(p)
}

// TestWriteJSON_IsAppendJSONInChunks: streaming the resources one by one
// writes exactly what AppendJSON writes, in bounded chunks.
func TestWriteJSON_IsAppendJSONInChunks(t *testing.T) {
	paths := validSnapshots(t)
	big := &Snapshot{Format: FormatV1}
	for i := range 5000 {
		big.Resources = append(big.Resources, Resource{ID: "r-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)), Type: TypeWorker, Owner: "c", State: StateActive, Running: true,
			CreatedBy: NewStack("main.go:1", "pkg/x/y.go:20"), Metadata: NewMetadata(json.RawMessage(`{"k":"v \"quoted\""}`))})
	}
	cases := map[string]*Snapshot{"5000 resources": big}
	for _, p := range paths {
		s, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		cases[p] = s
	}
	for name, s := range cases {
		want := s.AppendJSON(nil)
		res := s.Resources
		frame := *s
		frame.Resources = nil
		var w chunkWriter
		i := 0
		err := frame.WriteJSON(&w, func(r *Resource) bool {
			if i == len(res) {
				return false
			}
			*r = res[i]
			i++
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.Bytes(), want) {
			t.Errorf("%s: WriteJSON differs from AppendJSON\n%.300s\n%.300s", name, w.Bytes(), want)
		}
		for _, n := range w.writes {
			if n > streamChunk+4<<10 {
				t.Errorf("%s: a write of %d bytes, over the chunk", name, n)
			}
		}
		if len(want) > 2*streamChunk && len(w.writes) < 2 {
			t.Errorf("%s: %d bytes in %d writes", name, len(want), len(w.writes))
		}
	}
}

// A resource's state is a byte in memory and its name in JSON, through
// encoding/json as through the package's own encoder; a value that names
// no state is never written as a number.
func TestResourceState_JSON(t *testing.T) {
	for _, st := range []ResourceState{StateActive, StateReleasing, StateReleased} {
		b, err := json.Marshal(Resource{ID: "r", Type: TypeFile, Owner: "c", State: st})
		if err != nil {
			t.Fatal(err)
		}
		want := `"state":"` + st.String() + `"`
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("json.Marshal: %s, want it to hold %s", b, want)
		}
		r := Resource{ID: "r", Type: TypeFile, Owner: "c", State: st}
		if own := r.appendJSON(nil); !bytes.Contains(own, []byte(want)) {
			t.Errorf("appendJSON: %s, want it to hold %s", own, want)
		}
		var back Resource
		if err := json.Unmarshal(b, &back); err != nil || back.State != st {
			t.Errorf("json.Unmarshal(%s): state %v, %v; want %v", b, back.State, err, st)
		}
		if p, ok := ParseResourceState(st.String()); !ok || p != st {
			t.Errorf("ParseResourceState(%q) = %v, %v", st.String(), p, ok)
		}
	}
	for _, st := range []ResourceState{0, 9} {
		if b, err := json.Marshal(st); err == nil {
			t.Errorf("json.Marshal(ResourceState(%d)) = %s, want an error", st, b)
		}
	}
	// A resource without a state is written with an empty one, which the
	// decoder refuses, as when the state was a string.
	if b := (&Resource{ID: "r"}).appendJSON(nil); !bytes.Contains(b, []byte(`"state":""`)) {
		t.Errorf(`a resource without a state: %s, want "state":""`, b)
	}
	var r Resource
	if err := json.Unmarshal([]byte(`{"state":"alive"}`), &r); err == nil {
		t.Error(`json.Unmarshal of state "alive": no error`)
	}
	for _, s := range []string{"", "alive", "Active"} {
		if _, ok := ParseResourceState(s); ok {
			t.Errorf("ParseResourceState(%q) accepted", s)
		}
	}
}

// A creation stack is a handle on its frames: the same JSON as a list of
// strings, left out when empty, through encoding/json as through the
// package's own encoder; NewStack copies what it is given, and what Frames
// returns cannot be appended to in place.
func TestStack_JSONAndSharing(t *testing.T) {
	frames := []string{"a.py:1 f", "b.py:2 g"}
	st := NewStack(frames...)
	frames[0] = "changed"
	if got := st.Frames(); len(got) != 2 || got[0] != "a.py:1 f" || st.Top() != "a.py:1 f" || st.Len() != 2 || st.IsZero() {
		t.Fatalf("NewStack: frames %q, top %q, len %d", got, st.Top(), st.Len())
	}
	if f := NewStack(make([]string, 17)...).Frames(); cap(f) != len(f) {
		t.Errorf("Frames has room to grow (cap %d, len %d): an append would write into the shared list", cap(f), len(f))
	}
	r := Resource{ID: "r", Type: TypeFile, Owner: "c", State: StateActive, CreatedBy: st}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `"created_by":["a.py:1 f","b.py:2 g"]`
	if !bytes.Contains(b, []byte(want)) {
		t.Errorf("json.Marshal: %s, want it to hold %s", b, want)
	}
	// encoding/json itself, not the resource's MarshalJSON.
	type wrap struct {
		S Stack `json:"s,omitzero"`
	}
	for _, c := range []struct {
		in   wrap
		want string
	}{{wrap{st}, `{"s":["a.py:1 f","b.py:2 g"]}`}, {wrap{}, `{}`}, {wrap{NewStack()}, `{}`}} {
		if got, err := json.Marshal(c.in); err != nil || string(got) != c.want {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", c.in.S.Frames(), got, err, c.want)
		}
	}
	var back Resource
	if err := json.Unmarshal([]byte(`{"created_by":["x",null,"y"]}`), &back); err != nil {
		t.Fatal(err)
	}
	if got := back.CreatedBy.Frames(); len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Errorf("json.Unmarshal: frames %q, want [x y] (nulls dropped, as the decoder drops them)", got)
	}
	if err := json.Unmarshal([]byte(`{"created_by":null}`), &back); err != nil || !back.CreatedBy.IsZero() {
		t.Errorf("json.Unmarshal of null: %q, %v", back.CreatedBy.Frames(), err)
	}
	if (Stack{}).Top() != "" || (Stack{}).Frames() != nil {
		t.Error("the zero Stack has frames")
	}
}

// Metadata is a handle on raw JSON: written as it is, left out when there
// is none, through encoding/json as through the package's own encoder; read
// back as a copy, null as none.
func TestMetadata_JSON(t *testing.T) {
	r := Resource{ID: "r", Type: TypeFile, Owner: "c", State: StateActive, Metadata: NewMetadata(json.RawMessage(`{"k":[1,2]}`))}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"metadata":{"k":[1,2]}`; !bytes.Contains(b, []byte(want)) {
		t.Errorf("json.Marshal: %s, want it to hold %s", b, want)
	}
	if b := (&Resource{ID: "r"}).appendJSON(nil); bytes.Contains(b, []byte("metadata")) {
		t.Errorf("a resource without metadata: %s", b)
	}
	type wrap struct {
		M Metadata `json:"m,omitzero"`
	}
	for _, c := range []struct {
		in   wrap
		want string
	}{{wrap{NewMetadata(json.RawMessage(`"x"`))}, `{"m":"x"}`}, {wrap{}, `{}`}, {wrap{NewMetadata(nil)}, `{}`}} {
		if got, err := json.Marshal(c.in); err != nil || string(got) != c.want {
			t.Errorf("json.Marshal(%s) = %s, %v; want %s", c.in.M.Raw(), got, err, c.want)
		}
	}
	in := []byte(`{"metadata":{"a":"b"}}`)
	var back Resource
	if err := json.Unmarshal(in, &back); err != nil || string(back.Metadata.Raw()) != `{"a":"b"}` {
		t.Fatalf("json.Unmarshal: %s, %v", back.Metadata.Raw(), err)
	}
	in[len(in)-3] = 'X'
	if string(back.Metadata.Raw()) != `{"a":"b"}` {
		t.Errorf("json.Unmarshal kept the input's bytes: %s", back.Metadata.Raw())
	}
	if err := json.Unmarshal([]byte(`{"metadata":null}`), &back); err != nil || !back.Metadata.IsZero() {
		t.Errorf("json.Unmarshal of null: %s, %v", back.Metadata.Raw(), err)
	}
}
