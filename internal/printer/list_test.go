package printer

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// printListJSON writes, byte for byte, what encoding/json's Encoder with a
// two-space indent writes for the same value: raw metadata and unknown
// fields re-indented, <, >, & and U+2028 escaped, empty {} and [] kept.
func TestList_JSONMatchesEncodingJSON(t *testing.T) {
	input := `{"format": "rescoord/v1", "taken_at": "2026-11-27T12:00:05Z",
 "components": [{"id": "app", "state": "alive"}],
 "resources": [
  {"id": "r-1", "type": "worker", "owner": "app", "name": "a <b> & \"c\" \\ \u2028 é", "state": "active", "running": true,
   "size_bytes": 12, "created_at": "2026-11-27T12:00:00.5Z", "depends_on": ["r-2", "r-3"],
   "cleanup": {"strategy": "cancel", "timeout_ms": 0}, "created_by": ["main.py:1 f"],
   "metadata": { "html": "<i>&amp;</i>", "sep": "a b c", "esc": "q\"\\\u003c\n",
     "empty": {}, "list": [ ], "nested": [1, -0.5, 1e3, true, false, null, {"k": [ {} ]}], "s": "" },
   "x-unknown": {"a" : [ 1 , 2 ]}, "x-other": "<>"},
  {"id": "r-2", "type": "file", "owner": "gone", "state": "released", "metadata": []},
  {"id": "r-3", "type": "custom", "owner": "app", "state": "releasing", "metadata": "just a string"}
 ]}`
	s, err := snapshot.Parse([]byte(input), "tricky.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range [][]int32{{0, 1, 2}, {2, 0}, {}} {
		want := struct {
			Resources []*snapshot.Resource `json:"resources"`
			Total     int                  `json:"total"`
		}{Resources: []*snapshot.Resource{}, Total: 7}
		for _, i := range sel {
			want.Resources = append(want.Resources, &s.Resources[i])
		}
		var wb, gb bytes.Buffer
		enc := json.NewEncoder(&wb)
		enc.SetIndent("", "  ")
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if err := printListJSON(&gb, s.Resources, sel, 7); err != nil {
			t.Fatal(err)
		}
		if gb.String() != wb.String() {
			t.Errorf("resources %v:\n%s\nwant (encoding/json):\n%s", sel, gb.String(), wb.String())
		}
	}
}
