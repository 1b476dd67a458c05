package cmd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"
)

// deepChain writes a snapshot of a chain of n components, each the parent
// of the next, the middle one destroyed with a running worker, and a
// running worker at the bottom, and returns its path.
func deepChain(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deep.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(`{"format": "rescoord/v1", "taken_at": "2026-11-27T12:00:05Z", "components": [`)
	for i := range n {
		if i > 0 {
			w.WriteString(",")
		}
		state := `"alive"`
		if i == n/2 {
			state = `"destroyed", "destroyed_at": "2026-11-27T12:00:01Z"`
		}
		fmt.Fprintf(w, "\n"+`{"id": "c%d", "type": "node", "state": %s`, i, state)
		if i > 0 {
			fmt.Fprintf(w, `, "parent": "c%d"`, i-1)
		}
		w.WriteString("}")
	}
	fmt.Fprintf(w, `], "resources": [
{"id": "r-mid", "type": "worker", "owner": "c%d", "state": "active", "running": true, "created_by": ["mid.go:1 f"]},
{"id": "r-bottom", "type": "worker", "owner": "c%d", "state": "active", "running": true, "created_by": ["bottom.go:2 g"]}]}`, n/2, n-1)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// cappedWriter fails once more than limit bytes are written to it, so a
// renderer that is not linear stops early instead of filling the memory.
type cappedWriter struct {
	bytes.Buffer
	limit int
}

var errTooMuch = errors.New("output over the cap")

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.limit {
		return 0, errTooMuch
	}
	return w.Buffer.Write(p)
}

// runCapped runs rescoord with standard output capped at limit bytes.
func runCapped(t *testing.T, limit int, args ...string) (out string, code int, stderr string) {
	t.Helper()
	w := &cappedWriter{limit: limit}
	var errOut bytes.Buffer
	f := &Factory{
		IO:        &IOStreams{In: strings.NewReader(""), Out: w, ErrOut: &errOut},
		Demo:      demoJSON(t),
		Getenv:    func(string) string { return "" },
		Now:       func() time.Time { return time.Date(2026, 11, 27, 12, 0, 10, 0, time.UTC) },
		ColorMode: "auto",
	}
	code = Run(f, args)
	return w.String(), code, errOut.String()
}

// A 50,000-deep chain: the tree and every leak report are linear in the
// snapshot (traces elided in the middle, tree indentation capped), so each
// prints at most a few megabytes, however deep the tree.
func TestDeepChain_OutputIsBounded(t *testing.T) {
	const depth = 50_000
	path := deepChain(t, depth)
	const mb = 1 << 20
	for _, tc := range []struct {
		args   []string
		limit  int
		styled bool // the text formats: with --color always too
	}{
		// 50,000 lines of at most 32 levels of indentation.
		{[]string{"list", "--tree"}, 16 * mb, true},
		{[]string{"list", "--tree", "--owner", "c100"}, 16 * mb, false},
		{[]string{"leaks"}, 64 << 10, true},
		{[]string{"leaks", "-o", "json"}, 4 * mb, false},
		{[]string{"leaks", "-o", "sarif"}, 64 << 10, false},
		{[]string{"leaks", "-o", "junit"}, 64 << 10, false},
		{[]string{"leaks", "-o", "github"}, 64 << 10, false},
		{[]string{"leaks", "-o", "markdown"}, 64 << 10, false},
	} {
		colors := []string{"never"}
		if tc.styled {
			colors = append(colors, "always")
		}
		for _, color := range colors {
			args := append(append([]string{"--color", color}, tc.args...), path)
			t.Run(strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
				out, code, stderr := runCapped(t, tc.limit, args...)
				if code != 0 && code != 1 {
					t.Fatalf("exit %d after %d bytes: %s", code, len(out), stderr)
				}
				if tc.args[0] == "leaks" && !strings.Contains(out, "r-mid") {
					t.Errorf("the running worker of the destroyed component is not reported")
				}
				widest := 0
				for line := range strings.Lines(out) {
					widest = max(widest, len(line))
				}
				if tc.args[0] == "list" && widest > 400 {
					t.Errorf("a tree line of %d bytes: the indentation grows with the depth", widest)
				}
			})
		}
	}
}

func TestDeepChain_TreeMarksTheRealDepth(t *testing.T) {
	out, code, stderr := runCapped(t, 1<<20, "list", "--tree", "--color", "never", deepChain(t, 100))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "c0 (c0, node)") {
		t.Errorf("first line %q", lines[0])
	}
	deep := lines[40]
	if !strings.Contains(deep, "└── [depth 40] c40 (c40, node)") {
		t.Errorf("line 40 %q does not show its real depth", deep)
	}
	if strings.Index(lines[33], "└") != strings.Index(lines[99], "└") {
		t.Errorf("the indentation still grows below 32 levels:\n%s\n%s", lines[33], lines[99])
	}
	if strings.Contains(lines[32], "[depth") || !strings.Contains(lines[33], "[depth 33]") {
		t.Errorf("the marker starts at the wrong depth:\n%s\n%s", lines[32], lines[33])
	}
}

// Many findings deep in a chain: the lower half of a 4,000-deep chain is
// destroyed, each component with a running worker of its own call site, so
// 2,000 groups each trace a path of 2,000 to 4,000 levels. The reports stay
// linear: a few hundred bytes per group, not a few thousand lines.
func TestDeepChain_ManyDeepFindingsStayLinear(t *testing.T) {
	const n = 4_000
	path := filepath.Join(t.TempDir(), "many.json")
	var b strings.Builder
	b.WriteString(`{"format": "rescoord/v1", "taken_at": "2026-11-27T12:00:05Z", "components": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		state := `"alive"`
		if i >= n/2 {
			state = `"destroyed", "destroyed_at": "2026-11-27T12:00:01Z"`
		}
		fmt.Fprintf(&b, `{"id": "c%d", "state": %s`, i, state)
		if i > 0 {
			fmt.Fprintf(&b, `, "parent": "c%d"`, i-1)
		}
		b.WriteString("}")
	}
	b.WriteString(`], "resources": [`)
	for i := n / 2; i < n; i++ {
		if i > n/2 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id": "r%d", "type": "worker", "owner": "c%d", "state": "active", "running": true, "created_by": ["site%d.go:1 f"]}`, i, i, i)
	}
	b.WriteString("]}")
	testfs.WriteFile(t, path, []byte(b.String()), 0o600)
	const groups = n / 2
	for _, format := range []string{"text", "json", "sarif", "junit", "github", "markdown"} {
		t.Run(format, func(t *testing.T) {
			out, code, stderr := runCapped(t, groups*4<<10, "leaks", "-o", format, path)
			if code != 1 {
				t.Fatalf("exit %d after %d bytes: %s", code, len(out), stderr)
			}
		})
	}
}
