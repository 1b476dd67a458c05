package registrytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/registry"
)

// ComponentType is the type of the component Scope registers for a test.
const ComponentType = "test"

// VerifyNone fails t when registry r has leaks: findings of the leak rules
// (docs/leaks.md) at or above FailOn's severity (default: error) that no
// Ignore option or suppressions file accepts. While there are, it retries
// with backoff until the Deadline (default 1 s), so that asynchronous
// cleanup can finish; then it reports them all in one t.Error: the text
// report of `rescoord leaks`, each finding with its leak trace. Like
// goleak's VerifyNone it uses t.Error, not t.Fatal: the test goes on, and
// so do its other cleanups and checks.
//
// It checks the whole registry: components still alive are not leaks, what
// outlived a destroyed owner is. With t.Parallel, one test's leaks show in
// every test's VerifyNone of a shared registry; use Scope, which checks only
// the test's own subtree.
//
//	defer registrytest.VerifyNone(t, reg)
func VerifyNone(t testing.TB, r *registry.Registry, opts ...Option) {
	t.Helper()
	if r == nil {
		t.Error("registrytest: VerifyNone: nil registry")
		return
	}
	c := newConfig(opts)
	sup, err := c.suppressions()
	if err != nil {
		t.Error("registrytest: " + escapeLines(err.Error()))
		return
	}
	if res := c.check(r, sup, ""); res != nil {
		t.Error(res.message())
	}
}

// Scope registers a component for test t in registry r — a root, or a
// child of the Parent option's component — and returns its id: t.Name(),
// with "~2", "~3"… appended if a component of that id is alive. Give it to
// the code under test as the owner of what it creates.
//
// When t ends (t.Cleanup), Scope checks that subtree only, as VerifyNone
// checks the registry, with the test's component counting as destroyed
// at that moment: whatever the subtree still holds has outlived its test.
// A resource the test's component owns directly is an orphaned-resource
// (error) or, still running, a running-orphan (critical); a component left
// alive below it is an orphaned-component (warning, which fails with
// FailOn(leaks.SeverityWarning)). Findings about other tests'
// components, and about the registry as a whole (over-global-limit), are
// not this test's. So each t.Parallel test sees its own leaks and no one
// else's.
//
// After the check, Scope destroys the test's component with
// registry.Destroy, so a leak is cleaned up rather than left running into
// the next test; a failing cleanup step is reported (t.Error) when the
// check itself passed. Scope must be called from the test's goroutine: it
// calls t.Fatal when the component cannot be registered (the Parent is
// not alive) or a suppressions file cannot be read.
func Scope(t testing.TB, r *registry.Registry, opts ...Option) string {
	t.Helper()
	if r == nil {
		t.Fatal("registrytest: Scope: nil registry")
		return ""
	}
	c := newConfig(opts)
	sup, err := c.suppressions()
	if err != nil {
		t.Fatal("registrytest: " + escapeLines(err.Error()))
		return ""
	}
	id, err := register(r, t.Name(), c.parent)
	if err != nil {
		t.Fatal("registrytest: registering the test's component: " + escapeLines(err.Error()))
		return ""
	}
	t.Cleanup(func() {
		t.Helper()
		res := c.check(r, sup, id)
		if res != nil {
			t.Error(res.message())
		}
		err := r.Destroy(context.Background(), id)
		if err != nil && res == nil && !errors.Is(err, registry.ErrUnknownComponent) {
			t.Error("registrytest: destroying the test's component " + escapeLines(id+": "+err.Error()))
		}
	})
	return id
}

// register registers the component of the test named name, under parent
// ("" for a root), and returns its id.
func register(r *registry.Registry, name, parent string) (string, error) {
	for n := 1; ; n++ {
		id := name
		if n > 1 {
			id = fmt.Sprintf("%s~%d", name, n)
		}
		err := r.RegisterComponent(id, registry.WithName(name), registry.WithType(ComponentType), registry.WithParent(parent))
		if errors.Is(err, registry.ErrExists) {
			continue
		}
		return id, err
	}
}

// TestingM is what VerifyTestMain needs of *testing.M.
type TestingM interface {
	Run() int
}

// VerifyTestMain runs a package's tests (m.Run) and, when they pass,
// checks registry r as VerifyNone does; leaks are printed to standard
// error and make the exit code 1. It then exits with os.Exit. Use it as
// the whole of TestMain:
//
//	func TestMain(m *testing.M) { registrytest.VerifyTestMain(m, reg) }
//
// This is the one function of the package that prints and exits: it
// stands in for TestMain's own os.Exit(m.Run()), and there is no test to
// fail once the tests are over. As goleak's VerifyTestMain, it does not
// check after failed tests, whose output already says what went wrong. A
// suppressions file that cannot be read (or a nil registry) is reported
// before any test runs, with exit code 2. Parent is ignored.
func VerifyTestMain(m TestingM, r *registry.Registry, opts ...Option) {
	os.Exit(verifyTestMain(m, r, os.Stderr, opts))
}

// verifyTestMain is VerifyTestMain without the exit: it returns the code.
func verifyTestMain(m TestingM, r *registry.Registry, stderr io.Writer, opts []Option) int {
	w := render.SafeWriter(stderr)
	if r == nil {
		fmt.Fprintln(w, "registrytest: VerifyTestMain: nil registry")
		return 2
	}
	c := newConfig(opts)
	sup, err := c.suppressions()
	if err != nil {
		fmt.Fprintf(w, "registrytest: %s\n", escapeLines(err.Error()))
		return 2
	}
	code := m.Run()
	if code != 0 {
		return code
	}
	if res := c.check(r, sup, ""); res != nil {
		fmt.Fprintln(w, res.message())
		return 1
	}
	return 0
}
