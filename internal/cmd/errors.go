package cmd

import (
	"errors"
	"fmt"
)

// Exit codes, for every command (docs/leaks.md).
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// exitError carries an exit code; a silent one prints nothing (the command
// already said what there was to say).
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a bad invocation: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitError, err: fmt.Errorf(format, args...)}
}

// errFindings ends a command that found what --fail-on fails on: exit 1.
var errFindings = &exitError{code: ExitFindings, silent: true}

// errSilent ends a command with exit 2 after it printed its own errors.
var errSilent = &exitError{code: ExitError, silent: true}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}
