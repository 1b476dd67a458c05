package gensnap

import (
	"bytes"
	"testing"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

func generate(t *testing.T, cfg Config) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(cfg, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerate_IsDeterministic(t *testing.T) {
	a, b := generate(t, Tiny), generate(t, Tiny)
	if !bytes.Equal(a, b) {
		t.Fatal("the same config gave different bytes")
	}
	other := Tiny
	other.Seed++
	if bytes.Equal(a, generate(t, other)) {
		t.Fatal("another seed gave the same bytes")
	}
}

// TestGenerate_ShapesAValidRegistry checks the counts and the shape the
// benchmarks rely on: valid input, trees several levels deep, destroyed
// components, missing owners and parents, dependencies, stacks, metadata,
// released resources and unknown fields.
func TestGenerate_ShapesAValidRegistry(t *testing.T) {
	cfg := Config{Components: 2000, Resources: 20_000, Cleanups: 400, Seed: 3, Cycles: 2}
	s, err := snapshot.Parse(generate(t, cfg), "gen")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Components) != cfg.Components || len(s.Resources) != cfg.Resources || len(s.Cleanups) != cfg.Cleanups {
		t.Fatalf("counts %d/%d/%d, want %d/%d/%d", len(s.Components), len(s.Resources), len(s.Cleanups), cfg.Components, cfg.Resources, cfg.Cleanups)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	var destroyed, missingParent, maxDepth int
	for ci := range s.Components {
		c := &s.Components[ci]
		if !c.Alive() {
			destroyed++
		}
		if c.Parent != "" && ix.Parent(ci) < 0 {
			missingParent++
		}
		maxDepth = max(maxDepth, ix.Depth(ci))
	}
	var missingOwner, released, deps, stacks, metadata, extra, escaped int
	for ri := range s.Resources {
		r := &s.Resources[ri]
		if ix.Owner(ri) < 0 {
			missingOwner++
		}
		if r.State == snapshot.StateReleased {
			released++
		}
		if len(r.DependsOn) > 0 {
			deps++
		}
		if len(r.CreatedBy) > 0 {
			stacks++
		}
		if r.Metadata != nil {
			metadata++
		}
		if r.Extra != nil {
			extra++
		}
		if bytes.ContainsRune([]byte(r.Name), '"') {
			escaped++
		}
	}
	checks := []struct {
		what     string
		got, min int
	}{
		{"tree depth", maxDepth, 4},
		{"destroyed components (~10%)", destroyed, cfg.Components / 20},
		{"missing parents", missingParent, 1},
		{"missing owners", missingOwner, 1},
		{"released resources", released, cfg.Resources / 20},
		{"dependencies", deps, cfg.Resources / 5},
		{"creation stacks", stacks, cfg.Resources},
		{"metadata", metadata, cfg.Resources / 2},
		{"unknown fields", extra, 1},
		{"escaped names", escaped, 1},
	}
	for _, c := range checks {
		if c.got < c.min {
			t.Errorf("%s: %d, want at least %d", c.what, c.got, c.min)
		}
	}
}

// TestScale keeps the proportions of the performance issue: 343 MB for a
// million resources is about 343 bytes per resource.
func TestScale(t *testing.T) {
	cfg := Scale(20_000)
	if cfg.Components != 2000 || cfg.Cleanups != 400 {
		t.Fatalf("Scale(20000) = %+v", cfg)
	}
	if n := len(generate(t, cfg)); n < 320*20_000 || n > 370*20_000 {
		t.Errorf("%d bytes for 20,000 resources, want about 343 per resource", n)
	}
}
