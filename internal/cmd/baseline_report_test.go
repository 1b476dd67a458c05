package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeaks_BaselineFromAReport: --baseline takes a previous leaks -o json
// report: the findings it lists are known, only new ones are shown.
func TestLeaks_BaselineFromAReport(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "main.json")
	if r := runCLI(t, "leaks", "--demo", "-o", "json="+report); r.Code != 1 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	r := runCLI(t, "leaks", "--demo", "--baseline", report)
	if r.Code != 0 || !strings.Contains(r.Stdout, "0 critical, 0 errors, 0 warnings") {
		t.Errorf("against its own report: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	// A report that knows only some of the findings: the others are new.
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), `"signature": "`)
	partial := strings.Replace(string(data), string(data[i:i+len(`"signature": "`)+16]), `"signature": "0000000000000000`, 1)
	if err := os.WriteFile(report, []byte(partial), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "leaks", "--demo", "--baseline", report)
	if r.Code != 1 || !strings.Contains(r.Stdout, "1 critical, 0 errors, 0 warnings") {
		t.Errorf("against a report without the first finding: exit %d\n%s", r.Code, r.Stdout)
	}

	// A report whose finding has no signature is refused in one line.
	if err := os.WriteFile(report, []byte(`{"findings": [{"rule": "running-orphan"}], "summary": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "leaks", "--demo", "--baseline", report)
	if r.Code != ExitError || !strings.Contains(r.Stderr, "findings[0]: no signature") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("a broken report: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
