package leaks

import (
	"strings"
	"testing"
	"time"
)

func mustSuppressions(t *testing.T, yaml string) *Suppressions {
	t.Helper()
	s, err := ParseSuppressions([]byte(yaml), "ignore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var may2027 = time.Date(2027, 5, 1, 12, 0, 0, 0, time.UTC)

func TestParseSuppressions(t *testing.T) {
	s := mustSuppressions(t, `# accepted leaks
suppressions:
  - rule: running-orphan
    component: "Tab"
    reason: "fixed in #12"
    expires: 2027-06-30
  - frame: "vendor/**"
    action: report
    reason: third-party player
`)
	if len(s.Entries) != 2 {
		t.Fatalf("entries: %+v", s.Entries)
	}
	e := s.Entries[0]
	if e.Line != 3 || e.Rule != "running-orphan" || e.Component != "Tab" || e.Reason != "fixed in #12" || e.Action != ActionIgnore {
		t.Errorf("entry 0: %+v", e)
	}
	if e.Expires != time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC) || e.Where() != "ignore.yaml:3" {
		t.Errorf("entry 0 expires/where: %v %s", e.Expires, e.Where())
	}
	if s.Entries[1].Action != ActionReport || s.Entries[1].Line != 7 {
		t.Errorf("entry 1: %+v", s.Entries[1])
	}
	if empty := mustSuppressions(t, ""); len(empty.Entries) != 0 {
		t.Errorf("an empty file has no entries")
	}
}

func TestParseSuppressions_ErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"suppressions:\n  - rule: running-orphan\n", "ignore.yaml:2: entry has no reason"},
		{"suppressions:\n  - reason: why\n", "ignore.yaml:2: entry has no pattern"},
		{"suppressions:\n  - rule: x\n    reason: r\n    expires: next week\n", `ignore.yaml:4: expires: "next week" is not a date such as 2026-12-31`},
		{"suppressions:\n  - rule: x\n    reason: r\n    action: mute\n", `ignore.yaml:4: action: "mute" is not ignore or report`},
		{"suppressions:\n  - rules: x\n    reason: r\n", `ignore.yaml:2: unknown key "rules"`},
		{"suppressions:\n  - name: \"[abc\"\n    reason: r\n", `ignore.yaml:2: name: "[abc" is not a valid glob`},
		{"suppression:\n  - rule: x\n", `ignore.yaml:1: unknown key "suppression": want suppressions`},
		{"suppressions: [\n", "ignore.yaml:"},
		{"- rule: x\n", "ignore.yaml:1: want a mapping with a suppressions list"},
		{"suppressions:\n  - rule: x\n    reason: r\n    rule: y\n", `ignore.yaml:4: "rule" given twice (first at line 2)`},
	} {
		_, err := ParseSuppressions([]byte(tc.yaml), "ignore.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// Each pattern field matches with globs, and all given must match.
func TestSuppressions_GlobOnEachField(t *testing.T) {
	ix := leakIndex(t, "running-orphan")
	fs := FindLeaks(ix, LeakOptions{}) // r-1 worker analysis-worker of Tab, r-2 timer of gone_dialog, r-3 process ffmpeg of Tab
	for _, tc := range []struct {
		entry string
		want  int // findings hidden
	}{
		{"rule: running-*", 3},
		{"rule: orphaned-*", 0},
		{"component: Tab", 2},    // by name
		{"component: tab", 2},    // by id
		{"component: gone_*", 1}, // a missing owner by id
		{"type: \"{worker,timer}\"", 2},
		{"name: analysis-?orker", 1},
		{"name: r-3", 1}, // by id
		{"frame: \"ffmpeg.py:*\"", 1},
		{"frame: \"app.py:1 main\"", 3}, // any frame of the stack
		{"signature: " + fs[0].Signature, 1},
		{"rule: running-orphan\n    type: worker", 1},
		{"rule: running-orphan\n    type: file", 0},
	} {
		s := mustSuppressions(t, "suppressions:\n  - "+tc.entry+"\n    reason: test\n")
		got := s.Apply(ix, FindLeaks(ix, LeakOptions{}), may2027)
		if got.Ignored != tc.want || len(got.Kept) != 3-tc.want {
			t.Errorf("%q: hid %d (kept %d), want %d", tc.entry, got.Ignored, len(got.Kept), tc.want)
		}
		if got.Uses[0].Hits != tc.want {
			t.Errorf("%q: %d hits, want %d", tc.entry, got.Uses[0].Hits, tc.want)
		}
	}
}

func TestSuppressions_ExpiryUnusedAndReport(t *testing.T) {
	ix := leakIndex(t, "running-orphan")
	s := mustSuppressions(t, `suppressions:
  - name: analysis-worker
    reason: "fixed in #12"
    expires: 2027-04-30
  - type: process
    action: report
    reason: ffmpeg is third-party
  - rule: over-global-limit
    reason: nothing matches this
  - type: worker
    reason: second entry still suppresses once the first expired
`)
	// On the last day the entry applies, it still suppresses.
	before := s.Apply(ix, FindLeaks(ix, LeakOptions{}), time.Date(2027, 4, 30, 23, 59, 0, 0, time.UTC))
	if before.Ignored != 1 || before.Uses[0].Expired || before.Uses[0].Hits != 1 || before.Uses[3].Hits != 0 {
		t.Errorf("before expiry: %+v", before)
	}
	got := s.Apply(ix, FindLeaks(ix, LeakOptions{}), may2027)
	if !got.Uses[0].Expired || got.Uses[0].Hits != 1 {
		t.Errorf("expired entry use: %+v", got.Uses[0])
	}
	if got.Uses[3].Hits != 1 || got.Ignored != 1 {
		t.Errorf("the next entry takes over an expired one: %+v", got)
	}
	var reported []string
	for _, f := range got.Kept {
		if f.SuppressedBy != nil {
			reported = append(reported, f.ResourceID)
		}
	}
	if len(reported) != 1 || reported[0] != "r-3" || len(got.Kept) != 2 {
		t.Errorf("action report keeps the finding, marked: %q of %d kept", reported, len(got.Kept))
	}
	if len(got.Findings) != 2 {
		t.Fatalf("want an expired and an unused finding, got %+v", got.Findings)
	}
	exp, unused := got.Findings[0], got.Findings[1]
	if exp.Rule != RuleExpiredSuppression || exp.Severity != SeverityWarning || exp.Entry != &s.Entries[0] ||
		exp.Message != `suppression at ignore.yaml:2 (name=analysis-worker) expired on 2027-04-30 and no longer suppresses: 1 matching finding is reported again; reason was "fixed in #12"` {
		t.Errorf("expired finding: %+v", exp)
	}
	if unused.Rule != RuleUnusedSuppression || unused.Severity != SeverityInfo || unused.Entry != &s.Entries[2] {
		t.Errorf("unused finding: %+v", unused)
	}
	var nilSup *Suppressions
	if kept := nilSup.Apply(ix, FindLeaks(ix, LeakOptions{}), may2027); len(kept.Kept) != 3 || kept.Ignored != 0 {
		t.Errorf("no suppressions keeps everything: %+v", kept)
	}
}

// A duplicate key anywhere, or a second document, would drop content
// without a word: both are errors naming the line.
func TestParseSuppressions_DuplicateKeysAndDocuments(t *testing.T) {
	entry := "  - rule: running-orphan\n    reason: r\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"second suppressions list",
			"suppressions:\n" + entry + "suppressions:\n  - rule: growth\n    reason: r\n",
			`ignore.yaml:4: "suppressions" given twice (first at line 1)`},
		{"key twice in an entry",
			"suppressions:\n  - rule: x\n    reason: why\n    reason: other\n",
			`ignore.yaml:4: "reason" given twice (first at line 3)`},
		{"second document",
			"suppressions:\n" + entry + "---\nsuppressions:\n  - rule: growth\n    reason: r\n",
			"ignore.yaml:4: a second YAML document"},
		{"empty second document",
			"suppressions:\n" + entry + "---\n",
			"ignore.yaml:4: a second YAML document"},
		{"broken second document",
			"suppressions:\n" + entry + "---\n[\n",
			"ignore.yaml:"},
		{"too large",
			"suppressions:\n" + strings.Repeat("# padding\n", MaxSuppressionsBytes/10+1),
			"ignore.yaml: larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSuppressions([]byte(tc.yaml), "ignore.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q (parsed %+v)", err, tc.want, s)
			}
		})
	}
	// One document, explicitly started and ended, is fine.
	if s := mustSuppressions(t, "---\nsuppressions:\n"+entry+"...\n"); len(s.Entries) != 1 {
		t.Errorf("entries %+v, want 1", s.Entries)
	}
	if s := mustSuppressions(t, "# nothing yet\n"); len(s.Entries) != 0 {
		t.Errorf("a comment-only file has entries")
	}
}
