package printer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/planner"
)

// bigDemoPlan repeats the demo's steps to n steps, with a few action lists
// of its own (same contents, other slices) so that the printer's cache of
// action lists is missed and refilled.
func bigDemoPlan(t *testing.T, n int) *planner.Plan {
	t.Helper()
	ix := testsnap.Demo(t)
	p, err := planner.NewPlan(ix, planner.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	big := &planner.Plan{Summary: p.Summary, Warnings: []string{"w <1>"}}
	for len(big.Steps) < n {
		big.Steps = append(big.Steps, p.Steps...)
	}
	big.Steps = big.Steps[:n]
	for i := 0; i < n; i += 97 {
		big.Steps[i].Actions = append([]string(nil), big.Steps[i].Actions...)
	}
	return big
}

// TestCleanup_JSONPrinterLargePlan holds the printer to encoding/json on a
// plan of many blocks, which it formats on several cores.
func TestCleanup_JSONPrinterLargePlan(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	big := bigDemoPlan(t, 20*jsonBlockSteps+7)
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(big); err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		var got bytes.Buffer
		if err := (planJSONPrinter{}).Print(&got, &CleanupData{Plan: big}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("GOMAXPROCS %d: printer differs from encoding/json (%d bytes, want %d)", procs, got.Len(), want.Len())
		}
	}
}

// failingWriter fails once it has taken limit bytes.
type failingWriter struct{ n, limit int }

var errWriteFailed = errors.New("write failed")

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.n+len(b) > w.limit {
		return 0, errWriteFailed
	}
	w.n += len(b)
	return len(b), nil
}

// TestCleanup_JSONPrinterWriteError wants the printer to stop at the first
// failed write and return its error, whether the blocks are formatted on
// one core or several.
func TestCleanup_JSONPrinterWriteError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	big := bigDemoPlan(t, 20*jsonBlockSteps)
	for _, procs := range []int{1, 4} {
		runtime.GOMAXPROCS(procs)
		for _, limit := range []int{0, 100, 3 << 20} {
			err := (planJSONPrinter{}).Print(&failingWriter{limit: limit}, &CleanupData{Plan: big})
			if !errors.Is(err, errWriteFailed) {
				t.Errorf("GOMAXPROCS %d, failing after %d bytes: err = %v", procs, limit, err)
			}
		}
	}
}

// TestCleanup_JSONOfLazyPlan wants the JSON of a lazy plan, whose steps
// the printer makes block by block, to be that of the same plan made
// whole, on one core and on several.
func TestCleanup_JSONOfLazyPlan(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ix := testsnap.Generated(t, gensnap.Scale(40_000))
	for _, procs := range []int{1, 3} {
		runtime.GOMAXPROCS(procs)
		var want, got bytes.Buffer
		for lazy, out := range map[bool]*bytes.Buffer{false: &want, true: &got} {
			plan := planner.NewPlan
			if lazy {
				plan = planner.NewLazyPlan
			}
			p, err := plan(ix, planner.Scope{})
			if err != nil {
				t.Fatal(err)
			}
			if err := (planJSONPrinter{}).Print(out, &CleanupData{Plan: p, Index: ix}); err != nil {
				t.Fatal(err)
			}
		}
		if want.Len() < 1<<20 || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("GOMAXPROCS %d: the lazy plan's JSON (%d bytes) differs from the whole plan's (%d bytes)", procs, got.Len(), want.Len())
		}
	}
}

// The hand-written JSON printer must write exactly what encoding/json
// writes with two-space indentation.
func TestCleanup_JSONPrinterMatchesEncodingJSON(t *testing.T) {
	check := func(t *testing.T, name string, p *planner.Plan) {
		t.Helper()
		var got bytes.Buffer
		if err := (planJSONPrinter{}).Print(&got, &CleanupData{Plan: p}); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("%s: printer differs from encoding/json:\n--- printer ---\n%s\n--- encoding/json ---\n%s", name, got.String(), want.String())
		}
	}
	ix := testsnap.Demo(t)
	for _, scope := range []string{"", "copy_verify_tab", "settings_controller"} {
		p, err := planner.NewPlan(ix, planner.Scope{Component: scope})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "demo "+scope, p)
	}
	check(t, "empty", &planner.Plan{Steps: []planner.Step{}})
	check(t, "warnings and odd strings", &planner.Plan{
		Steps: []planner.Step{{Order: 1, Kind: "resource", ID: "r-<1>&\"\\", Component: "tab\u2028\u2029", Type: "gpu\x00\x1f\x7f",
			Actions: []string{}, Reason: "bad \xff utf8 \b\f\n\r\t é 😀"}},
		Warnings: []string{"one", "two <b>"},
	})
}

func BenchmarkCleanupJSON(b *testing.B) {
	p, _ := planner.NewPlan(testsnap.Demo(b), planner.Scope{})
	// Repeat the demo's steps to 100,000.
	big := &planner.Plan{Summary: p.Summary}
	for len(big.Steps) < 100_000 {
		big.Steps = append(big.Steps, p.Steps...)
	}
	v := &CleanupData{Plan: big}
	b.Run("printer", func(b *testing.B) {
		for b.Loop() {
			if err := (planJSONPrinter{}).Print(io.Discard, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			enc := json.NewEncoder(io.Discard)
			enc.SetIndent("", "  ")
			if err := enc.Encode(big); err != nil {
				b.Fatal(err)
			}
		}
	})
}
