package cmd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		// The test binary re-executed as rescoord itself (signal tests).
		runRescoord()
	}
	testscript.Main(m, map[string]func(){"rescoord": runRescoord})
}

// runMainEnv, set in the environment of the test binary, makes it run
// rescoord's Main with its arguments instead of the tests.
const runMainEnv = "RESCOORD_TEST_RUN_MAIN"

func runRescoord() {
	demo, err := os.ReadFile(filepath.Join(os.Getenv("RESCOORD_REPO"), "testdata", "snapshots", "media-app.json"))
	if err != nil {
		panic(err)
	}
	os.Exit(Main(demo))
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
