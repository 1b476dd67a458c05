package cmd

import (
	"fmt"
	"testing"

	"github.com/rescoord/rescoord/pkg/registry"
)

// BenchmarkLeaksAttach runs `leaks --attach` end to end — connecting,
// the served snapshot streamed and decoded, the rules, the JSON report —
// against a registry of 100,000 resources served on a unix socket in the
// same process (docs/performance.md, "Attaching to a live registry").
func BenchmarkLeaksAttach(b *testing.B) {
	const n = 100_000
	reg := registry.New(registry.WithStackCapture(false))
	comps := n / 100
	for c := range comps {
		if err := reg.RegisterComponent(fmt.Sprintf("c%d", c), registry.WithType("controller")); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		if _, err := reg.Track(fmt.Sprintf("c%d", i%comps), nil, registry.WithType("worker"), registry.WithName("res"), registry.WithSize(64)); err != nil {
			b.Fatal(err)
		}
	}
	srv := serveReg(b, reg, registry.WithAddress("unix://"+shortTempDir(b)+"/app.sock"), registry.WithoutDiscovery())
	c := newCLI(b)
	for b.Loop() {
		if r := c.run("leaks", "--attach", srv.Address(), "-o", "json"); r.Code > 1 {
			b.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
	}
}
