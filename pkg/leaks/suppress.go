package leaks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"go.yaml.in/yaml/v3"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// DefaultSuppressionsFile is the suppressions file read from the working
// directory when present and no other is named.
const DefaultSuppressionsFile = ".rescoord-ignore.yaml"

// Action is what a matching suppression entry does to a finding.
type Action string

// Suppression actions.
const (
	// ActionIgnore (the default) hides the finding; it is only counted.
	ActionIgnore Action = "ignore"
	// ActionReport keeps the finding in reports but never lets it fail
	// the build: for leaks in third-party code.
	ActionReport Action = "report"
)

// Suppression is one entry of a suppressions file. Each pattern is a glob
// (doublestar syntax: * matches within a path segment, ** across "/",
// ? one character, [abc] a class, {a,b} alternatives); an empty pattern
// matches anything, and every pattern given must match.
type Suppression struct {
	// File and Line locate the entry.
	File string
	Line int

	// Rule matches the rule id.
	Rule string
	// Component matches the id or the name of the finding's component (a
	// resource finding's owner).
	Component string
	// Type matches the resource type.
	Type string
	// Name matches the resource's name or id.
	Name string
	// Frame matches any frame of the resource's created_by stack.
	Frame string
	// Signature matches the finding's signature.
	Signature string

	// Reason says why the finding is accepted; required.
	Reason string
	// Expires is the last day (UTC) the entry suppresses; zero for never.
	Expires time.Time
	// Action is ActionIgnore or ActionReport.
	Action Action
}

// Expired reports whether the entry is past its expires date at now: it
// suppresses through the whole of that day, UTC.
func (s *Suppression) Expired(now time.Time) bool {
	return !s.Expires.IsZero() && !now.Before(s.Expires.AddDate(0, 0, 1))
}

// Where is the entry's place, FILE:LINE.
func (s *Suppression) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Patterns describes the entry's patterns, "rule=… component=…".
func (s *Suppression) Patterns() string {
	var parts []string
	for _, p := range [...]struct{ k, v string }{
		{"rule", s.Rule}, {"component", s.Component}, {"type", s.Type},
		{"name", s.Name}, {"frame", s.Frame}, {"signature", s.Signature},
	} {
		if p.v != "" {
			parts = append(parts, p.k+"="+p.v)
		}
	}
	return strings.Join(parts, " ")
}

