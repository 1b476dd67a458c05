package registry

import (
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/rescoord/rescoord/pkg/coordinator"
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
	frames []string
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
// "file.go:88 pkg.(*Type).Method", without the registry's and the
// coordinators' own frames.
func (s *stack) Frames() []string {
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		frames := runtime.CallersFrames(s.pcs[:s.n])
		for {
			f, more := frames.Next()
			if f.Function != "" && !internalFrame(f.Function) {
				s.frames = append(s.frames, filepath.Base(f.File)+":"+strconv.Itoa(f.Line)+" "+shortFunc(f.Function))
				if len(s.frames) == maxFrames {
					break
				}
			}
			if !more {
				break
			}
		}
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
