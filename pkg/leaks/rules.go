package leaks

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Severity ranks findings. The zero value is no severity: as a fail-on
// threshold it means "never fail".
type Severity int8

// Severities, least severe first.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
	SeverityCritical
)

// severities are the severities most severe first, as flags accept them.
var severities = [...]Severity{SeverityCritical, SeverityError, SeverityWarning, SeverityInfo}

// Severities lists the severities most severe first, as flags accept them.
func Severities() []Severity { return slices.Clone(severities[:]) }

// String is the severity's name: critical, error, warning or info ("none"
// for the zero value).
func (s Severity) String() string {
	switch s {
	case SeverityCritical:
		return "critical"
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityInfo:
		return "info"
	}
	return "none"
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads critical, error, warning or info; "none" (allowed
// only when allowNone) is the zero Severity.
func ParseSeverity(s string, allowNone bool) (Severity, error) {
	for _, v := range severities {
		if s == v.String() {
			return v, nil
		}
	}
	if allowNone && s == "none" {
		return 0, nil
	}
	want := "critical, error, warning or info"
	if allowNone {
		want = "critical, error, warning, info or none"
	}
	return 0, fmt.Errorf("invalid severity %q: want %s", s, want)
}

// Rule is a leak rule id (docs/leaks.md). Rule ids are stable public API.
type Rule string

// The rules of docs/leaks.md, and the two rules about the suppressions file.
const (
	RuleRunningOrphan      Rule = "running-orphan"
	RuleRunningUnderOrphan Rule = "running-under-orphan"
	RuleOrphanedResource   Rule = "orphaned-resource"
	RuleOverComponentLimit Rule = "over-component-limit"
	RuleOverGlobalLimit    Rule = "over-global-limit"
	RuleCleanupCycle       Rule = "cleanup-cycle"
	RuleOrphanedComponent  Rule = "orphaned-component"
	RuleDanglingDependency Rule = "dangling-dependency"
	RuleStaleResource      Rule = "stale-resource"
	RuleGrowth             Rule = "growth"
	// RuleLeakedGoroutine reports the goroutines the Go runtime found
	// leaked (docs/importers.md, --attach pprof:URL).
	RuleLeakedGoroutine Rule = "leaked-goroutine"
	// RuleUntrackedResource reports what the operating system shows in the
	// process and its registry does not track (leaks --reconcile).
	RuleUntrackedResource Rule = "untracked-resource"
	// RuleExpiredSuppression reports a suppression entry past its expires
	// date: it no longer suppresses anything.
	RuleExpiredSuppression Rule = "expired-suppression"
	// RuleUnusedSuppression reports a suppression entry that matched no finding.
	RuleUnusedSuppression Rule = "unused-suppression"
)

// RuleInfo describes a rule: its default severity and its documentation,
// as reports (SARIF rule metadata) and docs/leaks.md show it.
type RuleInfo struct {
	ID       Rule
	Severity Severity
	// Short is one sentence; Full says what triggers the rule; Help says how to fix it.
	Short, Full, Help string
}

// Rules lists every rule in report order: the docs/leaks.md table, then the
// suppression rules. The list is a copy: the table is the package's.
func Rules() []RuleInfo { return slices.Clone(rules) }

// rules is the table of the rules, in report order.
var rules = []RuleInfo{
	{RuleRunningOrphan, SeverityCritical,
		"A running worker, thread, timer or process outlived its owner.",
		"A live worker, thread, timer or process with running=true whose owner component is destroyed or missing from the registry. It keeps executing code on behalf of something that no longer exists.",
		"Stop it in the owner's cleanup: cancel and wait for workers and threads, stop timers, terminate processes, before the owner is marked destroyed. The creation stack shows where it was started."},
	{RuleRunningUnderOrphan, SeverityCritical,
		"A running worker, thread, timer or process is kept alive under a destroyed or missing ancestor.",
		"A live worker, thread, timer or process with running=true whose owner component is alive but has an ancestor that is destroyed or missing from the registry: a controller kept alive after its tab was closed, still running work for it. The leak trace marks the nearest gone ancestor.",
		"Destroy the components below a component in its cleanup (children first), so their workers are stopped with them; or re-parent the owner to a component that outlives it. The leak trace shows which ancestor is gone, the creation stack where the work was started."},
	{RuleOrphanedResource, SeverityError,
		"A live resource outlived its owner.",
		"A live (active or releasing) resource whose owner component is destroyed or missing from the registry. Nothing will release it any more.",
		"Release it in the owner's cleanup, or register it with a component that outlives its use. The creation stack shows who acquired it."},
	{RuleOverComponentLimit, SeverityError,
		"A component's subtree holds more live bytes than its limit.",
		"The live bytes of a component and all of its descendants exceed the limit set for it in limits.components.",
		"Release buffers the component no longer needs, bound its caches, or raise the limit if the use is legitimate. The trace lists the largest live resources in the subtree."},
	{RuleOverGlobalLimit, SeverityError,
		"The registry holds more live bytes than the global limit.",
		"The live bytes of the whole registry exceed limits.global_bytes.",
		"Find the heaviest components (rescoord stats) and release what they no longer need, or raise the limit."},
	{RuleCleanupCycle, SeverityError,
		"Live resources depend on each other in a cycle: no cleanup order exists.",
		"Live resources whose depends_on edges form a cycle. Each must be cleaned up before the next, so no order can satisfy them all. One finding per strongly connected set; the path lists a cycle through it.",
		"Break the cycle: a resource should depend only on what it uses, and what it uses should not depend back on it."},
	{RuleOrphanedComponent, SeverityWarning,
		"An alive component's parent is destroyed or missing.",
		"An alive component names a parent that is destroyed or no longer in the registry, so the parent's cleanup will never reach it.",
		"Destroy child components in the parent's cleanup, or re-parent the component to one that outlives it."},
	{RuleDanglingDependency, SeverityWarning,
		"A live resource depends on a released or missing resource.",
		"A live resource whose depends_on names a resource that is already released or not in the registry: it uses something that is gone.",
		"Release the dependent resource before what it depends on, or drop the dependency when it is no longer used."},
	{RuleStaleResource, SeverityWarning,
		"A live resource is older than --max-age.",
		"A live resource created longer than --max-age before the snapshot was taken (only with --max-age; resources without created_at are not checked).",
		"Check that the resource is meant to live that long; release it when its work is done."},
	{RuleLeakedGoroutine, SeverityCritical,
		"A goroutine the Go runtime found leaked: blocked forever.",
		"A live resource marked \"leaked\": true, as the pprof importer marks the goroutines the goroutineleak profile lists (a Go program built with GOEXPERIMENT=goroutineleakprofile): each is blocked on a channel or lock that no running goroutine can reach, so it will never run again and holds all it references.",
		"Give the goroutine a way out: a context it selects on, a buffered channel or a close by the sender, a done channel closed when its owner stops. The creation stack shows the go statement."},
	{RuleUntrackedResource, SeverityWarning,
		"The process holds a thread, file, socket or child process its registry does not track.",
		"Only with --reconcile: a thread, regular file, socket or child process that /proc shows in the process whose registry was read, and that no live registry resource names through its metadata (fd, tid, pid, path, or local and remote addresses). Libraries that open files, connections or threads behind the application's back show up here.",
		"Track the object in the registry, under the component that owns it, with metadata naming it (pkg/registry does so for *os.File, net.Conn, net.Listener and *os.Process values); or suppress it when a library owns it for the life of the process."},
	{RuleGrowth, SeverityWarning,
		"The live resources of one component and type grew past the thresholds.",
		"With --baseline, or three or more snapshots: the live count or bytes of one (component, resource type) grew by at least the growth thresholds, and across three or more snapshots grew at every step.",
		"Look at the newest resources of the group: something acquires them repeatedly and never releases them, often a cache without a bound."},
	{RuleExpiredSuppression, SeverityWarning,
		"A suppression entry has expired.",
		"An entry of the suppressions file is past its expires date. It no longer suppresses anything: the findings it matched are reported again.",
		"Fix the leaks it covered and delete the entry, or extend expires with a reason."},
	{RuleUnusedSuppression, SeverityInfo,
		"A suppression entry matched no finding.",
		"An entry of the suppressions file matched no finding in this snapshot.",
		"Delete the entry if the leak is fixed, or correct its patterns."},
}

// leakedField is the resource field that marks a goroutine the runtime
// found leaked (docs/importers.md).
const leakedField = "leaked"

// leakedGoroutines applies leaked-goroutine: one finding per live
// resource marked leaked, in snapshot order.
func leakedGoroutines(ix *snapshot.Index) []Finding {
	var out []Finding
	var h sigHasher
	s := ix.Snap
	for ri := range s.Resources {
		r := &s.Resources[ri]
		if !r.Live() || strings.TrimSpace(string(r.Extra[leakedField])) != "true" {
			continue
		}
		fd := Finding{Rule: RuleLeakedGoroutine, Severity: SeverityCritical, Resource: ri, Component: ix.Owner(ri),
			ResourceID: r.ID, ComponentID: r.Owner}
		var cname, ctype string
		if o := fd.Component; o >= 0 {
			c := &s.Components[o]
			cname, ctype = c.DisplayName(), c.Type
			for _, p := range ix.PathTo(o) {
				fd.Path = append(fd.Path, s.Components[p].ID)
			}
		} else {
			fd.Path = []string{r.Owner}
		}
		fd.Path = append(fd.Path, r.ID)
		fd.Signature = h.sum(string(RuleLeakedGoroutine), cname, ctype, r.Type, r.Name, r.CreatedBy.Top())
		fd.Message = string(appendResource(nil, r)) + " is a goroutine the Go runtime found leaked: blocked forever on a channel or lock no running goroutine can reach"
		out = append(out, fd)
	}
	return out
}

// RuleByID returns the description of a rule.
func RuleByID(id Rule) (RuleInfo, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return RuleInfo{}, false
}

// ruleOrder is a rule's position in rules, for sorting.
func ruleOrder(id Rule) int {
	for i, r := range rules {
		if r.ID == id {
			return i
		}
	}
	return len(rules)
}

// formatBytes writes a size with binary units (512 B, 4.0 KiB, 12.0 MiB),
// like the CLI's tables, for messages.
func formatBytes(n int64) string { return human.Bytes(n) }

// formatAge writes a duration compactly for messages: 850ms, 4s, 1m05s,
// 2h03m, 3d04h; a negative one as 0s.
func formatAge(d time.Duration) string { return human.Age(max(d, 0)) }

// quote puts a name in double quotes for messages.
func quote(s string) string { return string(appendQuoted(nil, s)) }

// appendQuoted appends s in double quotes, its own double quotes escaped
// with a backslash, for messages.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i]...)
		b = append(b, '\\', '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}
