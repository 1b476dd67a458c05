package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
)

// The test binary is its own child: TIMEIT_CHILD says what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("TIMEIT_CHILD") {
	case "":
		os.Exit(m.Run())
	case "work":
		// 64 MiB touched, a few hundred ms of CPU, status 3.
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = byte(i)
		}
		n := 0
		for i := range 200_000_000 {
			n += i & int(b[i&(len(b)-1)])
		}
		fmt.Println(n) // stdout: discarded
		os.Exit(3)
	case "signal":
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {}
	}
}

func child(t *testing.T, what string) []string {
	t.Setenv("TIMEIT_CHILD", what)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe}
}

func TestTimeit_FiguresAndStatus(t *testing.T) {
	line, code, err := timeit(child(t, "work"), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var wall, cpu float64
	var rss int
	if n, err := fmt.Sscanf(line, "%f %d %f\n", &wall, &rss, &cpu); n != 3 || err != nil {
		t.Fatalf("line %q: %d fields, %v", line, n, err)
	}
	if code != 3 {
		t.Errorf("exit status %d, want the command's 3", code)
	}
	if rss < 64<<10 {
		t.Errorf("peak RSS %d KiB, but the command touched 64 MiB", rss)
	}
	// One goroutine computes: the CPU time is about the wall, never far
	// above it, and neither is zero.
	if cpu <= 0 || wall <= 0 || cpu > 4*wall {
		t.Errorf("wall %f s, CPU %f s", wall, cpu)
	}
}

func TestTimeit_Signaled(t *testing.T) {
	_, code, err := timeit(child(t, "signal"), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := 128 + int(syscall.SIGTERM); code != want {
		t.Errorf("exit status %d, want %d", code, want)
	}
}

func TestTimeit_CannotRun(t *testing.T) {
	if _, _, err := timeit([]string{t.TempDir() + "/missing"}, nil, io.Discard); err == nil {
		t.Fatal("a missing command ran")
	}
}