// Match reports whether the entry's patterns match finding f of ix
// (expiry aside).
func (s *Suppression) Match(ix *snapshot.Index, f *Finding) bool {
	if s.Rule != "" && !glob(s.Rule, string(f.Rule)) {
		return false
	}
	if s.Signature != "" && !glob(s.Signature, f.Signature) {
		return false
	}
	if s.Component != "" {
		ok := false
		switch {
		case f.Component >= 0:
			c := &ix.Snap.Components[f.Component]
			ok = glob(s.Component, c.ID) || c.Name != "" && glob(s.Component, c.Name)
		case f.ComponentID != "":
			ok = glob(s.Component, f.ComponentID)
		}
		if !ok && f.Growth != nil && f.Growth.ComponentName != "" {
			ok = glob(s.Component, f.Growth.ComponentName)
		}
		if !ok {
			return false
		}
	}
	var r *snapshot.Resource
	if f.Resource >= 0 {
		r = &ix.Snap.Resources[f.Resource]
	}
	if s.Type != "" {
		switch {
		case r != nil:
			if !glob(s.Type, r.Type) {
				return false
			}
		case f.Growth != nil:
			if !glob(s.Type, f.Growth.ResourceType) {
				return false
			}
		default:
			return false
		}
	}
	if s.Name != "" && (r == nil || !glob(s.Name, r.ID) && (r.Name == "" || !glob(s.Name, r.Name))) {
		return false
	}
	if s.Frame != "" {
		if r == nil {
			return false
		}
		ok := false
		for _, fr := range r.CreatedBy.Frames() {
			if glob(s.Frame, fr) || glob(s.Frame, baseFrame(fr)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func glob(pattern, s string) bool { return doublestar.MatchUnvalidated(pattern, s) }

// baseFrame is a frame with its file cut to the base name
// ("pkg/player/player.go:88 player.Play" is "player.go:88 player.Play"), so
// that a frame pattern written for the base name ("player.go:*",
// "* player.*") matches a frame with a path too (docs/leaks.md).
func baseFrame(fr string) string {
	file, rest, ok := strings.Cut(fr, " ")
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	if !ok {
		return file
	}
	return file + " " + rest
}

// Suppressions are the entries of a suppressions file, in file order.
type Suppressions struct {
	File    string
	Entries []Suppression
}

// yamlLine reads the line from a go-yaml error message.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// MaxSuppressionsBytes is the largest suppressions file ParseSuppressions
// accepts: 1 MiB, thousands of entries.
const MaxSuppressionsBytes = 1 << 20

// ParseSuppressions reads a suppressions file:
//
//	suppressions:
//	  - rule: running-orphan          # patterns: rule, component, type,
//	    frame: "vendor/**"            # name, frame, signature (globs)
//	    reason: third-party player leaks its decoder thread   # required
//	    expires: 2026-12-31           # optional: last day it applies
//	    action: report                # optional: ignore (default) or report
//
// The file is one YAML document of at most MaxSuppressionsBytes; a key given
// twice in any mapping is an error, as is a second document: neither is
// dropped without a word. file names the input in errors, which each say
// FILE:LINE: what is wrong.
func ParseSuppressions(data []byte, file string) (*Suppressions, error) {
	out := &Suppressions{File: file, Entries: []Suppression{}}
	if len(data) > MaxSuppressionsBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes (1 MiB)", file, MaxSuppressionsBytes)
	}
	yamlErr := func(err error) error {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return fmt.Errorf("%s:%s: %s", file, m[1], m[2])
		}
		return fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return out, nil // an empty file suppresses nothing
	} else if err != nil {
		return nil, yamlErr(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: a suppressions file holds one (remove the ---)", file, next.Line)
	} else if err != io.EOF {
		return nil, yamlErr(err)
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	var errs []error
	fail := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...)))
	}
	duplicateKeys(doc.Content[0], fail)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		fail(root, "want a mapping with a suppressions list")
		return nil, errors.Join(errs...)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "suppressions" {
			fail(k, "unknown key %q: want suppressions", k.Value)
			continue
		}
		list = v
	}
	if list == nil {
		if len(errs) == 0 {
			fail(root, "no suppressions list")
		}
		return nil, errors.Join(errs...)
	}
	if list.Kind != yaml.SequenceNode {
		if list.Tag == "!!null" {
			return out, errors.Join(errs...)
		}
		fail(list, "suppressions: want a list of entries")
		return nil, errors.Join(errs...)
	}
	for _, n := range list.Content {
		if e, ok := parseEntry(n, file, fail); ok {
			out.Entries = append(out.Entries, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseEntry(n *yaml.Node, file string, fail func(*yaml.Node, string, ...any)) (Suppression, bool) {
	e := Suppression{File: file, Line: n.Line, Action: ActionIgnore}
	if n.Kind != yaml.MappingNode {
		fail(n, "an entry must be a mapping of patterns and a reason")
		return e, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			fail(v, "%s: want a single value", k.Value)
			ok = false
			continue
		}
		val := v.Value
		var dst *string
		switch k.Value {
		case "rule":
			dst = &e.Rule
		case "component":
			dst = &e.Component
		case "type":
			dst = &e.Type
		case "name":
			dst = &e.Name
		case "frame":
			dst = &e.Frame
		case "signature":
			dst = &e.Signature
		case "reason":
			e.Reason = strings.TrimSpace(val)
			continue
		case "expires":
			t, err := time.Parse(time.DateOnly, val)
			if err != nil {
				fail(v, "expires: %q is not a date such as 2026-12-31", val)
				ok = false
			}
			e.Expires = t
			continue
		case "action":
			switch Action(val) {
			case ActionIgnore, ActionReport:
				e.Action = Action(val)
			default:
				fail(v, "action: %q is not ignore or report", val)
				ok = false
			}
			continue
		default:
			fail(k, "unknown key %q: want rule, component, type, name, frame, signature, reason, expires or action", k.Value)
			ok = false
			continue
		}
		if val == "" {
			fail(v, "%s: empty pattern (leave the key out to match anything)", k.Value)
			ok = false
			continue
		}
		if !doublestar.ValidatePattern(val) {
			fail(v, "%s: %s is not a valid glob", k.Value, strconv.Quote(val))
			ok = false
			continue
		}
		*dst = val
	}
	if e.Reason == "" {
		fail(n, "entry has no reason: say why the finding is accepted")
		ok = false
	}
	if ok && e.Patterns() == "" {
		fail(n, "entry has no pattern: give at least one of rule, component, type, name, frame or signature")
		ok = false
	}
	return e, ok
}

// duplicateKeys reports every key given twice in a mapping of the tree at
// n, naming the line of the first. Aliases are not followed.
func duplicateKeys(n *yaml.Node, fail func(*yaml.Node, string, ...any)) {
	if n.Kind == yaml.MappingNode {
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if line, dup := first[k.Value]; dup {
				fail(k, "%s given twice (first at line %d)", strconv.Quote(k.Value), line)
				continue
			}
			first[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		duplicateKeys(c, fail)
	}
}

// SuppressionUse is how one entry fared in a run.
type SuppressionUse struct {
	Entry *Suppression
	// Hits counts the findings the entry matched (for an expired entry:
	// would have matched).
	Hits int
	// Expired is set when the entry is past its expires date.
	Expired bool
}

// Suppressed is the outcome of applying suppressions to findings.
type Suppressed struct {
	// Kept are the findings no ignore entry matched, in their order; those
	// an entry with action report matched carry SuppressedBy.
	Kept []Finding
	// Ignored counts the findings an ignore entry hid.
	Ignored int
	// Uses has one element per entry, in file order.
	Uses []SuppressionUse
	// Findings are the expired-suppression and unused-suppression findings.
	Findings []Finding
}

// Apply matches findings of ix against the entries at time now. The first
// entry (in file order) that matches and has not expired decides; an
// expired entry suppresses nothing and is itself reported as a warning
// (expired-suppression), an entry that matched nothing as info
// (unused-suppression). A nil *Suppressions keeps every finding. Kept
// reuses the storage of findings, which the caller must not use again.
func (s *Suppressions) Apply(ix *snapshot.Index, findings []Finding, now time.Time) Suppressed {
	if s == nil {
		return Suppressed{Kept: findings, Uses: []SuppressionUse{}, Findings: []Finding{}}
	}
	out := Suppressed{Kept: findings[:0], Uses: make([]SuppressionUse, len(s.Entries)), Findings: []Finding{}}
	for i := range s.Entries {
		out.Uses[i] = SuppressionUse{Entry: &s.Entries[i], Expired: s.Entries[i].Expired(now)}
	}
	for fi := range findings {
		f := findings[fi]
		ignored := false
		for i := range out.Uses {
			u := &out.Uses[i]
			if !u.Entry.Match(ix, &f) {
				continue
			}
			u.Hits++
			if u.Expired {
				continue
			}
			if u.Entry.Action == ActionReport {
				f.SuppressedBy = u.Entry
			} else {
				ignored = true
			}
			break
		}
		if ignored {
			out.Ignored++
			continue
		}
		out.Kept = append(out.Kept, f)
	}
	var h sigHasher
	for i := range out.Uses {
		u := &out.Uses[i]
		e := u.Entry
		var rule Rule
		var sev Severity
		var msg string
		switch {
		case u.Expired:
			rule, sev = RuleExpiredSuppression, SeverityWarning
			msg = fmt.Sprintf("suppression at %s (%s) expired on %s and no longer suppresses: %d matching %s reported again; reason was %s",
				e.Where(), e.Patterns(), e.Expires.Format(time.DateOnly), u.Hits, human.Plural(u.Hits, "finding is", "findings are"), quote(e.Reason))
		case u.Hits == 0:
			rule, sev = RuleUnusedSuppression, SeverityInfo
			msg = fmt.Sprintf("suppression at %s (%s) matched no finding: remove it or fix its patterns; reason was %s",
				e.Where(), e.Patterns(), quote(e.Reason))
		default:
			continue
		}
		out.Findings = append(out.Findings, Finding{
			Rule:      rule,
			Severity:  sev,
			Resource:  -1,
			Component: -1,
			Signature: h.sum(string(rule), e.Rule, e.Component, e.Type, e.Name, e.Frame, e.Signature, e.Reason),
			Message:   msg,
			Path:      []string{},
			Entry:     e,
		})
	}
	return out
}
