package coordinator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Temporary: full plans (every field) over many random snapshots, hashed,
// written once with the old engine and compared with the new one.
func TestZZCompare(t *testing.T) {
	file := os.Getenv("PLANCMP")
	if file == "" {
		t.Skip()
	}
	type full struct {
		Step
		Name  string
		Index int
		After []int
	}
	if os.Getenv("PLANPAR") != "" {
		defer func(n int) { planParallelMin = n }(planParallelMin)
		planParallelMin = 1
	}
	var lines []string
	r := rand.New(rand.NewPCG(99, 1))
	sizes := []genOptions{{4, 8, 4}, {12, 30, 10}, {30, 90, 25}, {200, 2000, 150}, {50, 1500, 100}}
	for n := range 3000 {
		o := sizes[n%len(sizes)]
		if n%2 == 1 && n%5 >= 3 {
			o = sizes[n%3]
		}
		s := randomSnapshot(r, o)
		if n%7 == 0 && len(s.Resources) > 2 { // maybe a cycle
			a, b := r.IntN(len(s.Resources)), r.IntN(len(s.Resources))
			s.Resources[a].DependsOn = append(s.Resources[a].DependsOn, s.Resources[b].ID)
			s.Resources[b].DependsOn = append(s.Resources[b].DependsOn, s.Resources[a].ID)
		}
		ix, err := snapshot.NewIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		scopes := []Scope{{}}
		for k := 0; k < 3 && len(s.Components) > 0; k++ {
			scopes = append(scopes, Scope{Component: s.Components[r.IntN(len(s.Components))].ID})
		}
		for _, sc := range scopes {
			p, err := NewPlan(ix, sc)
			h := sha256.New()
			if err != nil {
				fmt.Fprintf(h, "err %v", err)
			} else {
				fs := make([]full, len(p.Steps))
				for i, st := range p.Steps {
					fs[i] = full{st, st.Name, st.Index, st.After}
				}
				b, _ := json.Marshal(struct {
					S []full
					P *Plan
					C []int
				}{fs, p, p.CriticalPath})
				h.Write(b)
			}
			lines = append(lines, fmt.Sprintf("%d %q %x", n, sc.Component, h.Sum(nil)[:8]))
		}
	}
	got := strings.Join(lines, "\n") + "\n"
	if os.Getenv("PLANCMP_WRITE") != "" {
		os.WriteFile(file, []byte(got), 0o644)
		return
	}
	want, _ := os.ReadFile(file)
	if string(want) != got {
		wl := strings.Split(string(want), "\n")
		gl := strings.Split(got, "\n")
		bad := 0
		for i := range min(len(wl), len(gl)) {
			if wl[i] != gl[i] {
				bad++
				if bad < 10 {
					t.Errorf("differs: %s vs %s", wl[i], gl[i])
				}
			}
		}
		t.Fatalf("%d differ", bad)
	}
}
