// Command timeit runs a command once, its standard output discarded, and
// writes to a file one line: its wall-clock time in seconds, to the
// microsecond, its peak resident set in KiB and its CPU time (user +
// system) in seconds. bench/run.sh times every approach with it: GNU
// time's wall is rounded to 10 ms, an eighth of a `validate` of 100k
// resources, which made the growth from 100k to 1M mostly rounding
// (docs/performance.md, "Running the benchmark").
//
//	timeit -o TIMES COMMAND [ARG...]
//
// It exits with the command's status (128 + the signal's number when a
// signal ended it), or 2 when the command cannot be run.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/rescoord/rescoord/internal/atomicfile"
)

func main() {
	if len(os.Args) < 4 || os.Args[1] != "-o" {
		fmt.Fprintln(os.Stderr, "usage: timeit -o TIMES COMMAND [ARG...]")
		os.Exit(2)
	}
	// Ctrl-C reaches the command too (one process group): timeit waits
	// for it to end rather than leaving it behind.
	// (Caught, not ignored: an ignored signal would stay ignored in the
	// command.)
	signal.Notify(make(chan os.Signal, 1), os.Interrupt, syscall.SIGQUIT)
	line, code, err := timeit(os.Args[3:], os.Stdin, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "timeit:", err)
		os.Exit(2)
	}
	err = atomicfile.Write(os.Args[2], 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, line)
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "timeit:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// timeit runs argv and returns its figures as one line, and its exit
// status; err when it could not be run or measured.
func timeit(argv []string, stdin io.Reader, stderr io.Writer) (line string, code int, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, nil, stderr // stdout to /dev/null
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return "", 0, err
	}
	ps := cmd.ProcessState
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return "", 0, errors.New("no resource usage for the command")
	}
	code = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// Linux gives ru_maxrss in KiB.
	return fmt.Sprintf("%.6f %d %.6f\n", wall.Seconds(), ru.Maxrss, cpu.Seconds()), code, nil
}
