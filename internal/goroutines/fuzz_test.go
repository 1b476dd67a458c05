package goroutines

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Any input parses or fails with an error, and what parses builds a
// snapshot the strict decoder accepts and indexes.
func FuzzParseGoroutines(f *testing.F) {
	for _, name := range []string{"waits.txt", "sigquit.txt", "panic.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("goroutine 1 [running]:\n\tgoroutine running on other thread; stack unavailable\n"))
	f.Add([]byte("goroutine 0 [idle]:\ngoroutine 0 [idle]:\ncreated by x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		gs, err := Parse(bytes.NewReader(in))
		if err != nil {
			if gs != nil {
				t.Fatal("goroutines and an error")
			}
			return
		}
		s := Build(gs, BuildOptions{TakenAt: time.Unix(1e9, 0), Label: "k"})
		back, err := snapshot.Decode(bytes.NewReader(s.AppendJSON(nil)), "fuzz")
		if err != nil {
			t.Fatalf("the built snapshot does not decode: %v", err)
		}
		if _, err := snapshot.NewIndex(back); err != nil {
			t.Fatalf("the built snapshot does not index: %v", err)
		}
		if len(back.Resources) != len(gs) {
			t.Fatalf("%d resources for %d goroutines", len(back.Resources), len(gs))
		}
	})
}
