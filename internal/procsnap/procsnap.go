// Package procsnap builds a rescoord/v1 snapshot of a Linux process from
// /proc, without any instrumentation in the process: its threads, file
// descriptors, child processes and memory (docs/importers.md).
//
// Everything read from /proc is untrusted: names and paths are kept raw in
// the snapshot (the human outputs escape them), and every read is bounded.
package procsnap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rescoord/rescoord/internal/safeid"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Options bound and direct a read. The zero value reads the real /proc
// with the default bounds.
type Options struct {
	// Root is the proc file system; default /proc.
	Root string
	// MaxFDs, MaxThreads and MaxChildren bound what is read of the process
	// (defaults DefaultMaxFDs, DefaultMaxThreads, DefaultMaxChildren): a
	// process with more is refused with an error naming the bound.
	MaxFDs, MaxThreads, MaxChildren int
	// Now is the clock of taken_at; default time.Now.
	Now func() time.Time
	// Host names the machine in the snapshot's source; default os.Hostname.
	Host string
}

// Default bounds of a read.
const (
	DefaultMaxFDs      = 1 << 17
	DefaultMaxThreads  = 1 << 15
	DefaultMaxChildren = 4096
	// maxSmallFile bounds stat, status, comm, cmdline, fdinfo and the like.
	maxSmallFile = 64 << 10
	// maxNetTable bounds each of net/tcp, tcp6, udp, udp6 and unix.
	maxNetTable = 64 << 20
	// maxField bounds a string kept from /proc (a cmdline, a path).
	maxField = 4096
	// clockTicks is USER_HZ, the unit of stat's times: 100 on every Linux
	// architecture user space sees (proc(5)).
	clockTicks = 100
)

// ExitedError reports a process that ended, or was never there.
type ExitedError struct {
	PID    int
	During bool // it existed when the read started
}

func (e *ExitedError) Error() string {
	if e.During {
		return fmt.Sprintf("process %d exited while it was read", e.PID)
	}
	return fmt.Sprintf("no process %d", e.PID)
}

