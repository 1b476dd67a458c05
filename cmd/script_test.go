package cmd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rescoord": func() {
			demo, err := os.ReadFile(filepath.Join(os.Getenv("RESCOORD_REPO"), "testdata", "snapshots", "media-app.json"))
			if err != nil {
				panic(err)
			}
			os.Exit(Main(demo))
		},
	})
}

// TestScripts runs the scenarios in testdata/script/*.txtar against the real
// command line: exit codes, stdout and stderr.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join(root, "testdata", "script"),
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("RESCOORD_REPO", root)
			env.Setenv("SNAPSHOTS", filepath.Join(root, "testdata", "snapshots"))
			return nil
		},
	})
}
