package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeaks_BaselineReport: --baseline takes an earlier leaks -o json
// report as well as a snapshot: the findings it lists are dropped.
func TestLeaks_BaselineReport(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "main.json")
	if r := runCLI(t, "leaks", "--demo", "-o", "json="+report); r.Code != 1 {
		t.Fatalf("writing the report: exit %d %s", r.Code, r.Stderr)
	}
	r := runCLI(t, "leaks", "--demo", "--baseline", report)
	if r.Code != 0 || !strings.Contains(r.Stdout, "9 in baseline") {
		t.Errorf("every finding is in the report: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// A report that knows only some findings drops only those.
	body, _ := os.ReadFile(report)
	partial := filepath.Join(dir, "partial.json")
	os.WriteFile(partial, []byte(`{"findings": [{"rule": "running-orphan", "signature": "bf34de9ac4839514"}], "summary": {}}`), 0o600)
	if !strings.Contains(string(body), `"bf34de9ac4839514"`) {
		t.Fatal("the demo's running orphan has another signature")
	}
	r = runCLI(t, "leaks", "--demo", "--baseline", partial)
	if r.Code != 1 || !strings.Contains(r.Stdout, "1 in baseline") || strings.Contains(r.Stdout, "r-1042)") {
		t.Errorf("partial report: exit %d\n%s", r.Code, r.Stdout)
	}
	// A snapshot is still a snapshot.
	if r := runCLI(t, "leaks", snapshotPath("media-app.json"), "--baseline", snapshotPath("clean.json")); !strings.Contains(r.Stderr, "is newer than") {
		t.Errorf("a snapshot baseline: exit %d %s", r.Code, r.Stderr)
	}
	// A broken report is an error naming it.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"findings": [{"signature": "nope"}]}`), 0o600)
	r = runCLI(t, "leaks", "--demo", "--baseline", bad)
	oneLineError(t, "bad report", r, `invalid baseline report `+bad+`: findings[0].signature "nope": want 16 hex digits`)
	bad2 := filepath.Join(dir, "bad2.json")
	os.WriteFile(bad2, []byte(`{"findings": {}}`), 0o600)
	oneLineError(t, "bad report", runCLI(t, "leaks", "--demo", "--baseline", bad2), "invalid baseline report "+bad2)
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, []byte(`{"findings": [`+strings.Repeat(`{"signature": "bf34de9ac4839514"},`, 1000)+`{"signature": "bf34de9ac4839514"}]}`), 0o600)
	oneLineError(t, "large report", runCLI(t, "leaks", "--demo", "--max-input", "10KB", "--baseline", big), "larger than the limit")
}
