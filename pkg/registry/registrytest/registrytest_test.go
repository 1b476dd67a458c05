package registrytest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
)

// fakeTB records failures instead of failing. It embeds a real testing.TB
// for everything else; with manual set, it also has its own name and
// keeps its cleanups for the test to run (runCleanups).
type fakeTB struct {
	testing.TB
	manual bool
	name   string

	mu       sync.Mutex
	errors   []string
	fatals   []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Error(args ...any) { f.record(&f.errors, fmt.Sprint(args...)) }

func (f *fakeTB) Errorf(format string, args ...any) {
	f.record(&f.errors, fmt.Sprintf(format, args...))
}

// Fatal and Fatalf record, and do not stop the caller: the code under
// test returns after calling them.
func (f *fakeTB) Fatal(args ...any) { f.record(&f.fatals, fmt.Sprint(args...)) }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(&f.fatals, fmt.Sprintf(format, args...))
}

func (f *fakeTB) record(to *[]string, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*to = append(*to, msg)
}

func (f *fakeTB) Name() string {
	if f.manual {
		return f.name
	}
	return f.TB.Name()
}

func (f *fakeTB) Cleanup(fn func()) {
	if !f.manual {
		f.TB.Cleanup(fn)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runCleanups runs the cleanups of a manual fake, last registered first,
// as testing does.
func (f *fakeTB) runCleanups() {
	f.mu.Lock()
	cs := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for _, fn := range slices.Backward(cs) {
		fn()
	}
}

func (f *fakeTB) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(slices.Clone(f.errors), f.fatals...)
}

func manual(t *testing.T, name string) *fakeTB { return &fakeTB{TB: t, manual: true, name: name} }

// fast keeps a failing check short.
var fast = []Option{Deadline(20 * time.Millisecond), MaxRetryInterval(5 * time.Millisecond)}

func opts(extra ...Option) []Option { return append(slices.Clone(fast), extra...) }

// track tracks a plain value named name, owned by owner.
func track(t *testing.T, r *registry.Registry, owner, name string) *registry.Handle {
	t.Helper()
	h, err := r.Track(owner, new(int), registry.WithName(name))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// stuck tracks a resource of a new component id whose release blocks
// until release is called or the test ends, then destroys the component:
// the registry gives up on the step (1 ms timeout, no grace) and the
// resource is left releasing, an orphan of a destroyed owner, until then.
func stuck(t *testing.T, r *registry.Registry, id, name string) (release func()) {
	t.Helper()
	unblock := make(chan struct{})
	release = sync.OnceFunc(func() { close(unblock) })
	t.Cleanup(release)
	if err := r.RegisterComponent(id); err != nil {
		t.Fatal(err)
	}
	_, err := r.Track(id, nil, registry.WithName(name), registry.WithTimeout(time.Millisecond),
		registry.WithCleanup(func(context.Context) error { <-unblock; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Destroy(context.Background(), id); err == nil {
		t.Fatal("Destroy: the stuck release did not time out")
	}
	return release
}

// Parallel subtests share one registry; exactly one leaks, and only that
// one fails. The leak is tracked before t.Parallel and stays live until
// every other subtest has been checked, so each check runs while it is
// there to be seen.
//
// The registry also holds a real orphan from outside the subtests (a
// destroyed component's resource whose release is stuck), which a check of
// the whole registry, as goleak's, would blame on every one of them.
func TestScope_ParallelSubtests_OnlyTheLeakyOneFails(t *testing.T) {
	r := registry.New(registry.WithGrace(0))
	stuck(t, r, "earlier", "earlier-leak")
	clean := []string{"a", "b", "c"}
	var checked sync.WaitGroup
	checked.Add(len(clean))
	fakes := map[string]*fakeTB{}
	var mu sync.Mutex
	fake := func(t *testing.T) *fakeTB {
		f := &fakeTB{TB: t}
		mu.Lock()
		fakes[t.Name()] = f
		mu.Unlock()
		return f
	}
	// With -parallel 1 the leaky subtest cannot wait for the others.
	wait := flag.Lookup("test.parallel").Value.String() != "1"
	t.Run("group", func(t *testing.T) {
		t.Run("leaky", func(t *testing.T) {
			id := Scope(fake(t), r, fast...)
			track(t, r, id, "forgotten-conn")
			t.Parallel()
			if wait {
				checked.Wait()
			}
		})
		for _, name := range clean {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				t.Cleanup(checked.Done) // runs after Scope's check
				id := Scope(fake(t), r, fast...)
				h := track(t, r, id, "conn-"+name)
				if err := h.Release(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
	for name, f := range fakes {
		got := f.failures()
		switch {
		case strings.HasSuffix(name, "/leaky"):
			if len(got) != 1 || !strings.Contains(got[0], `"forgotten-conn"`) {
				t.Errorf("%s: failures = %q, want one naming forgotten-conn", name, got)
			}
		case len(got) != 0:
			t.Errorf("%s: failures = %q, want none: another test's leak was blamed on it", name, got)
		}
	}
	if len(fakes) != 4 {
		t.Errorf("%d subtests ran, want 4", len(fakes))
	}
	if live := r.Stats().Live; live != 1 {
		t.Errorf("after the subtests, %d live resources, want 1 (the earlier leak): Scope destroys the test's component", live)
	}
}

// The checks of several scopes run at once, each while the others' leaks
// are live: each reports its own and no one else's.
// A real orphan outside every scope is no scope's leak either.
func TestScope_ConcurrentChecks_EachSeesOnlyItsSubtree(t *testing.T) {
	r := registry.New(registry.WithGrace(0))
	stuck(t, r, "earlier", "earlier-leak")
	names := []string{"Test/x", "Test/leaky", "Test/y", "Test/leaky2"}
	fakes := make([]*fakeTB, len(names))
	for i, name := range names {
		fakes[i] = manual(t, name)
		id := Scope(fakes[i], r, fast...)
		if id != name {
			t.Fatalf("Scope id = %q, want the test's name %q", id, name)
		}
		h := track(t, r, id, "res-of-"+name)
		if !strings.Contains(name, "leaky") {
			if err := h.Release(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for _, f := range fakes {
		wg.Go(f.runCleanups)
	}
	wg.Wait()
	for i, name := range names {
		got := fakes[i].failures()
		if !strings.Contains(name, "leaky") {
			if len(got) != 0 {
				t.Errorf("%s: failures = %q, want none", name, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: failures = %q, want one", name, got)
		}
		if strings.Contains(got[0], "earlier-leak") {
			t.Errorf("%s: the report blames the earlier leak:\n%s", name, got[0])
		}
		for _, other := range names {
			mentions := strings.Contains(got[0], `"res-of-`+other+`"`)
			if mentions != (other == name) {
				t.Errorf("%s: report mentions res-of-%s: %v, want %v:\n%s", name, other, mentions, other == name, got[0])
			}
		}
	}
}

// A resource released by a goroutine after the test body has ended —
// it waits on a channel closed by a cleanup that runs before Scope's,
// then on the first failed attempt — does not fail the test: the check
// retries. With no retry (Deadline(0)), the same leak fails.
func TestScope_AsyncCleanupWithinTheDeadlinePasses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		fails    bool
	}{
		{"retried", 10 * time.Second, false},
		{"no retry", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := registry.New()
			f := manual(t, "TestAsync")
			firstFailed := make(chan struct{})
			var once sync.Once
			var attempts atomic.Int32
			hook := func(c *config) {
				c.attempted = func(n, failing int) {
					attempts.Store(int32(n))
					if failing > 0 {
						once.Do(func() { close(firstFailed) })
					}
				}
			}
			id := Scope(f, r, Deadline(tc.deadline), hook)
			h := track(t, r, id, "async-conn")
			ended := make(chan struct{})
			f.Cleanup(func() { close(ended) }) // registered after Scope: runs before its check
			done := make(chan error, 1)
			go func() {
				<-ended
				<-firstFailed
				done <- h.Release(context.Background())
			}()
			f.runCleanups()
			select {
			case <-firstFailed:
			default:
				t.Fatal("the first attempt did not see the resource")
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := f.failures()
			if fails := len(got) > 0; fails != tc.fails {
				t.Fatalf("failed: %v, want %v (%d attempts): %q", fails, tc.fails, attempts.Load(), got)
			}
			if !tc.fails && attempts.Load() < 2 {
				t.Errorf("%d attempts, want a retry after the failed first", attempts.Load())
			}
		})
	}
}

// A real leak fails once the deadline has passed, after retrying, with
// the leak trace of `rescoord leaks`: the test's component marked ended,
// the resource, and where it was created.
func TestScope_RealLeakFailsAfterTheDeadline(t *testing.T) {
	r := registry.New()
	_ = r.RegisterComponent("app", registry.WithType("app"))
	f := manual(t, "TestLeak")
	var attempts int
	hook := func(c *config) { c.attempted = func(n, _ int) { attempts = n } }
	start := time.Now()
	id := Scope(f, r, append(opts(Parent("app")), hook)...)
	track(t, r, id, "leaked-conn")
	f.runCleanups()
	elapsed := time.Since(start)
	got := f.failures()
	if len(got) != 1 {
		t.Fatalf("failures = %q, want one", got)
	}
	if attempts < 2 || elapsed < 20*time.Millisecond {
		t.Errorf("%d attempts over %s, want retries until the 20ms deadline", attempts, elapsed)
	}
	for _, want := range []string{
		"registrytest: 1 leak in the subtree of test component TestLeak (",
		"ERROR    orphaned-resource ×1 · custom \"leaked-conn\" of TestLeak",
		"  leak trace:\n    app (app)  alive\n    └─ TestLeak (test)  destroyed ",
		"       └─ leaked-conn (custom, r-1)  active",
		"  created by:\n    pkg/registry/registrytest/registrytest_test.go:",
		"fails on error: FAIL (1 finding)",
	} {
		if !strings.Contains(got[0], want) {
			t.Errorf("the failure lacks %q:\n%s", want, got[0])
		}
	}
	if strings.Contains(got[0], "\x1b") {
		t.Errorf("the failure is styled:\n%q", got[0])
	}
	if live := r.Stats().Live; live != 0 {
		t.Errorf("%d live resources after the check, want 0: Scope destroys what leaked", live)
	}
}

// The default deadline and backoff, in a synctest bubble whose clock only
// moves when every goroutine waits: a leak is retried for DefaultDeadline,
// the waits doubling from 1 ms up to DefaultMaxInterval.
func TestVerifyNone_DefaultRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := registry.New(registry.WithGrace(0))
		stuck(t, r, "gone", "stuck")
		var at []time.Duration
		start := time.Now()
		f := manual(t, "TestDefault")
		VerifyNone(f, r, func(c *config) {
			c.attempted = func(int, int) { at = append(at, time.Since(start)) }
		})
		if len(f.failures()) != 1 {
			t.Fatalf("failures = %q, want one", f.failures())
		}
		if total := time.Since(start); total != DefaultDeadline {
			t.Errorf("retried for %s, want DefaultDeadline %s", total, DefaultDeadline)
		}
		want := time.Duration(0)
		var wants []time.Duration
		for wait := time.Millisecond; want < DefaultDeadline; wait *= 2 {
			wants = append(wants, want)
			want = min(want+min(wait, DefaultMaxInterval), DefaultDeadline)
		}
		wants = append(wants, DefaultDeadline)
		if !slices.Equal(at, wants) {
			t.Errorf("attempts at %v, want %v", at, wants)
		}
	})
}

// VerifyNone checks the whole registry: a resource left behind by a
// destroyed component fails it (with t.Error, so the test goes on), one
// whose release finishes fails it no more.
func TestVerifyNone_OrphanFailsUntilReleased(t *testing.T) {
	r := registry.New(registry.WithGrace(0))
	_ = r.RegisterComponent("alive")
	track(t, r, "alive", "kept") // an alive owner's resource is no leak
	release := stuck(t, r, "tab", "decoder")

	f := manual(t, "TestVerifyNone")
	VerifyNone(f, r, fast...)
	got := f.failures()
	if len(got) != 1 || !strings.Contains(got[0], `orphaned-resource ×1 · custom "decoder" of tab`) || strings.Contains(got[0], `"kept"`) {
		t.Fatalf("failures = %q, want one about decoder alone", got)
	}
	if len(f.fatals) != 0 {
		t.Errorf("VerifyNone called Fatal: %q", f.fatals)
	}

	release()
	f = manual(t, "TestVerifyNone")
	VerifyNone(f, r, Deadline(10*time.Second))
	if got := f.failures(); len(got) != 0 {
		t.Errorf("after the release: failures = %q, want none", got)
	}
}

// What the ignore options and a suppressions file accept does not fail;
// an action-report entry shows the finding without failing.
func TestOptions_Ignore(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ignore.yaml")
	if err := os.WriteFile(file, []byte(`suppressions:
  - name: "pooled-*"
    reason: the pool outlives the test by design
  - name: "vendored"
    action: report
    reason: third-party code
  - name: "expired-*"
    expires: 2020-01-31
    reason: was fixed long ago
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		opts  []Option
		leak  string
		fails bool
	}{
		{"not ignored", nil, "conn", true},
		{"by name", []Option{IgnoreName("co*")}, "conn", false},
		{"by another name", []Option{IgnoreName("other")}, "conn", true},
		{"by rule", []Option{IgnoreRule(leaks.RuleOrphanedResource)}, "conn", false},
		{"by rule glob", []Option{IgnoreRule("orphaned-*")}, "conn", false},
		{"by component", []Option{IgnoreComponent("Test*")}, "conn", false},
		{"by frame", []Option{IgnoreFrame("registrytest_test.go:* *TestOptions_Ignore*")}, "conn", false},
		{"by function", []Option{IgnoreFrame("* registrytest.track")}, "conn", false},
		{"by file of frame", []Option{IgnoreFrame("registrytest_test.go:*")}, "conn", false},
		{"by another frame", []Option{IgnoreFrame("vendor/**")}, "conn", true},
		{"by file", []Option{SuppressionsFile(file)}, "pooled-conn", false},
		{"reported by file", []Option{SuppressionsFile(file)}, "vendored", false},
		{"expired in file", []Option{SuppressionsFile(file)}, "expired-conn", true},
		{"not in file", []Option{SuppressionsFile(file)}, "conn", true},
		{"below fail-on", []Option{FailOn(leaks.SeverityCritical)}, "conn", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := registry.New()
			f := manual(t, "TestIgnore")
			id := Scope(f, r, opts(tc.opts...)...)
			track(t, r, id, tc.leak)
			f.runCleanups()
			got := f.failures()
			if fails := len(got) > 0; fails != tc.fails {
				t.Fatalf("failed: %v, want %v: %q", fails, tc.fails, got)
			}
			if tc.fails && !strings.Contains(got[0], `"`+tc.leak+`"`) {
				t.Errorf("the failure does not name %s:\n%s", tc.leak, got[0])
			}
		})
	}
}

// An action-report entry's finding is shown in the failure another finding
// causes, marked as not failing.
func TestOptions_ReportedFindingShownNotFailing(t *testing.T) {
	r := registry.New()
	f := manual(t, "TestReported")
	id := Scope(f, r, opts(Ignore(leaks.Suppression{Name: "vendored", Action: leaks.ActionReport, Reason: "third-party"}))...)
	track(t, r, id, "vendored")
	track(t, r, id, "mine")
	f.runCleanups()
	got := f.failures()
	if len(got) != 1 {
		t.Fatalf("failures = %q, want one", got)
	}
	for _, want := range []string{
		"registrytest: 1 leak in",
		`custom "mine" of TestReported`,
		`custom "vendored" of TestReported`,
		"reported, not failing: suppressed with action report at registrytest option:1 (third-party)",
	} {
		if !strings.Contains(got[0], want) {
			t.Errorf("the failure lacks %q:\n%s", want, got[0])
		}
	}
}

// A component left alive below the test's is a warning: it fails with
// FailOn(warning) only.
func TestScope_AliveChildIsAWarning(t *testing.T) {
	for _, tc := range []struct {
		opts  []Option
		fails bool
	}{{nil, false}, {[]Option{FailOn(leaks.SeverityWarning)}, true}} {
		r := registry.New()
		f := manual(t, "TestChild")
		id := Scope(f, r, opts(tc.opts...)...)
		if err := r.RegisterComponent("tab", registry.WithParent(id)); err != nil {
			t.Fatal(err)
		}
		f.runCleanups()
		got := f.failures()
		if fails := len(got) > 0; fails != tc.fails {
			t.Fatalf("with %d options: failed %v, want %v: %q", len(tc.opts), fails, tc.fails, got)
		}
		if tc.fails && !strings.Contains(got[0], "WARNING  orphaned-component ×1 · tab") {
			t.Errorf("the failure lacks the orphaned component:\n%s", got[0])
		}
	}
}

// Bad options stop the test at Scope (Fatal), and fail VerifyNone (Error)
// without a check.
func TestOptions_BadInput(t *testing.T) {
	r := registry.New()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	testfs.WriteFile(t, bad, []byte("suppressions:\n  - name: x\n  - name: y\n"), 0o600)
	f := manual(t, "TestBad")
	// Every error keeps its own line.
	if id := Scope(f, r, SuppressionsFile(bad)); id != "" || len(f.fatals) != 1 ||
		!strings.Contains(f.fatals[0], "bad.yaml:2: entry has no reason") ||
		!strings.Contains(f.fatals[0], "\n"+bad+":3: entry has no reason") {
		t.Errorf("Scope with a bad file: id %q, fatals %q", id, f.fatals)
	}
	f = manual(t, "TestBad")
	if id := Scope(f, r, Parent("nowhere")); id != "" || len(f.fatals) != 1 || !strings.Contains(f.fatals[0], `parent "nowhere": unknown component`) {
		t.Errorf("Scope under a missing parent: id %q, fatals %q", id, f.fatals)
	}
	f = manual(t, "TestBad")
	if id := Scope(f, nil); id != "" || len(f.fatals) != 1 || !strings.Contains(f.fatals[0], "nil registry") {
		t.Errorf("Scope of a nil registry: id %q, fatals %q", id, f.fatals)
	}
	f = manual(t, "TestBad")
	VerifyNone(f, nil)
	if len(f.errors) != 1 || !strings.Contains(f.errors[0], "nil registry") {
		t.Errorf("VerifyNone of a nil registry: errors %q", f.errors)
	}
	f = manual(t, "TestBad")
	VerifyNone(f, r, SuppressionsFile(filepath.Join(t.TempDir(), "missing.yaml")))
	if len(f.errors) != 1 || len(f.fatals) != 0 || !strings.Contains(f.errors[0], "reading the suppressions file") {
		t.Errorf("VerifyNone with a missing file: errors %q, fatals %q", f.errors, f.fatals)
	}
}

// Scope's ids are unique: a second scope of the same test gets "~2".
func TestScope_UniqueIDs(t *testing.T) {
	r := registry.New()
	f := manual(t, "TestTwice")
	a, b := Scope(f, r), Scope(f, r)
	if a != "TestTwice" || b != "TestTwice~2" {
		t.Errorf("ids %q, %q; want TestTwice, TestTwice~2", a, b)
	}
	f.runCleanups()
	if got := f.failures(); len(got) != 0 {
		t.Errorf("failures = %q", got)
	}
}

type fakeM struct {
	code int
	run  func()
	ran  bool
}

func (m *fakeM) Run() int {
	m.ran = true
	if m.run != nil {
		m.run()
	}
	return m.code
}

// VerifyTestMain checks after passing tests only, prints what leaked and
// turns the exit code to 1.
func TestVerifyTestMain(t *testing.T) {
	leaky := registry.New(registry.WithGrace(0))
	for _, tc := range []struct {
		name     string
		r        *registry.Registry
		code     int
		opts     []Option
		want     int
		ran      bool
		inStderr string
	}{
		{"clean", registry.New(), 0, nil, 0, true, ""},
		{"leaky", leaky, 0, nil, 1, true, `registrytest: 1 leak in the registry (`},
		{"failed tests are not checked", leaky, 3, nil, 3, true, ""},
		{"nil registry", nil, 0, nil, 2, false, "registrytest: VerifyTestMain: nil registry"},
		{"bad file", registry.New(), 0, []Option{SuppressionsFile(filepath.Join(t.TempDir(), "none.yaml"))}, 2, false, "registrytest: reading the suppressions file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeM{code: tc.code}
			if tc.name == "leaky" {
				m.run = func() { stuck(t, leaky, "tab", "decoder") }
			}
			var stderr bytes.Buffer
			code := verifyTestMain(m, tc.r, &stderr, append(opts(), tc.opts...))
			if code != tc.want || m.ran != tc.ran {
				t.Errorf("code %d, ran %v; want %d, %v", code, m.ran, tc.want, tc.ran)
			}
			if tc.inStderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr:\n%s\nwant %q", stderr.String(), tc.inStderr)
			}
			if tc.name == "leaky" && !strings.Contains(stderr.String(), `custom "decoder" of tab`) {
				t.Errorf("stderr lacks the leak trace:\n%s", stderr.String())
			}
		})
	}
}

// Control characters in names from the code under test are escaped in
// the failure, never passed through.
func TestScope_EscapesNames(t *testing.T) {
	r := registry.New()
	f := manual(t, "TestEscape")
	id := Scope(f, r, fast...)
	track(t, r, id, "evil\x1b[2J\rname")
	f.runCleanups()
	got := f.failures()
	if len(got) != 1 || strings.ContainsAny(got[0], "\x1b\r") || !strings.Contains(got[0], `\x1b[2J\rname`) {
		t.Errorf("failures = %q, want the name escaped", got)
	}
}

// A subtest's scope nested under its test's: the subtest's leak fails the
// subtest, is cleaned up with it, and is not blamed on the enclosing test.
func TestScope_Nested(t *testing.T) {
	r := registry.New()
	outer := manual(t, "TestOuter")
	parent := Scope(outer, r, fast...)
	inner := manual(t, "TestOuter/inner")
	child := Scope(inner, r, opts(Parent(parent))...)
	track(t, r, child, "inner-leak")
	inner.runCleanups()
	outer.runCleanups()
	if got := inner.failures(); len(got) != 1 || !strings.Contains(got[0], "    TestOuter (test)  alive\n    └─ TestOuter/inner (test)  destroyed") {
		t.Errorf("inner failures = %q, want one whose trace starts at TestOuter", got)
	}
	if got := outer.failures(); len(got) != 0 {
		t.Errorf("outer failures = %q, want none", got)
	}
}

// A long deadline keeps the waits at the maximum interval, however many
// attempts it takes (the doubling wait does not overflow into a busy loop).
func TestCheck_LongDeadlineKeepsTheMaximumInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := registry.New(registry.WithGrace(0))
		stuck(t, r, "gone", "stuck")
		// 1+2+…+512 ms ≈ 1 s in 10 waits, then one a second for the rest.
		want := 11 + 30*60 - 1
		var attempts int
		start := time.Now()
		f := manual(t, "TestLong")
		VerifyNone(f, r, Deadline(30*time.Minute), MaxRetryInterval(time.Second), func(c *config) {
			c.attempted = func(n, _ int) {
				attempts = n
				if n > want+10 {
					t.Fatalf("attempt %d at %s: the waits have stopped", n, time.Since(start))
				}
			}
		})
		if len(f.failures()) != 1 || time.Since(start) != 30*time.Minute {
			t.Fatalf("failures %d after %s, want 1 after 30m", len(f.failures()), time.Since(start))
		}
		if attempts < want-2 || attempts > want+2 {
			t.Errorf("%d attempts in 30m, want about %d", attempts, want)
		}
	})
}
