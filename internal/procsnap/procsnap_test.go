package procsnap

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/internal/tools/helper"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func needLinux(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("proc: targets are Linux only")
	}
}

// startLeaky starts internal/tools/leaky and waits for its "ready" line.
func startLeaky(t testing.TB, args ...string) (*helper.Proc, string) {
	t.Helper()
	needLinux(t)
	bin := helper.Build(t, "./internal/tools/leaky")
	dir := t.TempDir()
	p := helper.Start(t, bin, append([]string{"-dir", dir}, args...)...)
	p.Expect("ready")
	return p, dir
}

func meta(t testing.TB, r *snapshot.Resource) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Metadata.Raw(), &m); err != nil {
		t.Fatalf("%s: metadata: %v", r.ID, err)
	}
	return m
}

func byName(s *snapshot.Snapshot, typ, name string) []*snapshot.Resource {
	var out []*snapshot.Resource
	for i := range s.Resources {
		r := &s.Resources[i]
		if r.Type == typ && (name == "" || r.Name == name) {
			out = append(out, r)
		}
	}
	return out
}

func TestTake_Helper(t *testing.T) {
	p, dir := startLeaky(t)
	before := time.Now()
	s, err := Take(context.Background(), p.PID(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.NewIndex(s); err != nil {
		t.Fatalf("the snapshot does not index: %v", err)
	}
	// It must also survive the encoder and the strict decoder.
	if _, err := snapshot.Decode(strings.NewReader(string(s.AppendJSON(nil))), "proc"); err != nil {
		t.Fatalf("the snapshot does not decode: %v", err)
	}
	if s.Source.PID != int64(p.PID()) || s.Source.Process != "leaky" {
		t.Errorf("source = %+v, want process leaky, pid %d", s.Source, p.PID())
	}
	root := s.Components[0]
	if root.ID != RootID || root.Name != "leaky" || root.Type != "process" {
		t.Errorf("root component = %+v", root)
	}
	if d := before.Sub(root.CreatedAt); d < -time.Second || d > time.Minute {
		t.Errorf("process started at %s, %s before the read: want the start time from stat field 22", root.CreatedAt, d)
	}
	if !strings.Contains(root.Labels["cmdline"], "-dir "+dir) {
		t.Errorf("cmdline label = %q", root.Labels["cmdline"])
	}

	workers := byName(s, snapshot.TypeThread, "")
	var inGroup []string
	for _, r := range workers {
		if r.Owner == "threads/worker-N" {
			inGroup = append(inGroup, r.Name)
		}
	}
	if strings.Join(inGroup, ",") != "worker-1,worker-2" && strings.Join(inGroup, ",") != "worker-2,worker-1" {
		t.Errorf("threads of group worker-N = %v, want worker-1 and worker-2", inGroup)
	}

	data := byName(s, snapshot.TypeFile, filepath.Join(dir, "data.txt"))
	if len(data) != 1 {
		t.Fatalf("data.txt: %d resources, want 1", len(data))
	}
	if m := meta(t, data[0]); m["pos"] != 5.0 || m["access"] != "read-write" || m["fd"] == nil {
		t.Errorf("data.txt metadata = %v, want pos 5, access read-write and the fd number", m)
	}
	if strings.Contains(data[0].ID, "/fd/") || data[0].ID != "file/"+filepath.Join(dir, "data.txt") {
		t.Errorf("data.txt id = %q: want it from the path", data[0].ID)
	}

	var listen, established, udp, unixSock int
	for _, r := range byName(s, snapshot.TypeSocket, "") {
		m := meta(t, r)
		switch {
		case m["protocol"] == "tcp" && m["state"] == "LISTEN" && strings.HasPrefix(m["local"].(string), "127.0.0.1:"):
			listen++
		case m["protocol"] == "tcp" && m["state"] == "ESTABLISHED" && strings.HasPrefix(m["remote"].(string), "127.0.0.1:"):
			established++
		case m["protocol"] == "udp" && strings.HasPrefix(m["local"].(string), "127.0.0.1:"):
			udp++
		case m["protocol"] == "unix" && m["path"] == filepath.Join(dir, "leaky.sock"):
			unixSock++
		}
	}
	if listen != 1 || established != 2 || udp != 1 || unixSock != 1 {
		t.Errorf("sockets: %d tcp listeners, %d established, %d udp, %d unix on leaky.sock; want 1, 2 (both ends), 1, 1",
			listen, established, udp, unixSock)
	}
	timers := byName(s, snapshot.TypeTimer, "timerfd")
	if len(timers) != 1 || !timers[0].Running {
		t.Errorf("timerfd: %+v, want one armed (running) timer", timers)
	}
	if len(byName(s, "eventfd", "")) == 0 {
		t.Error("no eventfd resource")
	}
	// Both ends of one pipe: the same inode, told apart by an ordinal.
	pairs := 0
	for _, r := range byName(s, "pipe", "") {
		if strings.HasSuffix(r.ID, "#2") {
			pairs++
		}
	}
	if pairs == 0 {
		t.Error("no pipe with both ends open (id PIPE#2)")
	}
	kids := byName(s, snapshot.TypeProcess, "")
	if len(kids) != 1 || !kids[0].Running || kids[0].Owner != RootID {
		t.Errorf("child processes = %+v, want one running child", kids)
	}
	// Resident memory by kind, adding up to VmRSS, each page counted once.
	var rss int64
	for _, k := range []string{"RssAnon", "RssFile", "RssShmem"} {
		m := byName(s, snapshot.TypeMemory, k)
		if len(m) != 1 {
			t.Fatalf("%s = %+v", k, m)
		}
		rss += m[0].SizeBytes
	}
	if len(byName(s, snapshot.TypeMemory, "VmRSS")) != 0 || rss < 1<<20 {
		t.Errorf("resident memory %d bytes, or VmRSS counted again", rss)
	}
}

// Ids and names come from what descriptors point at, so a second
// snapshot names the same resources the same way.
func TestTake_StableAcrossSnapshots(t *testing.T) {
	p, _ := startLeaky(t)
	a, err := Take(context.Background(), p.PID(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Send("leak")
	p.Expect("leaked 1")
	b, err := Take(context.Background(), p.PID(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range b.Resources {
		ids[r.ID] = r.Name
	}
	for _, r := range a.Resources {
		if r.Type == snapshot.TypeMemory {
			continue
		}
		// A Go thread idle in the first snapshot may run a leaked,
		// renamed thread in the second: a thread keeps only its id.
		if name, ok := ids[r.ID]; !ok || name != r.Name && r.Type != snapshot.TypeThread {
			t.Errorf("%s (%s) of the first snapshot is not in the second", r.ID, r.Name)
		}
	}
	if got, want := len(byName(b, snapshot.TypeFile, ""))-len(byName(a, snapshot.TypeFile, "")), 5; got != want {
		t.Errorf("files grew by %d, want %d", got, want)
	}
	if got, want := len(byName(b, snapshot.TypeSocket, ""))-len(byName(a, snapshot.TypeSocket, "")), 10; got != want {
		t.Errorf("sockets grew by %d, want %d (5 connections, both ends)", got, want)
	}
	leakThreads := 0
	for _, r := range byName(b, snapshot.TypeThread, "") {
		if r.Owner == "threads/leak-N" {
			leakThreads++
		}
	}
	if leakThreads != 3 {
		t.Errorf("%d threads in group leak-N, want 3", leakThreads)
	}
}

// A process that ends during the read gives no snapshot, only an error.
func TestTake_ExitsDuringRead(t *testing.T) {
	p, _ := startLeaky(t)
	testHook = func(stage string) {
		if stage == "threads" {
			_ = p.Cmd.Process.Kill()
			_ = p.Cmd.Wait()
		}
	}
	defer func() { testHook = nil }()
	s, err := Take(context.Background(), p.PID(), Options{})
	var ee *ExitedError
	if !errors.As(err, &ee) || !ee.During || s != nil {
		t.Fatalf("Take = %v, %v; want no snapshot and an ExitedError", s, err)
	}
	if want := "exited while it was read"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestTake_NoProcess(t *testing.T) {
	needLinux(t)
	_, err := Take(context.Background(), 1<<30, Options{})
	var ee *ExitedError
	if !errors.As(err, &ee) || ee.During || err.Error() != "no process 1073741824" {
		t.Fatalf("err = %v", err)
	}
}

func TestTake_Limits(t *testing.T) {
	p, _ := startLeaky(t)
	_, err := Take(context.Background(), p.PID(), Options{MaxFDs: 5})
	var le *LimitError
	if !errors.As(err, &le) || le.What != "file descriptors" {
		t.Fatalf("err = %v, want a LimitError on file descriptors", err)
	}
	_, err = Take(context.Background(), p.PID(), Options{MaxThreads: 2})
	if !errors.As(err, &le) || le.What != "threads" {
		t.Fatalf("err = %v, want a LimitError on threads", err)
	}
}

// A process of another user: one error naming what is needed.
func TestTake_Permission(t *testing.T) {
	needLinux(t)
	if _, err := os.Readlink("/proc/1/exe"); !errors.Is(err, os.ErrPermission) {
		t.Skip("process 1 can be inspected here: no process to be refused")
	}
	_, err := Take(context.Background(), 1, Options{})
	var pe *PermissionError
	if !errors.As(err, &pe) || !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), "CAP_SYS_PTRACE") {
		t.Fatalf("err = %v", err)
	}
}

// Control characters and newlines reach the snapshot raw.
func TestTake_UntrustedNames(t *testing.T) {
	p, dir := startLeaky(t, "-weird")
	s, err := Take(context.Background(), p.PID(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Components[0].Name != "bad\x1b[31mname" {
		t.Errorf("process name %q, want the raw comm", s.Components[0].Name)
	}
	if len(byName(s, snapshot.TypeFile, filepath.Join(dir, "new\nline\x1b[2J.txt"))) != 1 {
		t.Error("the file whose name holds a newline is missing, or its name was changed")
	}
	if len(byName(s, snapshot.TypeFile, filepath.Join(dir, "\xff.txt"))) != 1 {
		t.Error("the file whose name is not UTF-8 is missing, or its name was changed")
	}
	// Written and read back, ids stay distinct: names that differ only in
	// bytes JSON cannot hold, a file named like a second open of another.
	back, err := snapshot.Decode(strings.NewReader(string(s.AppendJSON(nil))), "proc")
	if err != nil {
		t.Fatalf("the snapshot does not decode: %v", err)
	}
	if len(back.Resources) != len(s.Resources) {
		t.Errorf("%d resources decoded of %d", len(back.Resources), len(s.Resources))
	}
}

func TestParseStat(t *testing.T) {
	st, err := parseStat([]byte("42 (a) (b c) S 7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 12345 1000 10 1 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "a) (b c" || st.state != 'S' || st.ppid != 7 || st.start != 12345 {
		t.Errorf("parseStat = %+v", st)
	}
	for _, bad := range []string{"", "42 (x", "42 (x) S", "42 (x) S y 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

func TestInetAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0000":                         "0.0.0.0:0",
		"00000000000000000000000001000000:0050": "[::1]:80",
		"B80D0120000000000000000001000000:01BB": "[2001:db8::1]:443",
	} {
		got, ok := inetAddr(in)
		if !ok || got != want {
			t.Errorf("inetAddr(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "zz00007F:0050", "0100007F:10000", "01007F:0050"} {
		if _, ok := inetAddr(bad); ok {
			t.Errorf("inetAddr(%q): accepted", bad)
		}
	}
}

func TestParseUnix(t *testing.T) {
	table := "Num       RefCount Protocol Flags    Type St Inode Path\n" +
		"0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/with space.sock\n" +
		"0000000000000000: 00000003 00000000 00000000 0002 03 222\n" +
		"garbage\n"
	out := map[uint64]*sock{}
	parseUnix(table, out)
	if s := out[12345]; s == nil || s.path != "/run/with space.sock" || s.kind != "stream" {
		t.Errorf("12345 = %+v", s)
	}
	if s := out[222]; s == nil || s.path != "" || s.kind != "dgram" {
		t.Errorf("222 = %+v", s)
	}
	if len(out) != 2 {
		t.Errorf("%d sockets, want 2", len(out))
	}
}

func TestThreadGroup(t *testing.T) {
	tabletest.Func(t, "ThreadGroup", ThreadGroup, map[string]string{
		"worker-1": "worker-N", "worker-12": "worker-N", "kworker/0:1": "kworker/N:N",
		"main": "main", "": "", "3": "N", "a1b22c": "aNbNc",
	})
}

func TestParseTarget(t *testing.T) {
	if pid, err := ParseTarget("proc:123"); err != nil || pid != 123 {
		t.Errorf("proc:123 = %d, %v", pid, err)
	}
	for _, bad := range []string{"proc:", "proc:0", "proc:-1", "proc:+5", "proc:abc", "pid:5", "proc:99999999999999999999"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q): no error", bad)
		}
	}
}

// A file named like the second open of another keeps the ids distinct.
func TestIDSet(t *testing.T) {
	s := newIDs(0)
	var got []string
	for _, base := range []string{"x", "x#2", "x", "x", "y"} {
		got = append(got, s.next(base))
	}
	if strings.Join(got, " ") != "x x#2 x#3 x#4 y" {
		t.Errorf("ids %q", got)
	}
}
