package leaks

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/gensnap"
	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// refFindLeaks is docs/leaks.md's rule table computed the slow, obvious
// way, independently of FindLeaks: each finding as "rule subject", where
// the subject is the resource's id, the component's id, "registry", or
// for a cycle its members in snapshot order. It holds FindLeaks the way
// refPlan holds the planner: a rule added to FindLeaks gets its reference
// here.
func refFindLeaks(ix *snapshot.Index, maxAge time.Duration) []string {
	s := ix.Snap
	var out []string
	add := func(rule Rule, subject string) { out = append(out, string(rule)+" "+subject) }

	resByID := map[string]*snapshot.Resource{}
	for i := range s.Resources {
		resByID[s.Resources[i].ID] = &s.Resources[i]
	}
	compByID := map[string]*snapshot.Component{}
	for i := range s.Components {
		compByID[s.Components[i].ID] = &s.Components[i]
	}

	// The rules of one resource.
	for ri := range s.Resources {
		r := &s.Resources[ri]
		if rule := refResourceRule(ix, ri, maxAge); rule != "" {
			add(rule, r.ID)
		}
		if !r.Live() {
			continue
		}
		// leaked-goroutine: a live resource an importer marked "leaked": true.
		if string(r.Extra["leaked"]) == "true" {
			add(RuleLeakedGoroutine, r.ID)
		}
		for _, d := range r.DependsOn {
			if dep, ok := resByID[d]; !ok || !dep.Live() {
				add(RuleDanglingDependency, r.ID)
				break
			}
		}
	}

	// Components: orphaned ones, and limits on subtrees.
	inSubtree := func(ci int, root string) bool {
		for seen := 0; seen <= len(s.Components); seen++ {
			c := &s.Components[ci]
			if c.ID == root {
				return true
			}
			if c.Parent == "" {
				return false
			}
			p, ok := ix.ComponentIndex(c.Parent)
			if !ok {
				return false
			}
			ci = p
		}
		return false
	}
	for i := range s.Components {
		c := &s.Components[i]
		if c.Alive() && c.Parent != "" {
			if p, ok := compByID[c.Parent]; !ok || !p.Alive() {
				add(RuleOrphanedComponent, c.ID)
			}
		}
	}
	for id, limit := range s.Limits.Components {
		if _, ok := compByID[id]; !ok || limit <= 0 {
			continue
		}
		var bytes int64
		for ri := range s.Resources {
			r := &s.Resources[ri]
			if o := ix.Owner(ri); r.Live() && o >= 0 && inSubtree(o, id) {
				bytes += r.SizeBytes
			}
		}
		if bytes > limit {
			add(RuleOverComponentLimit, id)
		}
	}
	if g := s.Limits.GlobalBytes; g > 0 {
		var bytes int64
		for i := range s.Resources {
			if s.Resources[i].Live() {
				bytes += s.Resources[i].SizeBytes
			}
		}
		if bytes > g {
			add(RuleOverGlobalLimit, "registry")
		}
	}

	// Cycles: live resources that reach each other through depends_on
	// links between live resources, by plain reachability.
	live := map[string]bool{}
	for i := range s.Resources {
		if s.Resources[i].Live() {
			live[s.Resources[i].ID] = true
		}
	}
	reach := func(from string) map[string]bool {
		seen := map[string]bool{}
		stack := []string{from}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, d := range resByID[id].DependsOn {
				if live[d] && !seen[d] {
					seen[d] = true
					stack = append(stack, d)
				}
			}
		}
		return seen
	}
	var inCycle []string // the live resources on a cycle, in snapshot order
	reaches := map[string]map[string]bool{}
	for i := range s.Resources {
		r := &s.Resources[i]
		if !live[r.ID] || len(r.DependsOn) == 0 {
			continue
		}
		reaches[r.ID] = reach(r.ID)
		if reaches[r.ID][r.ID] {
			inCycle = append(inCycle, r.ID)
		}
	}
	done := map[string]bool{}
	for _, a := range inCycle {
		if done[a] {
			continue
		}
		members := []string{a}
		for _, b := range inCycle {
			if b != a && reaches[a][b] && reaches[b][a] {
				members = append(members, b)
			}
		}
		for _, m := range members {
			done[m] = true
		}
		add(RuleCleanupCycle, strings.Join(members, ","))
	}
	slices.Sort(out)
	return out
}

