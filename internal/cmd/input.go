package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// InputOptions name a command's snapshot the same way for every command:
// a positional path ("-" for stdin), --demo, or --attach TARGET.
type InputOptions struct {
	Demo   bool
	Attach string
	AttachOptions

	// dropMetadata reads snapshot files without their resources'
	// metadata, for the commands that never show it
	// (snapshot.Options.DropMetadata; docs/performance.md).
	dropMetadata bool
}

// AttachOptions are the flags of a connection to a live process.
type AttachOptions struct {
	Timeout time.Duration
	Token   string
	// AllowUID lists the uids, besides the caller's, whose unix sockets may
	// be attached to (comma-separated).
	AllowUID string
	// MaxBytes bounds the size of a snapshot read (--max-input): a file,
	// standard input, the decompressed bytes of gzip, an attach body.
	MaxBytes int64
	// Label groups the goroutines of a pprof: target by this pprof label
	// (docs/importers.md).
	Label string
}

func (o *InputOptions) addFlags(c *cobra.Command) {
	c.Flags().BoolVar(&o.Demo, "demo", false, "read the sample snapshot built into rescoord (a media app with a few real leaks)")
	c.Flags().StringVar(&o.Attach, "attach", "", "read the snapshot of "+attachTargetHelp)
	o.MaxBytes = snapshot.DefaultMaxBytes
	c.Flags().Var((*sizeFlag)(&o.MaxBytes), "max-input", "refuse a snapshot larger than this once decompressed, such as 512MB or 4GiB")
	o.AttachOptions.addFlags(c)
}

// sizeFlag is a flag holding a size in bytes, given with a unit.
type sizeFlag int64

func (s *sizeFlag) String() string { return render.Bytes(int64(*s)) }
func (s *sizeFlag) Type() string   { return "size" }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	if n <= 0 {
		return fmt.Errorf("invalid size %q: want more than 0 bytes", v)
	}
	*s = sizeFlag(n)
	return nil
}

// addTargetFlags adds --attach, naming the live process into *target, and
// the flags of o: for the commands that only ever attach.
func (o *AttachOptions) addTargetFlags(c *cobra.Command, target *string) {
	c.Flags().StringVar(target, "attach", "", attachTargetHelp)
	o.addFlags(c)
}

// needTarget refuses a command that only ever attaches when --attach is
// missing.
func needTarget(command, target string) error {
	if target == "" {
		return usageError("%s needs --attach TARGET (rescoord ps lists attachable processes)", command)
	}
	return nil
}

// positive refuses a duration flag of zero or less.
func positive(flag string, d time.Duration) error {
	if d <= 0 {
		return usageError("invalid %s %s: want a positive duration", flag, d)
	}
	return nil
}

// attachTargetHelp is the help of --attach: every kind of target it takes.
const attachTargetHelp = "the live process: unix:///path.sock, http://127.0.0.1:6060, pid:1234, a process name from 'rescoord ps', or without instrumentation proc:PID and pprof:http://HOST:PORT/debug/pprof/"

func (o *AttachOptions) addFlags(c *cobra.Command) {
	c.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Second, "with --attach, how long to wait for the process to answer")
	c.Flags().StringVar(&o.Token, "token", "", "with --attach, the bearer token the process requires (default $RESCOORD_TOKEN)")
	c.Flags().StringVar(&o.Label, "label", "", "with --attach pprof:URL, group goroutines by this pprof label (default: the first label key in sorted order)")
	c.Flags().StringVar(&o.AllowUID, "allow-uid", "", "with --attach, also trust a unix socket served by this uid (comma-separated; by default only your own)")
}

// attachSource is what fetch, record, watch and metrics ask of an attach
// target: a registry's endpoint (attach.Client), or a process read
// without instrumentation (proc:PID, pprof:URL: docs/importers.md), which
// serves snapshots only.
type attachSource interface {
	Snapshot(ctx context.Context) (*snapshot.Snapshot, error)
	Cleanups(ctx context.Context) (*attach.CleanupState, error)
	// Close ends the connections kept for the next request.
	Close()
}

// source connects to an attach target for its snapshots: any target,
// those without instrumentation included.
func (o *AttachOptions) source(f *Factory, target string) (attachSource, error) {
	if err := positive("--timeout", o.Timeout); err != nil {
		return nil, err
	}
	if src, ok, err := o.importer(target); ok || err != nil {
		return src, err
	}
	return o.client(f, target)
}

// client connects to the registry an attach target serves. A target
// read without instrumentation has none: a live cleanup and attach-check
// refuse it.
func (o *AttachOptions) client(f *Factory, target string) (*attach.Client, error) {
	if err := positive("--timeout", o.Timeout); err != nil {
		return nil, err
	}
	if _, ok, err := o.importer(target); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return nil, usageError("%s has no registry: this needs a process that embeds pkg/registry (docs/importers.md)", attach.Redact(target))
	}
	allow, err := attach.ParseUIDs(o.AllowUID)
	if err != nil {
		return nil, usageError("--allow-uid: %v", err)
	}
	t, err := attach.Resolve(target, func() ([]discovery.Listed, error) {
		return discovery.List(discovery.Dir(f.Getenv), nil)
	})
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	token := o.Token
	if token == "" {
		token = f.Getenv("RESCOORD_TOKEN")
	}
	return attach.NewClient(t, attach.Options{Timeout: o.Timeout, Token: token, Sleep: f.sleep, MaxBytes: o.MaxBytes, AllowUIDs: allow}), nil
}

