package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

// configCLI is an in-process CLI run in a directory holding a
// .rescoord.yaml with config.
func configCLI(t *testing.T, config string) *cli {
	t.Helper()
	dir := t.TempDir()
	testfs.WriteFile(t, filepath.Join(dir, DefaultConfigFile), []byte(config), 0o644)
	c := newCLI(t)
	c.chdir = dir
	return c
}

// TestConfig_Precedence: a flag's value comes from the command line, else
// the project config, else its default.
func TestConfig_Precedence(t *testing.T) {
	demo := filepath.Join(absRoot, "testdata", "snapshots", "media-app.json")
	for _, tt := range []struct {
		name, config string
		args         []string
		code         int
		stdout       string
	}{
		{"default", "", []string{"leaks", demo}, 1, "fails on error: FAIL"},
		{"config", "leaks:\n  fail-on: none\n", []string{"leaks", demo}, 0, "fails on none"},
		{"command line wins", "leaks:\n  fail-on: none\n", []string{"leaks", demo, "--fail-on", "critical"}, 1, "fails on critical: FAIL"},
		{"list of outputs", "leaks:\n  output: [json]\n  fail-on: none\n", []string{"leaks", demo}, 0, `"findings": [`},
		{"other command's section", "cleanup:\n  deadline: 1s\n", []string{"leaks", demo, "--fail-on", "none"}, 0, "fails on none"},
		{"cleanup deadline", "cleanup:\n  deadline: 1s\n  dry-run: true\n", []string{"cleanup", demo}, 1, "LATE by"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := configCLI(t, tt.config).run(tt.args...)
			if r.Code != tt.code || !strings.Contains(r.Stdout, tt.stdout) {
				t.Errorf("exit %d (want %d), stdout lacks %q:\n%s%s", r.Code, tt.code, tt.stdout, r.Stdout, r.Stderr)
			}
		})
	}
}

// TestConfig_ErrorsHaveTheirLine: unknown commands and flags, bad values,
// lists for one-value flags and duplicates are refused in one line with
// the file and line.
func TestConfig_ErrorsHaveTheirLine(t *testing.T) {
	for _, tt := range []struct{ config, want string }{
		{"leak:\n  fail-on: none\n", `.rescoord.yaml:1: unknown command "leak"`},
		{"leaks:\n  fail-on: none\n  graze: 5s\n", `.rescoord.yaml:3: leaks: unknown flag "graze"`},
		{"leaks:\n  fail-on: sometimes\n", `.rescoord.yaml:2: leaks.fail-on: `},
		{"leaks:\n  grace: soon\n", `.rescoord.yaml:2: leaks.grace: time: invalid duration "soon"`},
		{"leaks:\n  output: yaml\n", `.rescoord.yaml:2: leaks.output: invalid --output "yaml"`},
		{"leaks:\n  fail-on: [none, error]\n", `.rescoord.yaml:2: leaks.fail-on takes one value, not a list`},
		{"leaks:\n  fail-on: none\n  fail-on: error\n", `.rescoord.yaml:3: `},
		{"leaks:\n  fail-on: none\n---\nleaks: {}\n", `second document`},
		{"- leaks\n", `.rescoord.yaml:1: want a mapping`},
	} {
		r := configCLI(t, tt.config).run("leaks", "--demo")
		if r.Code != ExitError || !strings.Contains(r.Stderr, tt.want) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q", tt.config, r.Code, r.Stderr, tt.want)
		}
	}
}

// TestConfig_PrintsTheEffectiveSettings: rescoord config says each flag's
// value and where it comes from.
func TestConfig_PrintsTheEffectiveSettings(t *testing.T) {
	r := configCLI(t, "leaks:\n  fail-on: warning\n  output: [text, sarif=leaks.sarif]\n").run("config")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	wantContains(t, "config output", r.Stdout, "rescoord leaks", "--fail-on", "warning", ".rescoord.yaml:2", "text, sarif=leaks.sarif", ".rescoord.yaml:3", "--grace", "default")
	if r := newCLI(t).run("config", "--config", filepath.Join(t.TempDir(), "none.yaml")); r.Code != ExitError {
		t.Errorf("a --config that does not exist: exit %d", r.Code)
	}
}
