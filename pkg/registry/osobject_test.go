package registry_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rescoord/rescoord/pkg/registry"
)

// osMeta tracks v and returns the metadata its snapshot entry carries.
func osMeta(t *testing.T, r *registry.Registry, v any, opts ...registry.TrackOption) map[string]any {
	t.Helper()
	h := mustTrack(t, r, "app", v, opts...)
	for _, res := range r.Snapshot().Resources {
		if res.ID == h.ID() {
			var md map[string]any
			if !res.Metadata.IsZero() {
				if err := json.Unmarshal(res.Metadata.Raw(), &md); err != nil {
					t.Fatalf("metadata %s: %v", res.Metadata.Raw(), err)
				}
			}
			return md
		}
	}
	t.Fatal("not in the snapshot")
	return nil
}

// fdTarget is what /proc/self/fd/N points at.
func fdTarget(t *testing.T, fd any) string {
	t.Helper()
	n, ok := fd.(float64)
	if !ok {
		t.Fatalf("fd %v is not a number", fd)
	}
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(n)))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return target
}

// TestTrack_NamesTheOSObject: a file, a connection, a listener and a
// process tracked without metadata carry what names their OS object —
// the real descriptor, path, addresses, pid — for leaks --reconcile.
func TestTrack_NamesTheOSObject(t *testing.T) {
	r, _ := newReg(t, []string{"app"}, registry.WithStackCapture(false))
	path := filepath.Join(t.TempDir(), "data.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md := osMeta(t, r, f)
	if md["path"] != path || fdTarget(t, md["fd"]) != path {
		t.Errorf("file metadata %v, want fd and path %s", md, path)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	md = osMeta(t, r, ln)
	if md["local"] != ln.Addr().String() || md["remote"] != nil {
		t.Errorf("listener metadata %v", md)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	md = osMeta(t, r, c)
	if md["local"] != c.LocalAddr().String() || md["remote"] != ln.Addr().String() || fdTarget(t, md["fd"])[:8] != "socket:[" {
		t.Errorf("connection metadata %v", md)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	if md := osMeta(t, r, cmd); md["pid"] != float64(cmd.Process.Pid) {
		t.Errorf("process metadata %v, want pid %d", md, cmd.Process.Pid)
	}
	if md := osMeta(t, r, cmd.Process); md["pid"] != float64(cmd.Process.Pid) {
		t.Errorf("os.Process metadata %v", md)
	}

	// Metadata given wins; other values get none.
	if md := osMeta(t, r, f, registry.WithMetadata(map[string]any{"k": "v"})); md["k"] != "v" || md["fd"] != nil {
		t.Errorf("given metadata %v", md)
	}
	if md := osMeta(t, r, new(int)); md != nil {
		t.Errorf("an int's metadata %v", md)
	}
}