// findingKeys are FindLeaks' findings as refFindLeaks writes them.
func findingKeys(ix *snapshot.Index, fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		subject := f.ResourceID
		switch f.Rule {
		case RuleOrphanedComponent, RuleOverComponentLimit:
			subject = f.ComponentID
		case RuleOverGlobalLimit:
			subject = "registry"
		case RuleCleanupCycle:
			members := slices.Clone(f.Path)
			slices.SortFunc(members, func(a, b string) int {
				ia, _ := ix.ResourceIndex(a)
				ib, _ := ix.ResourceIndex(b)
				return ia - ib
			})
			subject = strings.Join(members, ",")
		}
		out = append(out, string(f.Rule)+" "+subject)
	}
	slices.Sort(out)
	return out
}

// TestFindLeaks_AgreesWithReference runs FindLeaks and the reference on
// generated registries of every shape — destroyed components with alive
// children, missing parents and owners, limits, dependency cycles, long
// chains, deep trees — and wants the same findings, each with its rule's
// severity, and every rule of the table seen at least once.
func TestFindLeaks_AgreesWithReference(t *testing.T) {
	t.Parallel()
	seen := map[Rule]int{}
	for _, name := range gensnap.Shapes {
		shape, ok := gensnap.ParseShape(name)
		if !ok {
			t.Fatalf("no shape %q", name)
		}
		for _, seed := range []uint64{1, 2, 3, 4} {
			cfg := gensnap.Config{Components: 200, Resources: 2000, Seed: seed, Cycles: int(seed % 3), Shape: shape}
			ix := testsnap.Generated(t, cfg)
			maxAge := time.Duration(seed) * 5 * time.Minute
			fs := FindLeaks(ix, LeakOptions{MaxAge: maxAge})
			got, want := findingKeys(ix, fs), refFindLeaks(ix, maxAge)
			if !slices.Equal(got, want) {
				t.Errorf("shape %s, seed %d: FindLeaks and the reference differ:\n%s", name, seed, keyDiff(got, want))
			}
			for _, f := range fs {
				seen[f.Rule]++
				if info, _ := RuleByID(f.Rule); f.Severity != info.Severity {
					t.Errorf("%s %s: severity %s, the rule's is %s", f.Rule, f.ResourceID, f.Severity, info.Severity)
				}
			}
		}
	}
	for _, ri := range rules {
		switch ri.ID {
		case RuleGrowth, RuleExpiredSuppression, RuleUnusedSuppression, RuleUntrackedResource:
			continue // they compare snapshots, read a suppressions file or /proc (reconcile_test.go)
		case RuleLeakedGoroutine:
			continue // only importers mark goroutines: TestLeakedGoroutine_AgreesWithReference
		}
		if seen[ri.ID] == 0 {
			t.Errorf("no generated registry has a %s finding: the test checks nothing of it", ri.ID)
		}
	}
}

// TestAnalyze_AtScaleAgreesWithReference analyses a registry large enough
// that the analysis hands its scratch arrays back to the system as it
// finishes with them (hugemem.Release: a megabyte or more), and wants the
// reference's findings all the same, grouped by signature.
func TestAnalyze_AtScaleAgreesWithReference(t *testing.T) {
	if testing.Short() {
		t.Skip("a registry of 270,000 resources")
	}
	t.Parallel()
	ix := testsnap.Generated(t, gensnap.Config{Components: 3000, Resources: 270000, Seed: 9, Cycles: 1})
	r := Analyze(ix, ReportOptions{Leaks: LeakOptions{MaxAge: time.Minute}})
	if got, want := findingKeys(ix, r.Findings), refFindLeaks(ix, time.Minute); !slices.Equal(got, want) {
		t.Fatalf("Analyze and the reference differ:\n%s", keyDiff(got, want))
	}
	signatures := map[string]bool{}
	n := 0
	for _, g := range r.Groups {
		for _, f := range g.Findings {
			if f.Signature != g.Signature {
				t.Fatalf("group %s holds a finding of signature %s", g.Signature, f.Signature)
			}
		}
		n += len(g.Findings)
		signatures[g.Signature] = true
	}
	if n != len(r.Findings) || len(signatures) != len(r.Groups) || len(r.Groups) < 1000 {
		t.Errorf("%d groups of %d signatures hold %d of %d findings", len(r.Groups), len(signatures), n, len(r.Findings))
	}
}

// keyDiff lists what only one of two sorted lists holds.
func keyDiff(got, want []string) string {
	var b strings.Builder
	for _, k := range got {
		if _, found := slices.BinarySearch(want, k); !found {
			fmt.Fprintf(&b, "  only FindLeaks: %s\n", k)
		}
	}
	for _, k := range want {
		if _, found := slices.BinarySearch(got, k); !found {
			fmt.Fprintf(&b, "  only the reference: %s\n", k)
		}
	}
	return b.String()
}
