package hugemem

import (
	"bufio"
	"fmt"
	"os"
	"strings"
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
