package procsnap

import (
	"context"
	"testing"
)

// BenchmarkProcSnapshot reads a process holding 10,000 more file
// descriptors and 500 more threads than internal/tools/leaky's own
// (docs/performance.md).
func BenchmarkProcSnapshot(b *testing.B) {
	p, _ := startLeaky(b, "-fds", "10000", "-threads", "500")
	s, err := Take(context.Background(), p.PID(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Take(context.Background(), p.PID(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Resources)), "resources")
}
