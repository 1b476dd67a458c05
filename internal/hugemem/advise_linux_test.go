package hugemem

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestAdviseMarksTheMapping checks that the kernel records the advice on
// the memory of a large slice (the "hg" flag of its mapping in
// /proc/self/smaps), whether or not the system then gives huge pages.
func TestAdviseMarksTheMapping(t *testing.T) {
	s := Make[byte](16 << 20)
	addr := uintptr(unsafe.Pointer(&s[PageSize*3]))
	flags, err := vmFlags(addr)
	if err != nil {
		t.Skipf("cannot read the mappings: %v", err)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("mapping of a 16 MiB slice has flags %q, want hg (MADV_HUGEPAGE)", flags)
	}
}

// TestAdviseStaysInside wants only the huge pages wholly inside an
// allocation advised: the one before its start and the one its end
// straddles also hold other memory, and are left as they are.
func TestAdviseStaysInside(t *testing.T) {
	// A mapping of its own, which nothing else has advised.
	s, err := syscall.Mmap(-1, 0, 16<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skipf("cannot map memory: %v", err)
	}
	defer syscall.Munmap(s)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	q := (base + 2*PageSize) &^ (PageSize - 1) // a huge page boundary inside s, with room before and after
	const small = 4 << 10
	before, after := q-small, q+PageSize
	for _, a := range []uintptr{before, q, after} {
		flags, err := vmFlags(a)
		if err != nil {
			t.Skipf("cannot read the mappings: %v", err)
		}
		if strings.Contains(" "+flags+" ", " hg ") {
			t.Skipf("the memory at %#x is advised already (flags %q)", a, flags)
		}
	}
	// From a small page before the boundary to a small page past the
	// next one: one whole huge page inside.
	Advise(unsafe.Pointer(&s[before-base]), PageSize+2*small)
	for _, c := range []struct {
		addr uintptr
		want bool
	}{{before, false}, {q, true}, {after - small, true}, {after, false}} {
		flags, err := vmFlags(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(" "+flags+" ", " hg "); got != c.want {
			t.Errorf("at %#x (boundary %+d): advised %v, want %v (flags %q)", c.addr, int64(c.addr)-int64(q), got, c.want, flags)
		}
	}
}

// vmFlags returns the VmFlags of the mapping that holds addr.
func vmFlags(addr uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no mapping holds %#x", addr)
}

// TestRelease wants a large slice of numbers to read as zeros once
// released, and its pages out of the process's resident memory; slices
// holding pointers, and small ones, are left as they are.
func TestRelease(t *testing.T) {
	s := Make[uint64](4 << 20) // 32 MiB
	for i := range s {
		s[i] = uint64(i) + 1
	}
	before, ok := residentKiB(t)
	Release(s)
	after, _ := residentKiB(t)
	if ok && before-after < 24<<10 {
		t.Errorf("resident memory %d KiB → %d KiB: want 32 MiB given back", before, after)
	}
	for _, i := range []int{0, 1 << 10, 1 << 20, len(s) - 1} {
		if s[i] != 0 {
			t.Fatalf("released s[%d] = %d, want 0", i, s[i])
		}
	}
	// Still usable, as any slice.
	s[5] = 7
	if s[5] != 7 {
		t.Fatal("a released slice does not keep what is written to it")
	}

	v := 1
	ptrs := Make[*int](1 << 20)
	type pair struct {
		n int
		p *int
	}
	pairs := Make[pair](1 << 18)
	small := []byte{1, 2, 3}
	for i := range ptrs {
		ptrs[i] = &v
	}
	pairs[len(pairs)-1] = pair{n: 2, p: &v}
	Release(ptrs)
	Release(pairs)
	Release(small)
	if ptrs[len(ptrs)/2] != &v || pairs[len(pairs)-1] != (pair{2, &v}) || small[2] != 3 {
		t.Error("Release changed a slice of pointers or a small slice")
	}
}

// residentKiB is the process's VmRSS, in KiB; ok is false (and the test
// checks contents only) where /proc does not give it.
func residentKiB(t *testing.T) (kib int, ok bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, found := strings.CutPrefix(line, "VmRSS:"); found {
			if _, err := fmt.Sscan(rest, &kib); err == nil {
				return kib, true
			}
		}
	}
	t.Log("no VmRSS in /proc/self/status")
	return 0, false
}
