package gensnap

import (
	"bytes"
	"fmt"
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
		if r.CreatedBy.Len() > 0 {
			stacks++
		}
		if !r.Metadata.IsZero() {
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

// TestGenerate_Shapes checks what makes the heavy and the deep shapes
// what docs/performance.md says they are, and that the standard shape
// gives the same bytes whatever the other shapes do.
func TestGenerate_Shapes(t *testing.T) {
	const n = 20_000
	std := ScaleShape(n, Standard)
	if !bytes.Equal(generate(t, std), generate(t, Scale(n))) {
		t.Fatal("ScaleShape(n, Standard) differs from Scale(n)")
	}
	for _, name := range Shapes {
		if _, ok := ParseShape(name); !ok {
			t.Errorf("ParseShape(%q) refused a listed shape", name)
		}
	}
	if _, ok := ParseShape("round"); ok {
		t.Error("ParseShape accepted an unknown shape")
	}

	load := func(cfg Config) (*snapshot.Snapshot, *snapshot.Index) {
		t.Helper()
		s, err := snapshot.Parse(generate(t, cfg), "gen")
		if err != nil {
			t.Fatal(err)
		}
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		return s, ix
	}

	t.Run("heavy", func(t *testing.T) {
		s, _ := load(ScaleShape(n, Heavy))
		var runnable, running, shortStacks, noMeta, extra, escaped int
		for ri := range s.Resources {
			r := &s.Resources[ri]
			switch r.Type {
			case "worker", "thread", "timer", "process":
				if r.State != snapshot.StateReleased {
					runnable++
					if r.Running {
						running++
					}
				}
			}
			if r.CreatedBy.Len() < 8 {
				shortStacks++
			}
			if r.Metadata.IsZero() {
				noMeta++
			}
			if r.Extra != nil {
				extra++
			}
			if bytes.ContainsRune([]byte(r.Name), '"') {
				escaped++
			}
		}
		unlabelled := 0
		for ci := range s.Components {
			if len(s.Components[ci].Labels) == 0 {
				unlabelled++
			}
		}
		if running*100 < runnable*85 {
			t.Errorf("%d of %d live runnable resources running, want most", running, runnable)
		}
		if shortStacks > 0 || noMeta > 0 || unlabelled > 0 {
			t.Errorf("stacks under 8 frames %d, without metadata %d, unlabelled components %d: want none", shortStacks, noMeta, unlabelled)
		}
		if extra < n/10 || escaped < n/25 {
			t.Errorf("unknown fields on %d, escaped names on %d resources: want at least %d and %d", extra, escaped, n/10, n/25)
		}
	})

	t.Run("deep", func(t *testing.T) {
		cfg := ScaleShape(n, Deep)
		s, ix := load(cfg)
		if len(s.Cleanups) != n/5 {
			t.Errorf("%d cleanups, want %d", len(s.Cleanups), n/5)
		}
		maxDepth := 0
		for ci := range s.Components {
			maxDepth = max(maxDepth, ix.Depth(ci))
		}
		if maxDepth < 24 {
			t.Errorf("component trees %d levels deep, want dozens", maxDepth)
		}
		// Every dependency points to an earlier resource (so a plan
		// exists), and the chains are long and reach across the id space.
		chain := make([]int, len(s.Resources))
		longest, far := 0, 0
		for ri := range s.Resources {
			for _, d := range s.Resources[ri].DependsOn {
				var di int
				if _, err := fmt.Sscanf(d, "r-%d", &di); err != nil || di >= ri {
					t.Fatalf("resource %d depends on %q: not an earlier resource", ri, d)
				}
				chain[ri] = max(chain[ri], chain[di]+1)
				if ri-di > n/2 {
					far++
				}
			}
			longest = max(longest, chain[ri])
		}
		if longest < n/10 || far == 0 {
			t.Errorf("longest dependency chain %d, %d dependencies across half the id space: want at least %d and some", longest, far, n/10)
		}
	})
}
