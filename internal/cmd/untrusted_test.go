package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/discovery"
)

// evil holds what a hostile snapshot puts in its strings: a window-title
// sequence ended by BEL, a clear-screen, a carriage return that would
// overwrite a line with "ok", a newline starting a GitHub workflow command,
// a right-to-left override, a line separator and the C1 CSI.
const evil = "\x1b]0;pwned\x07|\x1b[2J|\rok|\n::error file=x::boom|\u202e|\u2028|\u009b|"

// command starts a string that would start a line: a workflow command
// once the blanks before it are trimmed, as GitHub's runner trims them.
const command = "::error file=y::start"

// hostileSnapshot writes a snapshot whose ids, names, types, owners,
// frames, cleanup names and source are all hostile, with leaks of several
// rules (a running resource of a destroyed component, a missing owner, a
// dangling dependency, an over-limit component), and returns its path.
func hostileSnapshot(t *testing.T) string {
	t.Helper()
	id := func(s string) string { return s + evil }
	snap := map[string]any{
		"format":   "rescoord/v1",
		"taken_at": "2026-11-27T12:00:05Z",
		"source":   map[string]any{"process": "app" + evil, "pid": 42, "host": "host" + evil},
		"limits":   map[string]any{"global_bytes": 1024, "components": map[string]any{id("tab"): 512}},
		"components": []any{
			map[string]any{"id": id("win"), "name": command + evil, "type": "window" + evil, "state": "alive"},
			map[string]any{"id": id("tab"), "name": "Tab" + evil, "type": "tab" + evil, "parent": id("win"),
				"state": "destroyed", "destroyed_at": "2026-11-27T12:00:01Z"},
			map[string]any{"id": id("orphan"), "type": "tab", "parent": id("gone"), "state": "alive"},
		},
		"resources": []any{
			map[string]any{"id": id("r1"), "type": "worker" + evil, "name": "w" + evil, "owner": id("tab"),
				"state": "active", "running": true, "size_bytes": 4096, "created_at": "2026-11-27T11:59:00Z",
				"created_by": []string{command + evil, "evil.go:12 f" + evil, "main.go:3 main" + evil}, "depends_on": []string{id("nowhere")}},
			map[string]any{"id": id("r2"), "type": "file", "name": "f" + evil, "owner": id("ghost"),
				"state": "active", "size_bytes": 100, "created_by": []string{"x.go:1 g" + evil}},
			map[string]any{"id": command + "r3" + evil, "type": "timer", "owner": id("win"), "state": "active",
				"depends_on": []string{id("r1")}},
		},
		"cleanups": []any{
			map[string]any{"component": id("win"), "name": "close" + evil, "priority": 1, "timeout_ms": 10},
		},
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hostile.json")
	testfs.WriteFile(t, path, b, 0o600)
	return path
}

// sgr is the styling rescoord writes itself with --color always.
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m|\x1b\[H\x1b\[2J`)

// annotation is a line of -o github: a workflow command of rescoord's own.
var annotation = regexp.MustCompile(`^::(error|warning|notice) [^\n]*::[^\n]*\n$`)

// checkNoControls fails when out holds a control character other than a
// newline, a tab (ours) and, with colour, rescoord's own SGR sequences; a
// line starting a GitHub workflow command (unless github is set: then only
// the annotations themselves may); or a bidirectional override.
func checkNoControls(t *testing.T, what, out string, color, github bool) {
	t.Helper()
	if color {
		out = sgr.ReplaceAllString(out, "")
	}
	for i, r := range out {
		bad := r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f ||
			r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
			r == utf8.RuneError
		if bad {
			t.Errorf("%s: raw %U at byte %d: %q", what, r, i, excerpt(out, i))
			return
		}
	}
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
			continue
		}
		if github && annotation.MatchString(line) {
			continue
		}
		t.Errorf("%s: a line starts a workflow command: %q", what, line)
	}
	if strings.Contains(out, "pwned") && !strings.Contains(out, `\x1b]0;pwned`) && !strings.Contains(out, `\u001b]0;pwned`) {
		t.Errorf("%s: the hostile text is not shown escaped", what)
	}
}

func excerpt(s string, i int) string {
	return s[max(0, i-40):min(len(s), i+40)]
}

func TestUntrustedText_EveryHumanOutputEscapesControls(t *testing.T) {
	path := hostileSnapshot(t)
	type run struct {
		args   []string
		github bool
	}
	runs := []run{
		{args: []string{"list"}},
		{args: []string{"list", "-o", "wide"}},
		{args: []string{"list", "--state", "all", "-o", "wide"}},
		{args: []string{"list", "--tree"}},
		{args: []string{"list", "-o", "markdown"}},
		{args: []string{"list", "-o", "csv"}},
		{args: []string{"stats"}},
		{args: []string{"validate"}},
		{args: []string{"cleanup", "--dry-run"}},
		{args: []string{"cleanup", "--dry-run", "-o", "markdown"}},
		{args: []string{"cleanup", "--dry-run", "--critical-chain"}},
		{args: []string{"graph"}},
		{args: []string{"graph", "--format", "mermaid"}},
		{args: []string{"graph", "--plan"}},
		{args: []string{"leaks"}},
		{args: []string{"leaks", "-o", "markdown"}},
		{args: []string{"leaks", "-o", "junit"}},
		{args: []string{"leaks", "-o", "sarif"}},
		{args: []string{"leaks", "-o", "github"}, github: true},
	}
	for _, color := range []string{"never", "always"} {
		for _, r := range runs {
			args := append(append([]string{"--color", color}, r.args...), path)
			name := strings.Join(args[:len(args)-1], " ")
			t.Run(name, func(t *testing.T) {
				res := runCLI(t, args...)
				if res.Code != 0 && res.Code != 1 {
					t.Fatalf("exit %d: %s", res.Code, res.Stderr)
				}
				if res.Stdout == "" {
					t.Fatal("no output")
				}
				checkNoControls(t, "stdout", res.Stdout, color == "always", r.github)
				checkNoControls(t, "stderr", res.Stderr, color == "always", false)
			})
		}
	}
}

func TestUntrustedText_ValidateErrorsEscapeControls(t *testing.T) {
	b, _ := json.Marshal(map[string]any{"format": "rescoord/v1", "taken_at": "2026-11-27T12:00:05Z",
		"components": []any{map[string]any{"id": "a" + evil, "state": "alive" + evil, "parent": "b" + evil}},
		"resources":  []any{map[string]any{"id": "r" + evil, "type": "t" + evil, "owner": "a" + evil, "state": "on" + evil}}})
	path := filepath.Join(t.TempDir(), "broken"+evil+".json")
	testfs.WriteFile(t, path, b, 0o600)
	for _, color := range []string{"never", "always"} {
		r := runCLI(t, "--color", color, "validate", path)
		if r.Code != 2 || r.Stdout == "" {
			t.Fatalf("exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
		}
		checkNoControls(t, "validate stdout", r.Stdout, color == "always", false)
		checkNoControls(t, "validate stderr", r.Stderr, color == "always", false)
	}
}

func TestUntrustedText_ANameWithANewlineStaysOnItsLine(t *testing.T) {
	path := hostileSnapshot(t)
	r := runCLI(t, "list", "--color", "never", path)
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 4 { // the header and three resources
		t.Fatalf("list printed %d lines, want 4:\n%s", len(lines), r.Stdout)
	}
	if !strings.Contains(r.Stdout, `\n::error file=x::boom`) {
		t.Errorf("the id is not shown escaped:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "\n"+`\x3a:error file=y::start`) {
		t.Errorf("the id that starts a line does not show its first colon escaped:\n%s", r.Stdout)
	}
}

func TestUntrustedText_WatchAndPsEscapeControls(t *testing.T) {
	body, err := os.ReadFile(hostileSnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	target := serve(t, "unix", &fakeProcess{t: t, body: body})
	c := attachCLI(t)
	for _, color := range []string{"never", "always"} {
		for _, tty := range []bool{false, true} {
			c.tty = tty
			r := c.run("--color", color, "watch", "--attach", target, "--count", "1")
			if r.Code != 0 {
				t.Fatalf("watch: exit %d: %s", r.Code, r.Stderr)
			}
			checkNoControls(t, fmt.Sprintf("watch --color %s (tty %v)", color, tty), r.Stdout, color == "always" || tty, false)
		}
	}
	c.tty = false
	// A server whose answers turn bad: watch shows the error it gets.
	calls := 0
	bad := serve(t, "unix", &fakeProcess{t: t, handler: func(w http.ResponseWriter, _ *http.Request) {
		calls++
		if calls == 1 {
			w.Write(body)
			return
		}
		http.Error(w, `{"error":"`+strings.ReplaceAll(evil, "\n", `\n`)+`"}`, http.StatusInternalServerError)
	}})
	r := c.run("watch", "--attach", bad, "--count", "2")
	checkNoControls(t, "watch with an error body", r.Stdout, false, false)
}

func TestUntrustedText_LiveCleanupEscapesServerText(t *testing.T) {
	body, err := os.ReadFile(hostileSnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	step := func(status string) string {
		b, _ := json.Marshal(map[string]any{"step": map[string]any{"order": 1, "kind": "resource" + evil,
			"id": "r1" + evil, "component": "tab" + evil, "status": status, "error": "boom" + evil}})
		return string(b) + "\n"
	}
	sum, _ := json.Marshal(map[string]any{"summary": map[string]any{"steps": 2, "done": 1, "failed": 1, "error": "gave up" + evil}})
	target := serve(t, "unix", &fakeProcess{t: t, handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/snapshot" {
			w.Write(body)
			return
		}
		w.Write([]byte(step("failed") + step("done") + string(sum) + "\n"))
	}})
	for _, color := range []string{"never", "always"} {
		r := attachCLI(t).run("--color", color, "cleanup", "--attach", target, "--component", "win"+evil, "--yes")
		if !strings.Contains(r.Stdout, "failed") {
			t.Fatalf("exit %d, no step printed:\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		checkNoControls(t, "live cleanup stdout --color "+color, r.Stdout, color == "always", false)
		checkNoControls(t, "live cleanup stderr --color "+color, r.Stderr, color == "always", false)
	}
}

func TestUntrustedText_PsEscapesDiscoveryEntries(t *testing.T) {
	c := attachCLI(t)
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	if _, err := discovery.Write(dir, discovery.Entry{PID: os.Getpid(), Process: "app" + evil, Address: "unix:///tmp/x" + evil + ".sock"}); err != nil {
		t.Fatal(err)
	}
	r := c.run("ps")
	if !strings.Contains(r.Stdout, "app") {
		t.Skipf("ps does not list the planted entry (discovery checks): %s%s", r.Stdout, r.Stderr)
	}
	checkNoControls(t, "ps", r.Stdout, false, false)
}

// How hostile text looks: every control shown escaped, one line per node.
func TestUntrustedText_Golden(t *testing.T) {
	path := hostileSnapshot(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"list/hostile.txt", []string{"list"}},
		{"list/hostile-tree.txt", []string{"list", "--tree"}},
		{"graph/hostile.dot", []string{"graph"}},
	} {
		r := runCLI(t, append(tc.args, path)...)
		if r.Code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.golden, r.Code, r.Stderr)
		}
		golden(t, tc.golden, r.Stdout)
	}
}
