package registry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: a program that embeds pkg/registry without serving
// metrics or reading suppressions links neither the Prometheus client nor
// yaml nor doublestar, nor the terminal renderer (docs/architecture.md).
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/prometheus/", "yaml", "doublestar", "lipgloss", "tablewriter", "cobra", "rescoord/pkg/leaks"} {
			if strings.Contains(dep, banned) {
				t.Errorf("pkg/registry depends on %s", dep)
			}
		}
	}
}
