package cmd

import (
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

// TestList_UnknownOwner: --owner names a component as --component does:
// one unknown is a usage error naming it; the missing owner of orphans
// still lists them.
func TestList_UnknownOwner(t *testing.T) {
	r := runCLI(t, "list", "--demo", "--owner", "nosuch")
	oneLineError(t, "list --owner nosuch", r, `no component "nosuch" in the snapshot`)
	if r.Stdout != "" {
		t.Errorf("stdout %q", r.Stdout)
	}
	c := runCLI(t, "cleanup", "--dry-run", "--demo", "--component", "nosuch")
	oneLineError(t, "cleanup --component nosuch", c, `no component "nosuch" in the snapshot`)
	if r := runCLI(t, "list", "--demo", "--owner", "export_dialog"); r.Code != 0 || !strings.Contains(r.Stdout, "r-6001") {
		t.Errorf("the orphans of a missing owner: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
}

// TestPlurals: one of a thing is not "1 things".
func TestPlurals(t *testing.T) {
	one := writeSnapshot(t, `{"format": "rescoord/v1", "taken_at": "2026-11-27T12:00:00Z",
		"components": [{"id": "app", "type": "window", "state": "alive"}],
		"resources": [{"id": "r1", "type": "file", "owner": "app", "state": "active"}],
		"cleanups": [{"component": "app", "name": "close", "priority": 1}]}`)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", one}, "1 component, 1 resource (1 live), 1 cleanup\n"},
		{[]string{"stats", one}, "1 component (0 destroyed), 1 resource (1 live"},
	} {
		r := runCLI(t, tt.args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, want %q", tt.args, r.Code, r.Stdout, tt.want)
		}
	}
	if r := runCLI(t, "validate", "--demo"); !strings.Contains(r.Stdout, "16 components, 28 resources (25 live), 7 cleanups") {
		t.Errorf("validate --demo: %q", r.Stdout)
	}
}

// TestStdin_LabelledStdin: human output names standard input "stdin";
// validate's JSON keeps the argument as given.
func TestStdin_LabelledStdin(t *testing.T) {
	c := newCLI(t)
	c.stdin = string(demoJSON(t))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "-"}, "valid stdin: 16 components"},
		{[]string{"leaks", "-"}, "rescoord leaks · stdin · "},
	} {
		r := c.run(tt.args...)
		if !strings.Contains(r.Stdout, tt.want) || strings.Contains(r.Stdout, " - ") || strings.Contains(r.Stdout, " -:") {
			t.Errorf("%v: stdout %q, want %q", tt.args, firstLine(r.Stdout), tt.want)
		}
		if r.Stderr != "" && tt.args[0] == "validate" {
			t.Errorf("%v: stderr %q", tt.args, r.Stderr)
		}
	}
	if r := c.run("validate", "-", "-o", "json"); !strings.Contains(r.Stdout, `"input": "-"`) {
		t.Errorf("validate -o json: %s", r.Stdout)
	}
	c.stdin = "{not json"
	if r := c.run("validate", "-"); !strings.Contains(r.Stderr, "rescoord: stdin is not a valid snapshot") {
		t.Errorf("invalid stdin: %q", r.Stderr)
	}
}

// TestStdin_PromptOnTerminal: reading standard input from a terminal says
// so, in one line on stderr; piped, it says nothing.
func TestStdin_PromptOnTerminal(t *testing.T) {
	const prompt = "rescoord: reading a snapshot from standard input (end it with Ctrl-D)\n"
	c := newCLI(t)
	c.stdin = string(demoJSON(t))
	c.tty = true
	c.env = map[string]string{"NO_COLOR": "1"}
	r := c.run("leaks", "-")
	if !strings.HasPrefix(r.Stderr, prompt) || strings.Count(r.Stderr, "standard input") != 1 {
		t.Errorf("on a terminal, stderr %q, want it to start with %q", r.Stderr, prompt)
	}
	c.tty = false
	if r := c.run("leaks", "-"); strings.Contains(r.Stderr, "standard input") {
		t.Errorf("piped, stderr %q", r.Stderr)
	}
	c.tty = true
	if r := c.run("leaks", "--demo"); strings.Contains(r.Stderr, "standard input") {
		t.Errorf("--demo on a terminal, stderr %q", r.Stderr)
	}
}

// TestValidate_AttachNamesTheTarget: validate --attach X says X, not -.
func TestValidate_AttachNamesTheTarget(t *testing.T) {
	target := serve(t, "tcp", &fakeProcess{t: t, body: demoJSON(t)})
	r := attachCLI(t).run("validate", "--attach", target)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "valid "+target+": 16 components") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	j := attachCLI(t).run("validate", "--attach", target, "-o", "json")
	if !strings.Contains(j.Stdout, `"input": "`+target+`"`) {
		t.Errorf("json: %s", j.Stdout)
	}
}

// TestCompletion_UnknownShell: completion bogus is a one-line usage error.
func TestCompletion_UnknownShell(t *testing.T) {
	r := runCLI(t, "completion", "bogus")
	oneLineError(t, "completion bogus", r, `unknown shell "bogus" for completion: want bash, zsh, fish or powershell`)
	if r.Stdout != "" {
		t.Errorf("stdout %q", r.Stdout)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := runCLI(t, "completion", sh); r.Code != 0 || r.Stdout == "" {
			t.Errorf("completion %s: exit %d, %d bytes", sh, r.Code, len(r.Stdout))
		}
	}
}

// TestCompletion_Color: --color completes its three values, not files.
func TestCompletion_Color(t *testing.T) {
	r := runCLI(t, "__complete", "list", "--demo", "--color", "")
	got, directive := completions(r.Stdout)
	if strings.Join(got, " ") != "auto always never" || directive != ":4" {
		t.Errorf("completions %q, directive %s (want 4, no files)", got, directive)
	}
}

// completions splits the output of __complete into its candidates (their
// descriptions dropped) and the directive line.
func completions(out string) ([]string, string) {
	var got []string
	directive := ""
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		name, _, _ := strings.Cut(line, "\t")
		got = append(got, name)
	}
	return got, directive
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func writeSnapshot(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/snap.json"
	testfs.WriteFile(t, p, []byte(body), 0o600)
	return p
}
