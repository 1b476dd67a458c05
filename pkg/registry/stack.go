package registry

import (
	"bufio"
	"os"
	"path"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// stackDepth is how many program counters a creation stack keeps before
// the registry's and coordinators' own frames are dropped.
const stackDepth = 16

// maxFrames is how many frames a snapshot shows per stack.
const maxFrames = 8

// maxStacks bounds the cache of distinct stacks; past it, stacks are
// still captured but not shared.
const maxStacks = 1 << 16

type stackKey [stackDepth]uintptr

// stack is a captured creation stack, shared by every resource created at
// the same place. Its frames are symbolized once, on first use.
type stack struct {
	pcs    stackKey
	n      int
	once   sync.Once
	frames snapshot.Stack
}

// captureStack records the caller's stack, skipping skip frames (0 is
// runtime.Callers itself). Stacks are shared through a lock-free cache
// keyed by a hash of their program counters.
func (r *Registry) captureStack(skip int) *stack {
	var k stackKey
	n := runtime.Callers(skip, k[:])
	h := uint64(14695981039346656037)
	for _, pc := range k[:n] {
		h = (h ^ uint64(pc)) * 1099511628211
	}
	if v, ok := r.stackCache.Load(h); ok {
		if s := v.(*stack); s.pcs == k {
			return s
		}
		return &stack{pcs: k, n: n} // a hash collision: not shared
	}
	s := &stack{pcs: k, n: n}
	if r.stackCount.Load() >= maxStacks {
		return s
	}
	if v, loaded := r.stackCache.LoadOrStore(h, s); loaded {
		if old := v.(*stack); old.pcs == k {
			return old
		}
	} else {
		r.stackCount.Add(1)
	}
	return s
}

// Frames returns the stack as snapshot frames, innermost first:
// "dir/file.go:88 pkg.(*Type).Method", without the registry's and the
// coordinators' own frames. Files of the main module are relative to its
// root, as go build -trimpath shows them without the module path
// ("examples/mediaapp/main.go:154"); others keep their full path
// (docs/library.md, "Creation stacks").
func (s *stack) Frames() snapshot.Stack {
	if s == nil {
		return snapshot.Stack{}
	}
	s.once.Do(func() {
		var out []string
		frames := runtime.CallersFrames(s.pcs[:s.n])
		for {
			f, more := frames.Next()
			if f.Function != "" && !internalFrame(f.Function) {
				out = append(out, frameFile(f.File, f.Function)+":"+strconv.Itoa(f.Line)+" "+shortFunc(f.Function))
				if len(out) == maxFrames {
					break
				}
			}
			if !more {
				break
			}
		}
		s.frames = snapshot.NewStack(out...)
	})
	return s.frames
}

// Package prefixes of the frames a creation stack leaves out.
var (
	registryPrefix    = pkgPrefix(reflect.ValueOf(New).Pointer())
	coordinatorPrefix = pkgPrefix(reflect.ValueOf(coordinator.StopWorker).Pointer())
)

// pkgPrefix is "import/path." for the function at pc.
func pkgPrefix(pc uintptr) string {
	name := runtime.FuncForPC(pc).Name()
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	return name[:slash+1+dot+1]
}

func internalFrame(fn string) bool {
	return strings.HasPrefix(fn, registryPrefix) || strings.HasPrefix(fn, coordinatorPrefix) ||
		strings.HasPrefix(fn, "runtime.")
}

// shortFunc drops the import path's directories: "ui.(*Tab).Start".
func shortFunc(fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

// modulePath is the main module's path, "" when the binary has no build
// information (or "command-line-arguments": go run of loose files).
var modulePath = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path != "command-line-arguments" {
		return bi.Main.Path
	}
	return ""
}()

// moduleDir is the main module's root directory on the build machine
// (a binary built without -trimpath records absolute paths), once known.
var moduleDir atomic.Pointer[string]

// checkedDirs are the directories already searched for the main module's
// go.mod, so that each is read at most once.
var checkedDirs sync.Map

// frameFile is file relative to the main module's root when it is one of
// the module's, else file unchanged.
func frameFile(file, fn string) string {
	if modulePath == "" {
		return file
	}
	if rest, ok := strings.CutPrefix(file, modulePath+"/"); ok {
		return rest // -trimpath: the module path stands for the root
	}
	if !path.IsAbs(file) && !strings.Contains(file, ":/") {
		return file
	}
	dir := moduleDir.Load()
	if dir == nil {
		learnModuleDir(file, fn)
		dir = moduleDir.Load()
	}
	if dir != nil {
		if rest, ok := strings.CutPrefix(file, *dir+"/"); ok {
			return rest
		}
	}
	return file
}

// learnModuleDir finds the main module's root from a frame: from the
// function's import path when it is a package of the module (its file is
// then under root/package-dir), else from a go.mod naming the module in
// the file's directory or one above it.
func learnModuleDir(file, fn string) {
	pkg := strings.TrimSuffix(strings.TrimSuffix(pkgPrefixOf(fn), "."), "_test")
	dir := path.Dir(file)
	if rel, ok := strings.CutPrefix(pkg, modulePath); ok && (rel == "" || rel[0] == '/') {
		if root, ok := strings.CutSuffix(dir, rel); ok {
			moduleDir.CompareAndSwap(nil, &root)
		}
		return
	}
	for d := dir; ; d = path.Dir(d) {
		if _, seen := checkedDirs.LoadOrStore(d, true); seen {
			return
		}
		if goModNames(path.Join(d, "go.mod"), modulePath) {
			moduleDir.CompareAndSwap(nil, &d)
			return
		}
		if d == path.Dir(d) {
			return
		}
	}
}

// goModNames reports whether the go.mod file at p declares module mod.
func goModNames(p, mod string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == mod
		}
	}
	return false
}

// pkgPrefixOf is "import/path." of a function name ("" for none).
func pkgPrefixOf(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return fn[:slash+1+dot+1]
}
