package registrytest

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/registry"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// result is a failed check: the last attempt's findings.
type result struct {
	// root is the scope's component id, "" for the whole registry.
	root     string
	attempts int
	elapsed  time.Duration
	report   *leaks.Report
	// err is set when the registry could not be checked at all.
	err error
}

// check snapshots r and runs the leak rules until no finding fails or the
// deadline has passed, and returns the last attempt's findings; nil when
// none failed. With root, only root's subtree is checked, root counting as
// destroyed from the first attempt on.
func (c *config) check(r *registry.Registry, sup *leaks.Suppressions, root string) *result {
	start := time.Now()
	var ended time.Time
	wait := firstInterval
	for n := 1; ; n++ {
		rep, err := c.attempt(r, sup, root, &ended)
		if err != nil {
			return &result{root: root, attempts: n, elapsed: time.Since(start), err: err}
		}
		failing := 0
		if rep != nil {
			failing = rep.Failing
		}
		if c.attempted != nil {
			c.attempted(n, failing)
		}
		if failing == 0 {
			return nil
		}
		elapsed := time.Since(start)
		if elapsed >= c.deadline {
			return &result{root: root, attempts: n, elapsed: elapsed, report: rep}
		}
		wait = min(wait, c.maxInterval)
		time.Sleep(min(wait, c.deadline-elapsed))
		wait *= 2 // at most twice the maximum: it never overflows
	}
}

// attempt checks one snapshot of r; nil when there is nothing to check
// (root is no longer in the registry). ended is when root ended: set by
// the first attempt that finds root alive, to its snapshot's time.
func (c *config) attempt(r *registry.Registry, sup *leaks.Suppressions, root string, ended *time.Time) (*leaks.Report, error) {
	s := r.Snapshot()
	if root != "" {
		found := false
		for i := range s.Components {
			comp := &s.Components[i]
			if comp.ID != root {
				continue
			}
			found = true
			if comp.Alive() {
				// The test is over: its component counts as destroyed,
				// so what its subtree holds has outlived its owner.
				if ended.IsZero() {
					*ended = s.TakenAt
				}
				comp.State, comp.DestroyedAt = snapshot.StateDestroyed, *ended
			}
			break
		}
		if !found {
			return nil, nil
		}
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		// A registry's snapshot always indexes; say so if it ever does not.
		return nil, fmt.Errorf("indexing the registry's snapshot: %w", err)
	}
	fs := leaks.FindLeaks(ix, leaks.LeakOptions{})
	if root != "" {
		ri, _ := ix.ComponentIndex(root)
		fs = slices.DeleteFunc(fs, func(f leaks.Finding) bool { return !inSubtree(ix, &f, ri) })
	}
	applied := sup.Apply(ix, fs, c.now())
	// The findings about the suppression entries themselves (expired,
	// unused) are left out: a file shared by many tests has entries each
	// test does not use, and an expired entry's findings are back anyway.
	return newReport(ix, applied.Kept, applied.Ignored, c.failOn), nil
}

// inSubtree reports whether finding f is about the subtree of component
// root: its component is in it, or, for a cleanup cycle, a member's owner.
func inSubtree(ix *snapshot.Index, f *leaks.Finding, root int) bool {
	if f.Component >= 0 {
		return ix.InSubtree(f.Component, root)
	}
	if f.Rule == leaks.RuleCleanupCycle {
		for _, id := range f.Path {
			if ri, ok := ix.ResourceIndex(id); ok {
				if o := ix.Owner(ri); o >= 0 && ix.InSubtree(o, root) {
					return true
				}
			}
		}
	}
	return false
}

// newReport groups findings as `rescoord leaks` does (one group per
// signature, severity and suppression; most severe first, then the
// largest) into a report for the text printer. Every finding is shown.
func newReport(ix *snapshot.Index, fs []leaks.Finding, ignored int, failOn leaks.Severity) *leaks.Report {
	rep := &leaks.Report{Index: ix, FailOn: failOn, RuleCounts: map[leaks.Rule]int{}}
	rep.Summary.Suppressed = ignored
	type key struct {
		sig      string
		sev      leaks.Severity
		reported bool
	}
	at := map[key]int{}
	var groups [][]leaks.Finding
	for _, f := range fs {
		switch f.Severity {
		case leaks.SeverityCritical:
			rep.Summary.Critical++
		case leaks.SeverityError:
			rep.Summary.Error++
		case leaks.SeverityWarning:
			rep.Summary.Warning++
		case leaks.SeverityInfo:
			rep.Summary.Info++
		}
		rep.RuleCounts[f.Rule]++
		if f.Fails(failOn) {
			rep.Failing++
		}
		k := key{f.Signature, f.Severity, f.SuppressedBy != nil}
		g, ok := at[k]
		if !ok {
			g = len(groups)
			at[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], f)
	}
	rep.Failed = rep.Failing > 0
	// Findings come in rule order, then snapshot order: a stable sort
	// keeps that order among groups of one severity and size.
	slices.SortStableFunc(groups, func(a, b []leaks.Finding) int {
		if c := cmp.Compare(b[0].Severity, a[0].Severity); c != 0 {
			return c
		}
		return cmp.Compare(len(b), len(a))
	})
	rep.Findings = make([]leaks.Finding, 0, len(fs))
	for _, g := range groups {
		rep.Findings = append(rep.Findings, g...)
	}
	pos := 0
	for _, g := range groups {
		w := rep.Findings[pos : pos+len(g) : pos+len(g)]
		pos += len(g)
		rep.Groups = append(rep.Groups, leaks.Group{
			Signature: w[0].Signature, Rule: w[0].Rule, Severity: w[0].Severity, Findings: w, Fails: w[0].Fails(failOn),
		})
	}
	return rep
}

// message is the failure message: what failed, then the text report of
// `rescoord leaks` (plain, its untrusted text escaped).
func (res *result) message() string {
	if res.err != nil {
		return "registrytest: cannot check the registry: " + escapeLines(res.err.Error())
	}
	var b bytes.Buffer
	where, input := "registry", "registry"
	if res.root != "" {
		where = "subtree of test component " + render.Escape(res.root)
		input = "test " + render.Escape(res.root)
	}
	tries := "1 attempt"
	if res.attempts > 1 {
		tries = fmt.Sprintf("%d attempts over %s", res.attempts, res.elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "registrytest: %d %s in the %s (%s):\n\n", res.report.Failing, human.Plural(res.report.Failing, "leak", "leaks"), where, tries)
	var text bytes.Buffer
	p, err := printer.New(printer.Leaks, "text", printer.Options{Report: report.Options{Input: input}})
	if err == nil {
		err = p.Print(&text, &printer.LeaksData{Report: res.report})
	}
	if err != nil {
		fmt.Fprintf(&text, "(printing the report: %v)\n", err)
	}
	// The report is plain (no styles were given), so every control
	// character left in it came from a name: escape them all.
	b.WriteString(escapeLines(text.String()))
	return strings.TrimRight(b.String(), "\n")
}

// escapeLines escapes every control character of s (render.Escape) but the
// newlines between its lines: a report, or errors joined, stay readable.
func escapeLines(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		text, nl := strings.CutSuffix(line, "\n")
		b.WriteString(render.Escape(text))
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
