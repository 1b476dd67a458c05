package registrytest

import (
	"fmt"
	"os"
	"time"

	"github.com/rescoord/rescoord/pkg/leaks"
)

// Defaults of the retry: goleak's model (check, then back off and check
// again until nothing is left or the retries run out), with a deadline
// instead of a count of attempts, and longer intervals, since a registry's
// cleanup steps (a worker's cancel, quit, wait) take milliseconds where a
// goroutine's exit takes microseconds.
const (
	// DefaultDeadline is how long a check keeps retrying by default.
	DefaultDeadline = time.Second
	// DefaultMaxInterval is the longest wait between two attempts by default.
	DefaultMaxInterval = 100 * time.Millisecond
	// firstInterval is the wait after the first attempt; each next one
	// doubles, up to the maximum interval.
	firstInterval = time.Millisecond
)

// Option configures VerifyNone, Scope and VerifyTestMain.
type Option func(*config)

type config struct {
	failOn      leaks.Severity
	deadline    time.Duration
	maxInterval time.Duration
	parent      string
	// entries are the in-code ignore rules, in the order given.
	entries []leaks.Suppression
	// files are the suppressions files to read, in the order given.
	files []string
	// now is the wall clock for the expiry of suppression entries.
	now func() time.Time
	// attempted, set by tests, hears of each attempt: its number (from 1)
	// and how many findings failed it.
	attempted func(attempt, failing int)
}

func newConfig(opts []Option) *config {
	c := &config{
		failOn:      leaks.SeverityError,
		deadline:    DefaultDeadline,
		maxInterval: DefaultMaxInterval,
		now:         time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// suppressions builds the entries to apply: the in-code ignore rules
// first, then each file's entries in file order. It returns nil when
// there are none.
func (c *config) suppressions() (*leaks.Suppressions, error) {
	if len(c.entries) == 0 && len(c.files) == 0 {
		return nil, nil
	}
	s := &leaks.Suppressions{File: "registrytest options", Entries: append([]leaks.Suppression(nil), c.entries...)}
	for _, path := range c.files {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the suppressions file: %w", err)
		}
		f, err := leaks.ParseSuppressions(data, path)
		if err != nil {
			return nil, fmt.Errorf("invalid suppressions file: %w", err)
		}
		s.Entries = append(s.Entries, f.Entries...)
	}
	return s, nil
}

// FailOn sets the least severity that fails the check: findings at or
// above it fail, those below are only shown alongside. Default:
// leaks.SeverityError, as `rescoord leaks --fail-on error` — a
// running orphan (critical) and an orphaned resource (error) fail, an
// orphaned component (warning) does not. The zero Severity never fails.
func FailOn(s leaks.Severity) Option {
	return func(c *config) { c.failOn = s }
}

// Deadline sets how long a check keeps retrying while findings fail it,
// so that cleanup that finishes asynchronously (a worker that stops after
// the test body returned) does not count as a leak. The first attempt
// runs at once; a check that finds nothing returns at once. Default:
// DefaultDeadline (1 s). Zero or less checks once.
func Deadline(d time.Duration) Option {
	return func(c *config) { c.deadline = max(d, 0) }
}

// MaxRetryInterval sets the longest wait between two attempts: the wait
// starts at 1 ms and doubles after each attempt, up to d. Default:
// DefaultMaxInterval (100 ms). Zero or less keeps the default.
func MaxRetryInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.maxInterval = d
		}
	}
}

// Parent makes Scope register the test's component as a child of the
// alive component id (a fixture the tests share, say): the check still
// covers the test's subtree only, and its traces start at id's root.
// Default: the test's component is a root. VerifyNone and VerifyTestMain
// ignore it.
func Parent(id string) Option {
	return func(c *config) { c.parent = id }
}

// IgnoreRule ignores every finding of the rule with id rule, a glob
// ("running-orphan", "orphaned-*"). Default: no rule is ignored.
func IgnoreRule(rule leaks.Rule) Option {
	return ignore(leaks.Suppression{Rule: string(rule)})
}

// IgnoreName ignores the findings about a resource whose name or id
// matches the glob name (doublestar syntax, as in a suppressions file's
// name key). Default: none.
func IgnoreName(name string) Option {
	return ignore(leaks.Suppression{Name: name})
}

// IgnoreComponent ignores the findings whose component — a resource
// finding's owner — has an id or name that matches the glob component.
// Default: none.
func IgnoreComponent(component string) Option {
	return ignore(leaks.Suppression{Component: component})
}

// IgnoreFrame ignores the findings about a resource any frame of whose
// creation stack matches the glob frame ("player.go:*", "* player.*").
// A Go registry's frames read "dir/file.go:88 pkg.(*Type).Method", the file
// relative to the main module's root and the function's package name; the
// pattern is also matched with the file's base name only. Default: none.
func IgnoreFrame(frame string) Option {
	return ignore(leaks.Suppression{Frame: frame})
}

// Ignore ignores the findings entry matches, with the matching of a
// suppressions file's entry (every pattern given must match; Action
// leaks.ActionReport shows the finding without failing). Default:
// none.
func Ignore(entry leaks.Suppression) Option {
	return ignore(entry)
}

func ignore(e leaks.Suppression) Option {
	return func(c *config) {
		if e.Action == "" {
			e.Action = leaks.ActionIgnore
		}
		if e.Reason == "" {
			e.Reason = "ignored by a registrytest option"
		}
		e.File = "registrytest option"
		e.Line = len(c.entries) + 1
		c.entries = append(c.entries, e)
	}
}

// SuppressionsFile applies the suppressions file at path, read and
// matched as `rescoord leaks --suppressions` does (the file is read when
// the check starts; an unreadable or invalid file fails the test). Its
// entries come after the in-code Ignore options; the first entry that
// matches a finding decides. Several files may be given. Default: none;
// in particular the .rescoord-ignore.yaml the CLI reads from the working
// directory is not read unless named (leaks.DefaultSuppressionsFile).
func SuppressionsFile(path string) Option {
	return func(c *config) { c.files = append(c.files, path) }
}
