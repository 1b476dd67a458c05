// Command leakygo is a Go program that serves net/http/pprof and leaks
// goroutines on command, for the tests of --attach pprof:URL
// (docs/importers.md):
//
//	leakygo
//
// It prints "listening http://ADDR/debug/pprof/" once it serves. Each line
// "leak" on standard input leaks 3 goroutines labelled handler=/upload
// (pprof.Do) and 2 without labels — each blocked on a channel nothing
// else references — and starts 1 goroutine blocked on a channel that
// stays reachable (not a leak), then prints "leaked N". End of input ends it.
package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/pprof"
)

// parked holds channels that stay reachable: goroutines blocked on them
// are not leaked.
var parked []chan int

func leakLabelled() {
	c := make(chan int)
	go func() { c <- 1 }() // nobody receives, and c is unreachable once we return
}

func leakUnlabelled() {
	c := make(chan int)
	go func() { <-c }()
}

func park() {
	c := make(chan int)
	parked = append(parked, c)
	go func() { <-c }()
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakygo:", err)
		os.Exit(2)
	}
	go func() { _ = http.Serve(ln, nil) }()
	fmt.Printf("listening http://%s/debug/pprof/\n", ln.Addr())
	in := bufio.NewScanner(os.Stdin)
	n := 0
	for in.Scan() {
		if in.Text() != "leak" {
			continue
		}
		n++
		pprof.Do(context.Background(), pprof.Labels("handler", "/upload"), func(context.Context) {
			for range 3 {
				leakLabelled()
			}
		})
		for range 2 {
			leakUnlabelled()
		}
		park()
		fmt.Printf("leaked %d\n", n)
	}
}