// PermissionError reports a process the caller may not inspect.
type PermissionError struct {
	PID  int
	What string
	Err  error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("cannot read the %s of process %d: %v (proc: needs the same user or CAP_SYS_PTRACE)", e.What, e.PID, e.Err)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// LimitError reports a process with more of something than a bound.
type LimitError struct {
	PID   int
	What  string
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("process %d has more than %d %s: refusing to read it", e.PID, e.Limit, e.What)
}

// reader holds the state of one read.
type reader struct {
	ctx  context.Context
	opts Options
	pid  int
	dir  string // Root/PID
	// start is the process's start time in clock ticks, to tell it from a
	// later process with the same pid.
	start uint64
	buf   []byte
}

// ParseTarget reads the PID of a proc:PID attach target.
func ParseTarget(target string) (int, error) {
	s, ok := strings.CutPrefix(target, "proc:")
	if !ok {
		return 0, fmt.Errorf("invalid attach target %q: want proc:PID", target)
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || s[0] == '+' {
		return 0, fmt.Errorf("invalid attach target %q: want proc:PID with a positive process id", target)
	}
	return pid, nil
}

// Take reads process pid and builds its snapshot. The snapshot is whole
// or there is none: a process that exits during the read is an
// ExitedError, one the caller may not inspect a PermissionError.
func Take(ctx context.Context, pid int, opts Options) (*snapshot.Snapshot, error) {
	if opts.Root == "" {
		if runtime.GOOS != "linux" {
			return nil, errors.New("proc: targets read /proc and work only on Linux")
		}
		opts.Root = "/proc"
	}
	if opts.MaxFDs <= 0 {
		opts.MaxFDs = DefaultMaxFDs
	}
	if opts.MaxThreads <= 0 {
		opts.MaxThreads = DefaultMaxThreads
	}
	if opts.MaxChildren <= 0 {
		opts.MaxChildren = DefaultMaxChildren
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	r := &reader{ctx: ctx, opts: opts, pid: pid, dir: filepath.Join(opts.Root, strconv.Itoa(pid))}
	s, err := r.take()
	if err != nil {
		return nil, r.explain(err)
	}
	// Whatever was read is of one process only if it is still the same one.
	if err := r.stillThere(); err != nil {
		return nil, err
	}
	return s, nil
}

// explain turns an error of a read into what it means for the process.
func (r *reader) explain(err error) error {
	var pe *PermissionError
	var le *LimitError
	var ee *ExitedError
	if errors.As(err, &pe) || errors.As(err, &le) || errors.As(err, &ee) || r.ctx.Err() != nil {
		return err
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		if r.start == 0 {
			return &ExitedError{PID: r.pid}
		}
		if e := r.stillThere(); e != nil {
			return e
		}
	}
	return err
}

// stillThere checks the process is the one whose read started.
func (r *reader) stillThere() error {
	st, err := r.stat(r.dir)
	if err != nil || st.start != r.start {
		return &ExitedError{PID: r.pid, During: true}
	}
	return nil
}

// readFile reads a small file whole, at most limit bytes (more is an error).
func (r *reader) readFile(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if cap(r.buf) < 4096 {
		r.buf = make([]byte, 0, 4096)
	}
	b := r.buf[:0]
	for {
		if len(b) == cap(b) {
			if len(b) >= limit {
				return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
			}
			b = slices.Grow(b, min(cap(b), limit-len(b)+1))
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > limit {
			return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	r.buf = b
	return b, nil
}

// procStat is what is read of a stat file (proc(5) /proc/PID/stat).
type procStat struct {
	comm  string
	state byte
	ppid  int
	start uint64
}

// parseStat reads "pid (comm) state ppid … starttime …": comm may hold
// any byte, ")" and spaces included, so the fields start after the last ")".
func parseStat(b []byte) (procStat, error) {
	var st procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, errors.New("malformed stat")
	}
	st.comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
	if len(f) < 20 || len(f[0]) != 1 {
		return st, errors.New("malformed stat")
	}
	st.state = f[0][0]
	var err error
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return st, errors.New("malformed stat")
	}
	if st.start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return st, errors.New("malformed stat")
	}
	return st, nil
}

func (r *reader) stat(dir string) (procStat, error) {
	b, err := r.readFile(dir+"/stat", maxSmallFile)
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return st, fmt.Errorf("%s/stat: %w", dir, err)
	}
	return st, nil
}

// bootTime is the btime line of /proc/stat: the boot time in Unix seconds.
func (r *reader) bootTime() (int64, error) {
	b, err := r.readFile(r.opts.Root+"/stat", 16<<20)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("/proc/stat has no btime line")
}

// bounded keeps at most maxField bytes of a string from /proc.
func bounded(s string) string {
	if len(s) <= maxField {
		return s
	}
	return s[:maxField]
}

// cmdline reads a NUL-separated command line, bounded.
func (r *reader) cmdline(dir string) []string {
	b, err := r.readFile(dir+"/cmdline", maxSmallFile)
	if err != nil || len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	var out []string
	total := 0
	for a := range bytes.SplitSeq(b, []byte{0}) {
		if total += len(a); total > maxField || len(out) == 256 {
			break
		}
		out = append(out, string(a))
	}
	return out
}

// raw marshals metadata; its values are strings and numbers only.
func raw(m map[string]any) snapshot.Metadata {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // only strings, numbers and string slices go in
	}
	return snapshot.NewMetadata(b)
}

func (r *reader) take() (*snapshot.Snapshot, error) {
	st, err := r.stat(r.dir)
	if err != nil {
		return nil, err
	}
	r.start = st.start
	boot, err := r.bootTime()
	if err != nil {
		return nil, err
	}
	started := time.Unix(boot, 0).Add(time.Duration(st.start) * (time.Second / clockTicks)).UTC()
	s := &snapshot.Snapshot{
		Format:  snapshot.FormatV1,
		TakenAt: r.opts.Now().UTC(),
		Source: snapshot.Source{Process: st.comm, PID: int64(r.pid), Host: r.opts.Host,
			Runtime: "linux", Producer: "rescoord proc"},
		Components: []snapshot.Component{},
		Resources:  []snapshot.Resource{},
		Cleanups:   []snapshot.Cleanup{},
	}
	root := snapshot.Component{ID: RootID, Name: st.comm, Type: "process", State: snapshot.StateAlive,
		CreatedAt: started, Labels: map[string]string{"pid": strconv.Itoa(r.pid), "state": string(st.state)}}
	if args := r.cmdline(r.dir); len(args) > 0 {
		root.Labels["cmdline"] = bounded(strings.Join(args, " "))
	}
	s.Components = append(s.Components, root)

	if err := r.threads(s); err != nil {
		return nil, err
	}
	if testHook != nil {
		testHook("threads")
	}
	if err := r.fds(s); err != nil {
		return nil, err
	}
	if err := r.children(s); err != nil {
		return nil, err
	}
	if err := r.memory(s); err != nil {
		return nil, err
	}
	return s, nil
}

// testHook, set by tests, runs between the stages of a read.
var testHook func(stage string)

// RootID is the id of the component that stands for the process.
const RootID = "process"

// ThreadGroup is the component a thread of this name goes under: the
// name with every run of digits replaced by N, so that worker-1 … worker-8
// are one group, worker-N (docs/importers.md).
func ThreadGroup(name string) string {
	var b strings.Builder
	digits := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= '0' && c <= '9' {
			if !digits {
				b.WriteByte('N')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	return b.String()
}

// threads adds a resource per task, under a component per thread group.
func (r *reader) threads(s *snapshot.Snapshot) error {
	names, err := r.list(r.dir+"/task", "threads", r.opts.MaxThreads)
	if err != nil {
		return err
	}
	groups := map[string]bool{}
	for i, tid := range names {
		if i%256 == 0 && r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		tdir := r.dir + "/task/" + strconv.Itoa(tid)
		st, err := r.stat(tdir)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // the thread ended meanwhile
		}
		if err != nil {
			return err
		}
		// comm is the thread's name too, but stat's copy is the same
		// bytes and saves an open.
		name := st.comm
		g := ThreadGroup(name)
		cid := "threads/" + safeid.Escape(g)
		if !groups[g] {
			groups[g] = true
			s.Components = append(s.Components, snapshot.Component{ID: cid, Name: g, Type: "threads",
				Parent: RootID, State: snapshot.StateAlive})
		}
		s.Resources = append(s.Resources, snapshot.Resource{
			ID: "thread/" + strconv.Itoa(tid), Type: snapshot.TypeThread, Owner: cid, Name: name,
			State: snapshot.StateActive, Running: st.state == 'R',
			Metadata: raw(map[string]any{"tid": tid, "state": string(st.state)}),
		})
	}
	return nil
}

// list reads the numeric entries of a directory, sorted, at most limit.
func (r *reader) list(dir, what string, limit int) ([]int, error) {
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, &PermissionError{PID: r.pid, What: what, Err: syscall.EACCES}
		}
		return nil, err
	}
	defer f.Close()
	var out []int
	for {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				continue
			}
			if len(out) == limit {
				return nil, &LimitError{PID: r.pid, What: what, Limit: limit}
			}
			out = append(out, v)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil, &PermissionError{PID: r.pid, What: what, Err: syscall.EACCES}
			}
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

