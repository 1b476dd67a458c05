//go:build linux

package cmd

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"
)

var ansiSeq = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// onTerminal runs the rescoord binary on a real pseudo-terminal of cols
// columns and returns what it wrote there.
func onTerminal(t *testing.T, bin string, cols uint16, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"TERM=xterm-256color", "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: cols})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, f) // ends with EIO once the child has exited
	_ = cmd.Wait()
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// TestTerminal_WidthAndColour: on a real 80-column terminal the demo's
// tables fit, are coloured, and a heading can be found in the coloured
// output; NO_COLOR turns colour off; a wider terminal gets wider lines.
func TestTerminal_WidthAndColour(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rescoord")
	if out, err := exec.Command("go", "build", "-o", bin, absRoot).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	widest := func(s string) int {
		w := 0
		for line := range strings.Lines(ansiSeq.ReplaceAllString(s, "")) {
			w = max(w, runewidth.StringWidth(strings.TrimRight(line, "\n")))
		}
		return w
	}
	for _, args := range [][]string{{"cleanup", "--dry-run", "--demo"}, {"list", "--demo"}} {
		out := onTerminal(t, bin, 80, nil, args...)
		if w := widest(out); w > 80 || w < 40 {
			t.Errorf("%v on 80 columns: the widest line has %d", args, w)
		}
		if !strings.Contains(out, "\x1b[") {
			t.Errorf("%v on a terminal: no colour", args)
		}
		if plain := onTerminal(t, bin, 80, []string{"NO_COLOR=1"}, args...); strings.Contains(plain, "\x1b[") {
			t.Errorf("%v with NO_COLOR: colour", args)
		}
		if wide := onTerminal(t, bin, 250, nil, args...); widest(wide) <= 80 {
			t.Errorf("%v on 250 columns: no line wider than 80", args)
		}
	}
	if out := onTerminal(t, bin, 72, nil, "stats", "--demo"); widest(out) > 72 {
		t.Errorf("stats on 72 columns: the widest line has %d", widest(out))
	}
	if out := onTerminal(t, bin, 80, nil, "cleanup", "--dry-run", "--demo"); !strings.Contains(out, "Cleanup plan") {
		t.Error(`the coloured heading cannot be found: "Cleanup plan" is not one run of text`)
	}
}
