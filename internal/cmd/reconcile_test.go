package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/pkg/registry"
)

// TestLeaks_ReconcileFindsWhatTheRegistryDoesNotTrack: a process (this
// test's) serves a registry that tracks one of two files it holds open;
// leaks --reconcile reports the other, from /proc, and neither the tracked
// one nor the server's own socket.
func TestLeaks_ReconcileFindsWhatTheRegistryDoesNotTrack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("--reconcile reads /proc")
	}
	dir := t.TempDir()
	tracked, err := os.Create(filepath.Join(dir, "tracked.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer tracked.Close()
	hidden, err := os.Create(filepath.Join(dir, "behind-its-back.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer hidden.Close()
	reg := registry.New(registry.WithStackCapture(false))
	if err := reg.RegisterComponent("app", registry.WithType("window")); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Track("app", tracked, registry.WithName("tracked.db")); err != nil {
		t.Fatal(err)
	}
	srv := serveReg(t, reg, registry.WithAddress("unix://"+shortTempDir(t)+"/app.sock"), registry.WithoutDiscovery())

	r := attachCLI(t).run("leaks", "--attach", srv.Address(), "--reconcile", "-o", "json", "--fail-on", "none")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	var doc struct {
		Findings []struct {
			Rule      string `json:"rule"`
			Resource  string `json:"resource"`
			Untracked *struct {
				Type, Name, Detail string
			} `json:"untracked"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	var untracked []string
	for _, f := range doc.Findings {
		if f.Rule == "untracked-resource" {
			untracked = append(untracked, f.Untracked.Type+" "+f.Untracked.Name)
		}
	}
	joined := strings.Join(untracked, "\n")
	if !strings.Contains(joined, "file "+hidden.Name()) {
		t.Errorf("the untracked file is not reported:\n%s", joined)
	}
	if strings.Contains(joined, tracked.Name()) || strings.Contains(joined, "app.sock") {
		t.Errorf("the tracked file or the server's socket is reported:\n%s", joined)
	}

	// Without a registry to compare, --reconcile is refused in one line.
	for _, args := range [][]string{
		{"leaks", "--demo", "--reconcile"},
		{"leaks", "--attach", "proc:" + strconv.Itoa(os.Getpid()), "--reconcile"},
	} {
		r := attachCLI(t).run(args...)
		if r.Code != ExitError || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, r.Code, r.Stderr)
		}
	}
}
