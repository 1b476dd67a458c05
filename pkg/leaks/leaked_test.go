package leaks

import (
	"slices"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// A snapshot as the pprof importer writes it (docs/importers.md): leaked
// goroutines carry "leaked": true; released ones, false or other values
// are not findings.
const leakedSnapshot = `{"format":"rescoord/v1","taken_at":"2026-12-01T10:00:00Z",
 "components":[{"id":"process","name":"svc","type":"process","state":"alive"},
  {"id":"label/handler=/upload","name":"/upload","type":"label handler","parent":"process","state":"alive"},
  {"id":"package/main","name":"main","type":"package","parent":"process","state":"alive"}],
 "resources":[
  {"id":"goroutine/#1","type":"thread","owner":"label/handler=/upload","name":"main.fill","state":"active","leaked":true,
   "created_by":["/src/main.go:31 main.fill"]},
  {"id":"goroutine/#2","type":"thread","owner":"label/handler=/upload","name":"main.fill","state":"active","leaked":true,
   "created_by":["/src/main.go:31 main.fill"]},
  {"id":"goroutine/#3","type":"thread","owner":"package/main","name":"main.serve","state":"active"},
  {"id":"goroutine/#4","type":"thread","owner":"package/main","name":"main.done","state":"released","leaked":true},
  {"id":"goroutine/#5","type":"thread","owner":"package/main","name":"main.other","state":"active","leaked":false},
  {"id":"goroutine/#6","type":"thread","owner":"package/gone","name":"main.lost","state":"active","leaked":true}]}`

func TestLeakedGoroutine_AgreesWithReference(t *testing.T) {
	s, err := snapshot.Parse([]byte(leakedSnapshot), "leaked.json")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	fs := FindLeaks(ix, LeakOptions{})
	got, want := findingKeys(ix, fs), refFindLeaks(ix, 0)
	if !slices.Equal(got, want) {
		t.Fatalf("FindLeaks and the reference differ:\n%s", keyDiff(got, want))
	}
	var leaked []Finding
	for _, f := range fs {
		if f.Rule == RuleLeakedGoroutine {
			leaked = append(leaked, f)
		}
	}
	if len(leaked) != 3 {
		t.Fatalf("%d leaked-goroutine findings, want 3 (#1, #2, #6): %v", len(leaked), got)
	}
	f := leaked[0]
	if f.Severity != SeverityCritical || f.ResourceID != "goroutine/#1" || f.ComponentID != "label/handler=/upload" ||
		strings.Join(f.Path, " ") != "process label/handler=/upload goroutine/#1" {
		t.Errorf("finding = %+v", f)
	}
	if want := `thread "main.fill" (goroutine/#1) is a goroutine the Go runtime found leaked`; !strings.HasPrefix(f.Message, want) {
		t.Errorf("message %q", f.Message)
	}
	// Two goroutines of one group and stack share a signature, ids aside.
	if leaked[1].Signature != f.Signature || f.Signature != Signature(RuleLeakedGoroutine, "/upload", "label handler", "thread", "main.fill", "/src/main.go:31 main.fill") {
		t.Errorf("signatures %s %s", f.Signature, leaked[1].Signature)
	}
	// An owner missing from the snapshot: the path starts with its id.
	if p := strings.Join(leaked[2].Path, " "); p != "package/gone goroutine/#6" || leaked[2].Component != -1 {
		t.Errorf("missing owner: path %q, component %d", p, leaked[2].Component)
	}
}
