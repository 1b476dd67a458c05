package coordinator

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Temporary profiling harness (not to be kept).
func TestZZProfPlan(t *testing.T) {
	path := os.Getenv("PLANPROF")
	if path == "" {
		t.Skip()
	}
	s, err := snapshot.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if f := os.Getenv("PLANCPU"); f != "" {
		out, _ := os.Create(f)
		pprof.StartCPUProfile(out)
		defer pprof.StopCPUProfile()
	}
	iters := 3
	if s := os.Getenv("PLANITER"); s != "" {
		iters, _ = strconv.Atoi(s)
	}
	for range iters {
		runtime.ReadMemStats(&m0)
		t0 := time.Now()
		plan, err := NewPlan(ix, Scope{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("plan %v", time.Since(t0))
		runtime.ReadMemStats(&m1)
		t.Logf("steps %d, alloc %d MB, mallocs %d, gcs %d", len(plan.Steps), (m1.TotalAlloc-m0.TotalAlloc)>>20, m1.Mallocs-m0.Mallocs, m1.NumGC-m0.NumGC)
		runtime.GC()
	}
}

func TestZZStats(t *testing.T) {
	path := os.Getenv("PLANPROF")
	if path == "" {
		t.Skip()
	}
	s, _ := snapshot.Load(path)
	ix, _ := snapshot.NewIndex(s)
	plan, _ := NewPlan(ix, Scope{})
	var after, built, cbs, comps, res, held int
	reasons := map[string]int{}
	for i := range plan.Steps {
		st := &plan.Steps[i]
		after += len(st.After)
		switch st.Kind {
		case KindCallback:
			cbs++
		case KindComponent:
			comps++
		default:
			res++
		}
		reasons[st.Reason]++
	}
	for r, n := range reasons {
		if n > 1000 {
			t.Logf("%8d %q", n, r)
		} else {
			built += n
		}
	}
	t.Logf("R=%d C=%d CB=%d steps=%d (cb %d res %d comp %d) after=%d distinct reasons=%d rare=%d", len(s.Resources), len(s.Components), len(s.Cleanups), len(plan.Steps), cbs, res, comps, after, len(reasons), built)
	_ = held
}

func TestZZOwnership(t *testing.T) {
	path := os.Getenv("PLANPROF")
	if path == "" {
		t.Skip()
	}
	s, _ := snapshot.Load(path)
	same, live := 0, 0
	for i := 1; i < len(s.Resources); i++ {
		if s.Resources[i].Owner == s.Resources[i-1].Owner {
			same++
		}
		if s.Resources[i].Live() {
			live++
		}
	}
	t.Logf("same owner as previous: %d of %d; live %d", same, len(s.Resources), live)
}
