package cmd

import (
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestList_Golden covers every output format, the filters and the sorts on the demo.
func TestList_Golden(t *testing.T) {
	runGoldens(t, []goldenCase{
		{"list/table.txt", []string{"list", "--demo"}},
		{"list/wide.txt", []string{"list", "--demo", "-o", "wide"}},
		{"list/json.json", []string{"list", "--demo", "-o", "json"}},
		{"list/csv.csv", []string{"list", "--demo", "-o", "csv"}},
		{"list/markdown.md", []string{"list", "--demo", "-o", "markdown"}},
		{"list/tree.txt", []string{"list", "--demo", "--tree"}},
		{"list/tree-owner.txt", []string{"list", "--demo", "--tree", "--owner", "copy_verify_tab", "--type", "file", "--type", "worker"}},
		{"list/workers-running.txt", []string{"list", "--demo", "--type", "worker", "--type", "thread", "--running"}},
		{"list/owner-recursive-size.txt", []string{"list", "--demo", "--owner", "copy_verify_tab", "--recursive", "--sort", "size"}},
		{"list/all-by-age-limit.txt", []string{"list", "--demo", "--state", "all", "--sort", "age", "--limit", "5"}},
		{"list/min-size-json.json", []string{"list", "--demo", "--min-size", "16MiB", "--sort", "owner", "-o", "json"}},
		{"list/released.txt", []string{"list", "--demo", "--state", "released", "--sort", "type"}},
	}, nil)
}

func TestList_JSONShape(t *testing.T) {
	r := runCLI(t, "list", "--demo", "-o", "json", "--limit", "2")
	var out struct {
		Resources []map[string]any `json:"resources"`
		Total     int              `json:"total"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Resources) != 2 || out.Total != 25 {
		t.Errorf("got %d resources of total %d, want 2 of 25 (total counts every match)", len(out.Resources), out.Total)
	}
	if _, ok := out.Resources[0]["size_bytes"].(float64); !ok {
		t.Errorf("size_bytes is not a raw number: %v", out.Resources[0])
	}
	r = runCLI(t, "list", "--demo", "-o", "json", "--type", "nothing")
	if !strings.Contains(r.Stdout, `"resources": []`) {
		t.Errorf("an empty result must print [], got %s", r.Stdout)
	}
}

func TestList_CSVParses(t *testing.T) {
	r := runCLI(t, "list", "--demo", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.Stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 26 || rows[0][0] != "id" {
		t.Errorf("got %d rows, want a header and 25", len(rows))
	}
}

func TestList_BadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-o", "yaml"},
		{"--sort", "colour"},
		{"--state", "zombie"},
		{"--min-size", "lots"},
		{"--recursive"},
		{"--owner", "nope", "--recursive"},
		{"--tree", "-o", "json"},
		{"--limit", "-1"},
	} {
		r := runCLI(t, append([]string{"list", "--demo"}, args...)...)
		if r.Code != 2 || !strings.HasPrefix(r.Stderr, "rescoord: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and a rescoord: message", args, r.Code, r.Stderr)
		}
	}
}

func TestList_ColorOnlyOnTerminal(t *testing.T) {
	plain := runCLI(t, "list", "--demo")
	if strings.Contains(plain.Stdout, "\x1b[") {
		t.Error("piped output contains escape codes")
	}
	c := newCLI(t)
	c.tty = true
	styled := c.run("list", "--demo")
	if !strings.Contains(styled.Stdout, "\x1b[") {
		t.Error("terminal output is not styled")
	}
	c.env = map[string]string{"NO_COLOR": "1"}
	if strings.Contains(c.run("list", "--demo").Stdout, "\x1b[") {
		t.Error("NO_COLOR output contains escape codes")
	}
	if !strings.Contains(runCLI(t, "list", "--demo", "--color", "always").Stdout, "\x1b[") {
		t.Error("--color always is not styled")
	}
}

func TestValidate(t *testing.T) {
	r := runCLI(t, "validate", snapshotPath("media-app.json"))
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "valid ../../testdata/snapshots/media-app.json: 16 components, 28 resources (25 live), 7 cleanups") {
		t.Errorf("exit %d, stdout %q", r.Code, r.Stdout)
	}
	r = runCLI(t, "validate", "../../testdata/broken/wrong-types.json")
	if r.Code != 2 {
		t.Errorf("exit %d, want 2", r.Code)
	}
	golden(t, "validate/wrong-types.txt", r.Stdout+"--- stderr\n"+r.Stderr)
	r = runCLI(t, "validate", "../../testdata/broken/duplicate-ids.json", "-o", "json")
	if r.Code != 2 {
		t.Errorf("exit %d, want 2", r.Code)
	}
	golden(t, "validate/duplicate-ids.json", r.Stdout)
}

func TestStats_Golden(t *testing.T) {
	r := runCLI(t, "stats", "--demo")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	golden(t, "stats/demo.txt", r.Stdout)
	r = runCLI(t, "stats", "--demo", "-o", "json", "--top", "3")
	golden(t, "stats/demo.json", r.Stdout)
}

// TestInput_ErrorsNameThePlace runs a command on each broken snapshot: exit
// 2, a rescoord: message with line:column, never a panic.
func TestInput_ErrorsNameThePlace(t *testing.T) {
	r := runCLI(t, "list", "../../testdata/broken/missing-required.json")
	if r.Code != 2 {
		t.Fatalf("exit %d", r.Code)
	}
	golden(t, "errors/missing-required.txt", r.Stderr)
}

// TestInput_EveryBrokenSnapshotExits2 runs every command that reads a
// snapshot on every broken snapshot: exit 2, a located rescoord: message,
// never a panic or a stack trace.
func TestInput_EveryBrokenSnapshotExits2(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "broken", "*.json"))
	if len(paths) < 10 {
		t.Fatalf("only %d broken snapshots", len(paths))
	}
	for _, p := range paths {
		for _, cmd := range [][]string{{"list"}, {"stats"}, {"validate"}, {"leaks"}, {"cleanup", "--dry-run"}, {"graph"}} {
			r := runCLI(t, append(cmd, p)...)
			if r.Code != 2 {
				t.Errorf("%s %s: exit %d, want 2", cmd[0], filepath.Base(p), r.Code)
			}
			errText := r.Stderr
			if cmd[0] == "validate" {
				errText = r.Stdout + r.Stderr
			}
			if !strings.Contains(errText, "rescoord: ") || !regexp.MustCompile(`:\d+:\d+: `).MatchString(errText) {
				t.Errorf("%s %s: no located error:\n%s", cmd[0], filepath.Base(p), errText)
			}
			if strings.Contains(errText, "goroutine ") || strings.Contains(errText, "panic") {
				t.Errorf("%s %s: stack trace:\n%s", cmd[0], filepath.Base(p), errText)
			}
		}
	}
}
