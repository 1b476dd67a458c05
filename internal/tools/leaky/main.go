//go:build linux

// Command leaky is a process that holds the resources `--attach proc:PID`
// reads, and leaks more of them on command, for the tests and benchmarks
// of internal/procsnap and cmd (docs/importers.md):
//
//	leaky -dir DIR [-fds N] [-threads N] [-weird]
//
// At start it opens a file in DIR, a TCP listener and a connection to it,
// a UDP socket, a unix socket DIR/leaky.sock, a pipe, an armed timerfd, an
// eventfd, two threads named worker-1 and worker-2 and a child process,
// then prints "ready PID". -fds opens /dev/null N more times and -threads
// starts N more threads (bench-1 …), for benchmarks; -weird names the
// process, files and threads with control characters, a newline and
// bytes that are not UTF-8.
//
// Each line "leak" on standard input leaks 5 files, 5 TCP connections and
// 3 threads more, then prints "leaked N" (N the number of leaks so far).
// End of input ends it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The main goroutine keeps the main thread, whose name is the process's:
// the threads started below must not be it.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		// The child process: lives until its standard input closes.
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		return
	}
	dir := flag.String("dir", "", "directory for the files and the unix socket")
	fds := flag.Int("fds", 0, "open /dev/null this many more times")
	threads := flag.Int("threads", 0, "start this many more threads")
	weird := flag.Bool("weird", false, "control characters in the process name and a file name")
	flag.Parse()
	if err := run(*dir, *fds, *threads, *weird); err != nil {
		fmt.Fprintln(os.Stderr, "leaky:", err)
		os.Exit(2)
	}
}

var keep []any // everything opened stays reachable, so nothing is closed

func run(dir string, fds, threads int, weird bool) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if weird {
		if err := os.WriteFile("/proc/self/comm", []byte("bad\x1b[31mname"), 0); err != nil {
			return err
		}
		// Names that are not UTF-8, and one that looks like a second open.
		for _, name := range []string{"new\nline\x1b[2J.txt", "\xff.txt", "\xfe.txt", "twice.txt", "twice.txt#2", "twice.txt"} {
			f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return err
			}
			keep = append(keep, f)
		}
		thread("w\xff")
		thread("w\xfe")
	}
	f, err := os.Create(filepath.Join(dir, "data.txt"))
	if err != nil {
		return err
	}
	if _, err := f.WriteString("hello"); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The server side of each connection is kept by the main goroutine,
	// which waits for it: "leaked N" is printed only once the process holds
	// both ends of every connection it made.
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	keep = append(keep, <-accepted)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ul, err := net.Listen("unix", filepath.Join(dir, "leaky.sock"))
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err != nil {
		return err
	}
	spec := unix.ItimerSpec{Interval: unix.Timespec{Sec: 60}, Value: unix.Timespec{Sec: 60}}
	if err := unix.TimerfdSettime(tfd, 0, &spec, nil); err != nil {
		return err
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return err
	}
	keep = append(keep, f, ln, conn, udp, ul, pr, pw, tfd, efd)
	for i := 1; i <= 2; i++ {
		thread(fmt.Sprintf("worker-%d", i))
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-child")
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	keep = append(keep, stdin)
	for range fds {
		n, err := os.Open(os.DevNull)
		if err != nil {
			return err
		}
		keep = append(keep, n)
	}
	for i := 1; i <= threads; i++ {
		thread(fmt.Sprintf("bench-%d", i))
	}
	fmt.Printf("ready %d\n", os.Getpid())

	in := bufio.NewScanner(os.Stdin)
	leaks := 0
	for in.Scan() {
		if in.Text() != "leak" {
			continue
		}
		leaks++
		for i := range 5 {
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("leak-%d-%d.txt", leaks, i)))
			if err != nil {
				return err
			}
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return err
			}
			keep = append(keep, f, c, <-accepted)
		}
		for i := range 3 {
			thread(fmt.Sprintf("leak-%d", 3*(leaks-1)+i+1))
		}
		fmt.Printf("leaked %d\n", leaks)
	}
	_ = stdin.Close()
	_ = child.Wait()
	return nil
}

// thread starts an OS thread of its own, named name, that blocks forever;
// it returns once the thread has its name.
func thread(name string) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is this goroutine's
		b := append([]byte(name), 0)
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0)
		close(done)
		select {}
	}()
	<-done
}
