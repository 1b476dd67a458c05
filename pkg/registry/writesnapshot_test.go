package registry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
	"github.com/rescoord/rescoord/pkg/registry"
)

// TestWriteSnapshot_WritesWhatSnapshotHolds: the streamed snapshot is byte
// for byte the built one, components, resources of every state, metadata,
// dependencies and cleanups included.
func TestWriteSnapshot_WritesWhatSnapshotHolds(t *testing.T) {
	r, _ := newReg(t, []string{"window", "tab<window", "gone<window"})
	for i := range 20_000 {
		opts := []registry.TrackOption{registry.WithType([]string{"worker", "file", "timer"}[i%3]), registry.WithSize(int64(i))}
		if i%7 == 0 {
			opts = append(opts, registry.WithMetadata(map[string]any{"path": "/tmp/\"x\"\n", "i": i}))
		}
		owner := "tab"
		if i%5 == 0 {
			owner = "gone"
		}
		h := mustTrack(t, r, owner, nil, opts...)
		if i%11 == 0 {
			_ = h.Release(context.Background())
		}
	}
	_ = r.OnCleanup("tab", "Tab.save", 3, 0, func(context.Context) error { return nil })
	if err := r.Destroy(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	want := r.Snapshot().AppendJSON(nil)
	var got bytes.Buffer
	if err := r.WriteSnapshot(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("WriteSnapshot differs from Snapshot().AppendJSON:\n%.400s\n%.400s", got.Bytes(), want)
	}

	// Served, plain and compressed.
	a := serveAppWith(t, nil, registry.WithAddress("127.0.0.1:0"))
	for i := range 3000 {
		mustTrack(t, a.reg, "media_tab", nil, registry.WithSize(int64(i)))
	}
	wantServed := append(a.reg.Snapshot().AppendJSON(nil), '\n')
	for _, gz := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, a.srv.Address()+"/snapshot", nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		must(t, err)
		var b []byte
		if gz {
			b = testfs.Gunzip(t, resp.Body)
		} else {
			b, err = io.ReadAll(resp.Body)
			must(t, err)
		}
		resp.Body.Close()
		// The snapshot's time differs between two takes: compare after it.
		if i := bytes.Index(b, []byte(`,"source"`)); i < 0 || !bytes.Equal(b[i:], wantServed[bytes.Index(wantServed, []byte(`,"source"`)):]) {
			t.Errorf("served (gzip %v) differs:\n%.300s", gz, b)
		}
	}
}

// TestWriteSnapshot_AllocatesAChunkNotTheRegistry: streaming 100,000
// resources allocates a small fraction of what building the snapshot does.
func TestWriteSnapshot_AllocatesAChunkNotTheRegistry(t *testing.T) {
	r := filled(t, 100_000)
	alloc := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	built := alloc(func() { _ = r.Snapshot().AppendJSON(nil) })
	streamed := alloc(func() { _ = r.WriteSnapshot(io.Discard) })
	t.Logf("built %d MB, streamed %d MB", built>>20, streamed>>20)
	if streamed*10 > built {
		t.Errorf("streaming allocated %d bytes, building %d: want under a tenth", streamed, built)
	}
}