// fetch reads the snapshot a live process serves.
func (o *AttachOptions) fetch(ctx context.Context, f *Factory, target string) (*snapshot.Snapshot, error) {
	c, err := o.source(f, target)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s, err := c.Snapshot(ctx)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	return s, nil
}

const inputHelp = "give a snapshot file, - for standard input, --demo for the built-in sample, or --attach TARGET"

// stdinLabel names standard input ("-" on the command line) in what
// rescoord prints.
const stdinLabel = "stdin"

// loaded is one input snapshot and the name it is reported under, with
// its index when it was built while reading (snapshot.LoadIndex).
type loaded struct {
	Snap *snapshot.Snapshot
	Name string
	ix   *snapshot.Index
}

// loadOne reads the single input of a command that takes at most one path.
func (o *InputOptions) loadOne(ctx context.Context, f *Factory, args []string) (*loaded, error) {
	all, err := o.load(ctx, f, args)
	if err != nil {
		return nil, err
	}
	if len(all) > 1 {
		return nil, usageError("this command reads one snapshot, got %d", len(all))
	}
	return all[0], nil
}

// loadIndex is loadOne followed by index: the one snapshot and its index.
func (o *InputOptions) loadIndex(ctx context.Context, f *Factory, args []string) (*loaded, *snapshot.Index, error) {
	in, err := o.loadOne(ctx, f, args)
	if err != nil {
		return nil, nil, err
	}
	ix, err := index(in)
	if err != nil {
		return nil, nil, err
	}
	return in, ix, nil
}

// load reads every input named: paths in order, or the demo, or the attach
// target. ctx, the command's, ends reading and parsing (Ctrl-C).
func (o *InputOptions) load(ctx context.Context, f *Factory, args []string) ([]*loaded, error) {
	sources := len(args)
	if o.Demo {
		sources++
	}
	if o.Attach != "" {
		sources++
	}
	switch {
	case sources == 0:
		return nil, usageError("no input: %s", inputHelp)
	case len(args) > 0 && (o.Demo || o.Attach != "") || o.Demo && o.Attach != "":
		return nil, usageError("too many inputs: give snapshot paths, --demo or --attach, not several")
	}
	if o.Demo {
		ix, err := snapshot.DecodeIndex(ctx, bytes.NewReader(f.Demo), "demo", snapshot.Options{})
		if err != nil {
			return nil, fmt.Errorf("the built-in demo is broken: %w", err)
		}
		return []*loaded{{Snap: ix.Snap, Name: "demo", ix: ix}}, nil
	}
	if o.Attach != "" {
		s, err := o.fetch(ctx, f, o.Attach)
		if err != nil {
			return nil, err
		}
		return []*loaded{{Snap: s, Name: attach.Redact(o.Attach)}}, nil
	}
	read := snapshot.Options{MaxBytes: o.MaxBytes, DropMetadata: o.dropMetadata}
	out := make([]*loaded, 0, len(args))
	stdin := false
	for _, p := range args {
		var ix *snapshot.Index
		var err error
		if p == "-" {
			if stdin {
				return nil, usageError("standard input (-) can be read only once")
			}
			stdin = true
			if f.IO.InTTY {
				// Nothing is piped in: say what rescoord waits for.
				fmt.Fprintln(f.IO.ErrOut, "rescoord: reading a snapshot from standard input (end it with Ctrl-D)")
			}
			ix, err = snapshot.DecodeIndex(ctx, f.IO.In, stdinLabel, read)
		} else {
			ix, err = snapshot.LoadIndex(ctx, p, read)
		}
		if err != nil {
			return nil, inputError(err)
		}
		name := p
		if p == "-" {
			name = stdinLabel
		}
		out = append(out, &loaded{Snap: ix.Snap, Name: name, ix: ix})
	}
	return out, nil
}

// loadPath reads one more snapshot file (a baseline) with the same limits
// as the command's inputs.
func (o *InputOptions) loadPath(ctx context.Context, f *Factory, path string) (*loaded, error) {
	in := &InputOptions{AttachOptions: AttachOptions{MaxBytes: o.MaxBytes}, dropMetadata: o.dropMetadata}
	return in.loadOne(ctx, f, []string{path})
}

// inputError makes a failed read an exit-2 error with a readable message.
func inputError(err error) error {
	var large *snapshot.TooLargeError
	if errors.As(err, &large) {
		return &exitError{code: ExitError, err: fmt.Errorf("%w: raise --max-input to read it", err)}
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &exitError{code: ExitError, err: fmt.Errorf("cannot read %s: %w", pe.Path, pe.Err)}
	}
	return &exitError{code: ExitError, err: err}
}

// index returns the shared index of a snapshot, built while it was read
// or now; a failure is an input error.
func index(in *loaded) (*snapshot.Index, error) {
	if in.ix != nil && in.ix.Snap == in.Snap {
		return in.ix, nil
	}
	ix, err := snapshot.NewIndex(in.Snap)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("%s: %w", in.Name, err)}
	}
	return ix, nil
}
