package goroutines

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// dump writes a goroutine dump of n goroutines shaped like a server's:
// eight frames each, a created by line, a few states and waits.
func dump(n int) []byte {
	var b bytes.Buffer
	states := []string{"chan receive", "select", "IO wait, 5 minutes", "sync.Mutex.Lock, 12 minutes", "running"}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "goroutine %d [%s]:\n", i, states[i%len(states)])
		b.WriteString("runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)\n\t/usr/local/go/src/runtime/proc.go:462 +0xce\n")
		b.WriteString("runtime.chanrecv(0xc000100000, 0x0, 0x1)\n\t/usr/local/go/src/runtime/chan.go:667 +0x3c5\n")
		b.WriteString("runtime.chanrecv1(0xc000100000?, 0x0?)\n\t/usr/local/go/src/runtime/chan.go:509 +0x12\n")
		fmt.Fprintf(&b, "example.com/app/worker%d.(*Pool).wait(0xc000200000, {0x9a0000, 0xc000300000})\n\t/src/app/worker%d/pool.go:%d +0x2a5\n", i%50, i%50, 80+i%7)
		b.WriteString("example.com/app/worker.(*Pool).loop(0xc000200000)\n\t/src/app/worker/pool.go:120 +0x88\n")
		b.WriteString("example.com/app/worker.run(...)\n\t/src/app/worker/run.go:14\n")
		b.WriteString("example.com/app/worker.start.func1()\n\t/src/app/worker/start.go:30 +0x25\n")
		fmt.Fprintf(&b, "created by example.com/app/worker.start in goroutine %d\n\t/src/app/worker/start.go:28 +0x11c\n\n", 1+i%3)
	}
	return b.Bytes()
}

// BenchmarkParseGoroutines parses a dump of 100,000 goroutines
// (docs/performance.md).
func BenchmarkParseGoroutines(b *testing.B) {
	in := dump(100_000)
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		gs, err := Parse(bytes.NewReader(in))
		if err != nil || len(gs) != 100_000 {
			b.Fatal(len(gs), err)
		}
	}
}

// BenchmarkBuildGoroutines builds the snapshot of those 100,000 goroutines.
func BenchmarkBuildGoroutines(b *testing.B) {
	gs, err := Parse(bytes.NewReader(dump(100_000)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		Build(gs, BuildOptions{TakenAt: time.Unix(1e9, 0)})
	}
}
