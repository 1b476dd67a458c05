package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

// --path-map and --source-root map the frames of another producer's
// snapshot to repository paths for the GitHub annotations, SARIF and JUnit.
func TestLeaks_SourcePaths(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "snap.json")
	doc := `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[],"cleanups":[],"resources":[
	  {"id":"r-1","type":"memory","owner":"gone","name":"abs","state":"active","created_by":["/build/src/app/ui/tab.go:12 ui.Open"]},
	  {"id":"r-2","type":"file","owner":"gone","name":"mod","state":"active","created_by":["github.com/you/app/ui/player.go:30 ui.Play"]}]}`
	testfs.WriteFile(t, snap, []byte(doc), 0o600)
	args := []string{"leaks", snap, "--no-step-summary", "--path-map", "github.com/you/app=", "--source-root", "/build/src/app"}
	r := runCLI(t, append(args, "-o", "github")...)
	for _, want := range []string{"file=ui/tab.go,line=12", "file=ui/player.go,line=30"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("-o github has no %s:\n%s", want, r.Stdout)
		}
	}
	r = runCLI(t, append(args, "-o", "sarif")...)
	for _, want := range []string{`"uri":"ui/tab.go"`, `"uri":"ui/player.go"`} {
		if !strings.Contains(strings.ReplaceAll(r.Stdout, `": "`, `":"`), want) {
			t.Errorf("-o sarif has no %s:\n%s", want, r.Stdout)
		}
	}
	r = runCLI(t, append(args, "-o", "junit")...)
	for _, want := range []string{`file="ui/tab.go"`, `file="ui/player.go"`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("-o junit has no %s:\n%s", want, r.Stdout)
		}
	}
	oneLine(t, runCLI(t, "leaks", snap, "--path-map", "nothing"), `--path-map: invalid path map "nothing": want FROM=TO`)
}
