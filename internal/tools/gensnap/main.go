// Command gensnap writes a large, deterministic snapshot for benchmarks:
//
//	go run ./internal/tools/gensnap -resources 1000000 -o bench/out/1m.json
//
// Counts default to the proportions of the standard shape (ten resources
// per component, one cleanup per fifty resources; one per five in the deep
// shape). -shape heavy or -shape deep makes the other kinds of registry
// the benchmarks run (see docs/performance.md). An output path ending in
// .gz is gzip-compressed.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rescoord/rescoord/internal/gensnap"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gensnap:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gensnap", flag.ContinueOnError)
	resources := fs.Int("resources", 10_000, "number of resources")
	components := fs.Int("components", -1, "number of components (default resources/10)")
	cleanups := fs.Int("cleanups", -1, "number of cleanup callbacks (default resources/50)")
	seed := fs.Uint64("seed", 1, "random seed: the same flags give the same bytes")
	cycles := fs.Int("cycles", 0, "dependency cycles to add (0 keeps a cleanup plan possible)")
	shapeName := fs.String("shape", "standard", "kind of registry: "+strings.Join(gensnap.Shapes, ", "))
	out := fs.String("o", "-", "output file, - for standard output; .gz compresses")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	shape, ok := gensnap.ParseShape(*shapeName)
	if !ok {
		return fmt.Errorf("unknown -shape %q: want one of %s", *shapeName, strings.Join(gensnap.Shapes, ", "))
	}
	cfg := gensnap.ScaleShape(*resources, shape)
	if *components >= 0 {
		cfg.Components = *components
	}
	if *cleanups >= 0 {
		cfg.Cleanups = *cleanups
	}
	cfg.Seed, cfg.Cycles = *seed, *cycles
	if cfg.Resources < 0 || cfg.Components < 0 || cfg.Cleanups < 0 || cfg.Cycles < 0 {
		return fmt.Errorf("counts must not be negative")
	}

	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var zw *gzip.Writer
	if strings.HasSuffix(*out, ".gz") {
		zw = gzip.NewWriter(bw)
		w = zw
	} else {
		w = bw
	}
	if err := gensnap.Generate(cfg, w); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		return f.Close()
	}
	return nil
}
