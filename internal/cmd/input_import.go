package cmd

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/rescoord/rescoord/internal/attach"
	"github.com/rescoord/rescoord/internal/goroutines"
	"github.com/rescoord/rescoord/internal/procsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// importer resolves the attach targets that need no instrumentation in
// the process (docs/importers.md): ok is false for any other target.
func (o *AttachOptions) importer(target string) (attachSource, bool, error) {
	switch {
	case strings.HasPrefix(target, "proc:"):
		pid, err := procsnap.ParseTarget(target)
		if err != nil {
			return nil, true, usageError("%v", err)
		}
		return &procSource{pid: pid}, true, nil
	case strings.HasPrefix(target, "pprof:"):
		base, err := goroutines.ParseTarget(target)
		if err != nil {
			return nil, true, usageError("%v", err)
		}
		return &pprofSource{base: base, opts: goroutines.FetchOptions{
			Timeout: o.Timeout, MaxBytes: o.MaxBytes, Label: o.Label}}, true, nil
	}
	return nil, false, nil
}

// noRegistry is what an imported target answers to a registry request.
type noRegistry struct{}

var errNoRegistry = errors.New("not served")

func (noRegistry) Cleanups(context.Context) (*attach.CleanupState, error) {
	return nil, errNoRegistry
}

// Close does nothing: an imported target keeps no connection of its own.
func (noRegistry) Close() {}

// procSource reads a Linux process from /proc.
type procSource struct {
	noRegistry
	pid int
}

func (p *procSource) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	s, err := procsnap.Take(ctx, p.pid, procsnap.Options{})
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	return s, nil
}

// pprofSource reads a Go program's goroutines from net/http/pprof.
type pprofSource struct {
	noRegistry
	base *url.URL
	opts goroutines.FetchOptions
}

func (p *pprofSource) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	s, err := goroutines.Fetch(ctx, p.base, p.opts)
	if err != nil {
		var large *snapshot.TooLargeError
		if errors.As(err, &large) {
			return nil, inputError(err)
		}
		return nil, &exitError{code: ExitError, err: err}
	}
	return s, nil
}