// children adds a process resource per child: from task/*/children when
// the kernel has it, else by the ppid of every process.
func (r *reader) children(s *snapshot.Snapshot) error {
	var pids []int
	tasks, err := r.list(r.dir+"/task", "threads", r.opts.MaxThreads)
	if err != nil {
		return err
	}
	have := true
	for _, tid := range tasks {
		b, err := r.readFile(r.dir+"/task/"+strconv.Itoa(tid)+"/children", maxSmallFile)
		if errors.Is(err, fs.ErrNotExist) && tid == r.pid {
			have = false
			break
		}
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if v, err := strconv.Atoi(f); err == nil {
				pids = append(pids, v)
			}
		}
	}
	if !have {
		all, err := r.list(r.opts.Root, "processes", 1<<22)
		if err != nil {
			return err
		}
		for _, p := range all {
			st, err := r.stat(r.opts.Root + "/" + strconv.Itoa(p))
			if err == nil && st.ppid == r.pid {
				pids = append(pids, p)
			}
		}
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)
	if len(pids) > r.opts.MaxChildren {
		return &LimitError{PID: r.pid, What: "child processes", Limit: r.opts.MaxChildren}
	}
	for _, p := range pids {
		dir := r.opts.Root + "/" + strconv.Itoa(p)
		st, err := r.stat(dir)
		if err != nil || st.ppid != r.pid {
			continue // gone meanwhile, or reaped and the pid reused
		}
		md := map[string]any{"pid": p, "state": string(st.state)}
		if args := r.cmdline(dir); len(args) > 0 {
			md["cmdline"] = args
		}
		s.Resources = append(s.Resources, snapshot.Resource{
			ID: "process/" + strconv.Itoa(p), Type: snapshot.TypeProcess, Owner: RootID, Name: st.comm,
			State: snapshot.StateActive, Running: st.state != 'Z' && st.state != 'X',
			Metadata: raw(md),
		})
	}
	return nil
}

// memory adds the resident memory of status as memory resources, by kind:
// RssAnon (anonymous: the heap, stacks), RssFile (mapped files) and
// RssShmem (shared memory). They add up to VmRSS, so that the process's
// live bytes count each page once.
func (r *reader) memory(s *snapshot.Snapshot) error {
	b, err := r.readFile(r.dir+"/status", maxSmallFile)
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(b)) {
		key, v, ok := strings.Cut(line, ":")
		if !ok || key != "RssAnon" && key != "RssFile" && key != "RssShmem" {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<53 {
			continue
		}
		s.Resources = append(s.Resources, snapshot.Resource{
			ID: "memory/" + key, Type: snapshot.TypeMemory, Owner: RootID, Name: key,
			State: snapshot.StateActive, SizeBytes: kb << 10,
		})
	}
	return nil
}
