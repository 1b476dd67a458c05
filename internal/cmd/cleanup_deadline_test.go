package cmd

import (
	"encoding/json"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/report"
)

// The demo's plan: critical path 5 s (ffprobe's terminate → wait → kill
// and the components after it), worst case 34.5 s.

func TestCleanupDeadline_Verdicts(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--deadline", "30s"}, 0, []string{"deadline 30s (critical path, independent steps at once): on time: the cleanup may take 5s, 25s to spare"}},
		{[]string{"--deadline", "5s"}, 0, []string{"on time: the cleanup may take 5s, 0s to spare"}},
		{[]string{"--deadline", "2s"}, 1, []string{
			"deadline 2s (critical path, independent steps at once): LATE by 3s: the cleanup may take 5s",
			"  #8 resource ffprobe (r-2007) @0s +5s\n  #11 component CopyVerifyWorkerCoordinator (copy_verify_workers) @5s\n",
		}},
		{[]string{"--deadline", "30s", "--serial"}, 1, []string{
			"deadline 30s (worst case, every step one after another): LATE by 4.5s: the cleanup may take 34.5s",
			"  #8 resource ffprobe (r-2007) +5s\n",
			"  … and 3 more steps that take time\n",
		}},
		{[]string{"--deadline", "2s", "--critical-chain"}, 1, []string{"LATE by 3s"}},
		{[]string{"--deadline", "2s", "-o", "markdown"}, 1, []string{"❌ **deadline 2s (critical path, independent steps at once): LATE by 3s: the cleanup may take 5s**", "- \\#8 resource ffprobe (r-2007) @0s +5s"}},
	}
	for _, c := range cases {
		r := runCLI(t, append([]string{"cleanup", "--dry-run", "--demo"}, c.args...)...)
		if r.Code != c.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, r.Code, c.code, r.Stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Stdout, w) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, w, r.Stdout)
			}
		}
	}
}

func TestCleanupDeadline_JSON(t *testing.T) {
	r := runCLI(t, "cleanup", "--dry-run", "--demo", "--deadline", "2s", "-o", "json")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", r.Code, r.Stderr)
	}
	var doc struct {
		Steps    []json.RawMessage `json:"steps"`
		Deadline struct {
			DeadlineMS int64  `json:"deadline_ms"`
			Measure    string `json:"measure"`
			ShutdownMS int64  `json:"shutdown_ms"`
			Late       bool   `json:"late"`
			LateByMS   int64  `json:"late_by_ms"`
			ChainSteps int    `json:"chain_steps"`
			Chain      []struct {
				Order     int    `json:"order"`
				ID        string `json:"id"`
				TimeoutMS int64  `json:"timeout_ms"`
			} `json:"chain"`
		} `json:"deadline"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.Stdout)
	}
	d := doc.Deadline
	if len(doc.Steps) != 44 || d.DeadlineMS != 2000 || d.Measure != "critical_path" || d.ShutdownMS != 5000 || !d.Late || d.LateByMS != 3000 {
		t.Errorf("verdict %+v", d)
	}
	if d.ChainSteps != 5 || len(d.Chain) != 5 || d.Chain[0].ID != "r-2007" || d.Chain[0].TimeoutMS != 5000 || d.Chain[4].ID != "main_window" {
		t.Errorf("chain %+v", d.Chain)
	}
}

func TestCleanupDeadline_JUnit(t *testing.T) {
	for _, c := range []struct {
		deadline string
		failures int
	}{{"2s", 1}, {"30s", 0}} {
		r := runCLI(t, "cleanup", "--dry-run", "--demo", "--deadline", c.deadline, "-o", "junit")
		var doc report.JUnitSuites
		if err := xml.Unmarshal([]byte(r.Stdout), &doc); err != nil {
			t.Fatalf("not XML: %v\n%s", err, r.Stdout)
		}
		if doc.Tests != 1 || doc.Failures != c.failures || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 1 || r.Code != c.failures {
			t.Errorf("--deadline %s: %+v, exit %d", c.deadline, doc, r.Code)
		}
		cs := doc.Suites[0].Cases[0]
		if cs.Name != "shutdown within "+c.deadline+" (critical path)" || (cs.Failure != nil) != (c.failures == 1) {
			t.Errorf("--deadline %s: case %+v", c.deadline, cs)
		}
		if c.failures == 1 && !strings.Contains(cs.Failure.Text, "#8 resource ffprobe (r-2007) @0s +5s") {
			t.Errorf("the failure does not name the chain: %q", cs.Failure.Text)
		}
	}
}

func TestCleanupDeadline_Baseline(t *testing.T) {
	dir := t.TempDir()
	demo := string(demoJSON(t))
	old := filepath.Join(dir, "old.json")
	testfs.WriteFile(t, old, []byte(demo), 0o600)
	// The new snapshot gives ffprobe 8 s instead of its default 5 s: the
	// critical path grows from 5 s to 8 s (+60%), the worst case by 3 s.
	slower := strings.Replace(demo, `"name": "ffprobe",`, `"name": "ffprobe", "cleanup": {"timeout_ms": 8000},`, 1)
	if slower == demo {
		t.Fatal("the demo changed: ffprobe not found")
	}
	cur := filepath.Join(dir, "new.json")
	testfs.WriteFile(t, cur, []byte(slower), 0o600)
	r := runCLI(t, "cleanup", "--dry-run", cur, "--baseline", old)
	if r.Code != 1 || !strings.Contains(r.Stdout, "critical path 5s → 8s (+60.0%), worst case 34.5s → 37.5s (+8.7%): REGRESSION beyond 20.0% (critical path)") {
		t.Errorf("exit %d, stderr %q, output:\n%s", r.Code, r.Stderr, r.Stdout)
	}
	if r := runCLI(t, "cleanup", "--dry-run", cur, "--baseline", old, "--max-regression", "75%"); r.Code != 0 || !strings.Contains(r.Stdout, "within 75.0%") {
		t.Errorf("within 75%%: exit %d, output:\n%s", r.Code, r.Stdout)
	}
	r = runCLI(t, "cleanup", "--dry-run", cur, "--baseline", old, "-o", "json")
	var doc struct {
		Regression struct {
			Old, New struct {
				CriticalPathMS int64 `json:"critical_path_ms"`
			}
			CriticalPathPct float64  `json:"critical_path_pct"`
			Regressed       []string `json:"regressed"`
		} `json:"regression"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.Stdout)
	}
	g := doc.Regression
	if g.Old.CriticalPathMS != 5000 || g.New.CriticalPathMS != 8000 || g.CriticalPathPct != 60 || len(g.Regressed) != 1 || g.Regressed[0] != "critical_path" {
		t.Errorf("regression %+v", g)
	}
}

func TestCleanupDeadline_BadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dry-run", "--demo", "--serial"}, "--serial needs --deadline"},
		{[]string{"--dry-run", "--demo", "--deadline", "-1s"}, "invalid --deadline -1s"},
		{[]string{"--dry-run", "--demo", "--baseline", "x.json", "--max-regression", "lots"}, `invalid --max-regression "lots"`},
		{[]string{"--demo", "--deadline", "30s"}, "add --dry-run"},
		{[]string{"--dry-run", "--demo", "--baseline", "nope.json"}, "nope.json"},
	} {
		r := runCLI(t, append([]string{"cleanup"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args, r.Code, r.Stderr, c.want)
		}
	}
}
