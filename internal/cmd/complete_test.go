package cmd

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/discovery"
)

// TestCompletion_Attach: --attach completes the names and pid:N that
// rescoord ps lists, not stale entries, and not files.
func TestCompletion_Attach(t *testing.T) {
	c := attachCLI(t)
	dir := discovery.Dir(func(k string) string { return c.env[k] })
	pid := os.Getpid()
	if _, err := discovery.Write(dir, discovery.Entry{PID: pid, Process: "mediaapp", Address: "unix:///tmp/x.sock", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const gone = 1 << 30 // no such process
	if _, err := discovery.Write(dir, discovery.Entry{PID: gone, Process: "ghostapp", Address: "unix:///tmp/y.sock", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"list", "leaks", "stats", "cleanup", "graph", "validate"} {
		got, directive := completions(c.run("__complete", cmd, "--attach", "").Stdout)
		want := []string{"mediaapp", "pid:" + strconv.Itoa(pid)}
		if !slices.Equal(got, want) || directive != ":4" {
			t.Errorf("%s --attach: %q %s, want %q :4", cmd, got, directive, want)
		}
	}
	got, _ := completions(c.run("__complete", "leaks", "--attach", "pid:").Stdout)
	if !slices.Equal(got, []string{"pid:" + strconv.Itoa(pid)}) {
		t.Errorf("--attach pid: completes %q", got)
	}
}

// TestCompletion_ComponentIDs: --component and --owner complete the ids
// of the snapshot on the command line, or of --demo.
func TestCompletion_ComponentIDs(t *testing.T) {
	demo := []string{"copy_verify_controller", "copy_verify_resources", "copy_verify_tab", "copy_verify_ui", "copy_verify_workers"}
	for _, args := range [][]string{
		{"__complete", "cleanup", "--dry-run", "--demo", "--component", "copy"},
		{"__complete", "graph", snapshotPath("media-app.json"), "--component", "copy"},
		{"__complete", "list", "--demo", "--owner", "copy"},
	} {
		got, directive := completions(runCLI(t, args...).Stdout)
		if !slices.Equal(got, demo) || directive != ":4" {
			t.Errorf("%v: %q %s", args[1:], got, directive)
		}
	}
	r := runCLI(t, "__complete", "cleanup", "--dry-run", "--demo", "--component", "copy_verify_t")
	if !strings.Contains(r.Stdout, "copy_verify_tab\tCopyVerifyTab (tab, alive)\n") {
		t.Errorf("no description: %q", r.Stdout)
	}
	// --owner also offers the owner of orphans, which is not a component.
	if got, _ := completions(runCLI(t, "__complete", "list", "--demo", "--owner", "exp").Stdout); !slices.Equal(got, []string{"export_dialog"}) {
		t.Errorf("--owner exp: %q", got)
	}
	if got, _ := completions(runCLI(t, "__complete", "cleanup", "--dry-run", "--demo", "--component", "exp").Stdout); len(got) != 0 {
		t.Errorf("--component offers a missing owner: %q", got)
	}
	// Nothing named, standard input, or hostile ids: nothing to offer.
	if got, _ := completions(runCLI(t, "__complete", "cleanup", "--component", "").Stdout); len(got) != 0 {
		t.Errorf("no snapshot: %q", got)
	}
	if got, _ := completions(runCLI(t, "__complete", "list", "-", "--owner", "").Stdout); len(got) != 0 {
		t.Errorf("stdin: %q", got)
	}
	// Every id of the hostile snapshot holds control characters: none is
	// offered, since a shell would act on them.
	if got, _ := completions(runCLI(t, "__complete", "graph", hostileSnapshot(t), "--component", "").Stdout); len(got) != 0 {
		t.Errorf("hostile ids are offered: %q", got)
	}
}
