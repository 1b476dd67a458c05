package metrics_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/registry"
)

// promtool returns the path of Prometheus' promtool, skipping the test
// when it is missing unless RESCOORD_REQUIRE_CONSUMERS=1 (.ci/run).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("RESCOORD_REQUIRE_CONSUMERS") == "1" {
			t.Fatal("promtool is required (RESCOORD_REQUIRE_CONSUMERS=1): apt-get install prometheus")
		}
		t.Skip("promtool not installed")
	}
	return p
}

// docBlock is the yaml block of docs/attach.md under
// "<!-- promtool: kind -->".
func docBlock(t *testing.T, kind string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "attach.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- promtool: " + kind + " -->\n```yaml\n(.*?)```")
	m := re.FindAllSubmatch(doc, -1)
	if len(m) != 1 {
		t.Fatalf("docs/attach.md has %d yaml blocks marked <!-- promtool: %s -->, want 1", len(m), kind)
	}
	return string(m[0][1])
}

func runPromtool(t *testing.T, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// The scrape configuration of docs/attach.md is one Prometheus accepts
// (its credentials file beside it, as the comment says).
func TestDocs_PromtoolConfig(t *testing.T) {
	promtool(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	testfs.WriteFile(t, cfg, []byte(docBlock(t, "config")), 0o600)
	testfs.WriteFile(t, filepath.Join(dir, "mediaapp.token"), []byte("secret\n"), 0o600)
	runPromtool(t, nil, "check", "config", cfg)
}

// The alert rules of docs/attach.md are valid rules, and name only
// metrics and labels this package serves.
func TestDocs_PromtoolRules(t *testing.T) {
	promtool(t)
	rules := docBlock(t, "rules")
	f := filepath.Join(t.TempDir(), "rules.yml")
	testfs.WriteFile(t, f, []byte(rules), 0o600)
	runPromtool(t, nil, "check", "rules", f)
	text := scrape(t, mediaRegistry(t))
	for _, m := range regexp.MustCompile(`rescoord_[a-z_]+`).FindAllString(rules, -1) {
		if !strings.Contains(text, "# TYPE "+m+" ") {
			t.Errorf("the rules use %s, which /metrics does not serve", m)
		}
	}
	for _, l := range regexp.MustCompile(`\$labels\.([a-z_]+)`).FindAllStringSubmatch(rules, -1) {
		if l[1] != "job" && !strings.Contains(text, l[1]+`="`) {
			t.Errorf("the rules use the label %s, which /metrics does not serve", l[1])
		}
	}
}

// A real scrape passes promtool's lint of metric names, units, HELP and
// TYPE (the Prometheus naming conventions).
func TestMetrics_PromtoolLint(t *testing.T) {
	promtool(t)
	runPromtool(t, []byte(scrape(t, mediaRegistry(t))), "check", "metrics")
}

// mediaRegistry is a registry shaped like examples/mediaapp's: a window,
// a tab with a limit, its controller, a worker coordinator and a worker.
func mediaRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg := registry.New(registry.WithGlobalLimit(64 << 20))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.RegisterComponent("main_window", registry.WithName("MainWindow"), registry.WithType("window")))
	must(reg.RegisterComponent("tab-1", registry.WithName("MediaAnalysisTab"), registry.WithType("tab"), registry.WithParent("main_window"), registry.WithLimit(32<<20)))
	must(reg.RegisterComponent("tab-1-ctl", registry.WithName("MediaAnalysisController"), registry.WithType("controller"), registry.WithParent("tab-1")))
	ws, err := coordinator.NewWorkers(reg, coordinator.ComponentSpec{ID: "tab-1-workers", Name: "WorkerCoordinator", Parent: "tab-1-ctl"})
	must(err)
	w := coordinator.Go(t.Context(), func(ctx context.Context) error { <-ctx.Done(); return nil })
	_, err = ws.TrackWorker(w, coordinator.ResourceSpec{Name: "analysis-worker", SizeBytes: 2 << 20})
	must(err)
	_, err = reg.Track("tab-1-ctl", make([]byte, 0), registry.WithName("frame-buffer"), registry.WithSize(8<<20))
	must(err)
	return reg
}
