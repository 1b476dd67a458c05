package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configDir is a working directory holding .rescoord.yaml with body.
func configDir(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DefaultConfigFile), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConfig_DefaultsFromTheFile: .rescoord.yaml in the working
// directory sets the defaults of leaks; flags override them.
func TestConfig_DefaultsFromTheFile(t *testing.T) {
	if r := runCLI(t, "leaks", "--demo"); r.Code != 1 {
		t.Fatalf("without settings the demo fails: exit %d", r.Code)
	}
	c := newCLI(t)
	c.chdir = configDir(t, "# CI defaults\nfail-on: none\nseverity: error\noutput:\n  - text\n  - json=report.json\n")
	r := c.run("leaks", "--demo")
	if r.Code != 0 {
		t.Errorf("fail-on none from the file: exit %d\n%s", r.Code, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "3 below error not shown · fails on none: pass") || strings.Contains(r.Stdout, "\nWARNING") {
		t.Errorf("the file's fail-on and severity are not applied:\n%s", r.Stdout)
	}
	if _, err := os.Stat(filepath.Join(c.chdir, "report.json")); err != nil {
		t.Errorf("the file's output list: %v", err)
	}
	if r := c.run("leaks", "--demo", "--fail-on", "error", "-o", "json"); r.Code != 1 || !strings.HasPrefix(r.Stdout, "{") {
		t.Errorf("flags override the file: exit %d, stdout starts %q", r.Code, firstLine(r.Stdout))
	}
}

// TestConfig_ExplicitPath: --config PATH is read instead of the default.
func TestConfig_ExplicitPath(t *testing.T) {
	c := newCLI(t)
	c.chdir = configDir(t, "fail-on: none\n")
	other := filepath.Join(t.TempDir(), "ci.yaml")
	os.WriteFile(other, []byte("fail-on: critical\n"), 0o600)
	r := c.run("config", "--config", other)
	if !strings.Contains(r.Stdout, "fail-on         critical") || !strings.Contains(r.Stdout, other+":1") {
		t.Errorf("config --config:\n%s%s", r.Stdout, r.Stderr)
	}
	if r := c.run("leaks", "--demo", "--config", filepath.Join(t.TempDir(), "missing.yaml")); r.Code != 2 || !strings.Contains(r.Stderr, "missing.yaml") {
		t.Errorf("a missing --config: exit %d %q", r.Code, r.Stderr)
	}
}

// TestConfig_Shows: rescoord config prints every setting, its value and
// where it comes from.
func TestConfig_Shows(t *testing.T) {
	c := newCLI(t)
	c.chdir = configDir(t, "grace: 5s\n\nmax-age: 10m\n")
	r := c.run("config")
	want := "SETTING         VALUE  FROM\n" +
		"fail-on         error  default\n" +
		"severity        info   default\n" +
		"grace           5s     .rescoord.yaml:1\n" +
		"max-age         10m    .rescoord.yaml:3\n" +
		"growth-count    10     default\n" +
		"growth-bytes    16MiB  default\n" +
		"growth-percent  10     default\n" +
		"suppressions    -      default\n" +
		"output          text   default\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s", r.Code, r.Stdout, want)
	}
}

// TestConfig_Errors: unknown keys, bad values and files that are not
// settings are exit 2 with the file and line.
func TestConfig_Errors(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"fail-on: error\nfail_on: none\n", `.rescoord.yaml:2: unknown key "fail_on"`},
		{"fail-on: bogus\n", ".rescoord.yaml:1: fail-on: "},
		{"severity: none\n", ".rescoord.yaml:1: severity: "},
		{"\ngrace: 5x\n", `.rescoord.yaml:2: grace: invalid argument "5x"`},
		{"growth-bytes: lots\n", ".rescoord.yaml:1: growth-bytes: "},
		{"growth-count: [1]\n", ".rescoord.yaml:1: growth-count: want a single value"},
		{"output: [yaml]\n", `.rescoord.yaml:1: output: invalid --output "yaml"`},
		{"grace: 1s\ngrace: 2s\n", ".rescoord.yaml:2: grace is given twice (first on line 1)"},
		{"- fail-on\n", ".rescoord.yaml:1: want a mapping of settings"},
		{"fail-on: [\n", ".rescoord.yaml:"},
	} {
		c := newCLI(t)
		c.chdir = configDir(t, tt.body)
		for _, cmd := range [][]string{{"leaks", "--demo"}, {"config"}} {
			r := c.run(cmd...)
			if r.Code != 2 || !strings.Contains(r.Stderr, "invalid settings file: "+tt.want) {
				t.Errorf("%v with %q: exit %d, stderr %q, want %q", cmd, tt.body, r.Code, r.Stderr, tt.want)
			}
		}
	}
}

// TestConfig_FileChecks: the default file must be a regular file of at
// most 1 MiB, not a link (it comes with the working tree), as the default
// suppressions file.
func TestConfig_FileChecks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere.yaml")
	os.WriteFile(target, []byte("fail-on: none\n"), 0o600)
	if err := os.Symlink(target, filepath.Join(dir, DefaultConfigFile)); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.chdir = dir
	r := c.run("leaks", "--demo")
	if r.Code != 1 || !strings.Contains(r.Stderr, "warning: .rescoord.yaml is a symbolic link: not read, no settings apply") {
		t.Errorf("a linked default file: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := c.run("leaks", "--demo", "--config", filepath.Join(dir, DefaultConfigFile)); r.Code != 0 {
		t.Errorf("a link named with --config is followed: exit %d %q", r.Code, r.Stderr)
	}
	big := configDir(t, "fail-on: none\n"+strings.Repeat("# padding\n", 110_000))
	c.chdir = big
	if r := c.run("leaks", "--demo"); r.Code != 2 || !strings.Contains(r.Stderr, "larger than 1048576 bytes (1 MiB)") {
		t.Errorf("a 1.1 MB file: exit %d, stderr %q", r.Code, r.Stderr)
	}
	c.chdir = t.TempDir()
	os.Mkdir(filepath.Join(c.chdir, DefaultConfigFile), 0o700)
	if r := c.run("leaks", "--demo"); r.Code != 1 || !strings.Contains(r.Stderr, "is not a regular file (a directory)") {
		t.Errorf("a directory: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
