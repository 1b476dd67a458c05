package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/jsonw"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// SARIF 2.1.0 (OASIS), the subset rescoord writes.
const (
	sarifSchema    = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	informationURI = "https://github.com/rescoord/rescoord"
	docsURI        = "https://github.com/rescoord/rescoord/blob/main/docs/leaks.md"
)

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name            string      `json:"name"`
	InformationURI  string      `json:"informationUri"`
	Version         string      `json:"version"`
	SemanticVersion string      `json:"semanticVersion"`
	Rules           []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	HelpURI              string         `json:"helpUri"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           sarifRuleProps `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

// sarifRuleProps are a rule's properties: GitHub code scanning reads
// security-severity (a CVSS-like score: 9.0 and over is critical, 7.0 to
// 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low) and problem.severity
// (error, warning or recommendation); see docs/leaks.md#sarif.
type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	Severity         string   `json:"severity"`
	SecuritySeverity string   `json:"security-severity"`
	ProblemSeverity  string   `json:"problem.severity"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	OccurrenceCount     int                `json:"occurrenceCount"`
	Suppressions        []sarifSuppression `json:"suppressions,omitzero"`
	Properties          sarifResultProps   `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

type sarifResultProps struct {
	Severity  string   `json:"severity"`
	Resources []string `json:"resources"`
	Path      []string `json:"path"`
}

// elidePath is a finding's path as a SARIF result lists it: a long one
// keeps its first pathHead and last pathTail ids, one "… N levels …" string
// standing for the others, so a report is linear in the snapshot
// (docs/leaks.md).
func elidePath(path []string, elided int) []string {
	if len(path) <= pathHead+pathTail+1 && elided == 0 {
		return path
	}
	out := make([]string, 0, pathHead+pathTail+1)
	out = append(out, path[:min(pathHead, len(path))]...)
	out = append(out, elidedLabel(len(path)+elided-pathHead-pathTail))
	return append(out, path[max(len(path)-pathTail, pathHead):]...)
}

// maxSarifResources bounds the ids a result lists.
const maxSarifResources = 100

// sarifPrinter writes one result per group, most severe first, with rule
// metadata, a location in the repository and fingerprints, within the
// limits GitHub code scanning documents for an upload (docs/leaks.md#sarif).
type sarifPrinter struct{ opts Options }

// GitHub code scanning's limits on a SARIF upload ("SARIF support for code
// scanning", "About code scanning limits on SARIF results"): an upload
// over one is rejected. rescoord writes one run with one location per
// result, and fewer rules than the limit.
const (
	MaxSARIFRuns               = 20
	MaxSARIFResults            = 25_000
	MaxSARIFRules              = 25_000
	MaxSARIFLocationsPerResult = 1_000
	MaxSARIFTagsPerRule        = 20
)

// MaxSARIFMessage bounds the characters of a result's message (its leak
// trace): longer ones are cut, saying by how much. GitHub shows the
// message in an alert; a trace of a deep tree is not for reading there.
const MaxSARIFMessage = 4_000

// SnapshotArtifact is where results with no frame in the repository are
// located when the snapshot is no file in it either (standard input, the
// demo, an attach target, a path outside the working directory): code
// scanning wants a location on every result (docs/leaks.md#sarif).
const SnapshotArtifact = "rescoord-snapshot.json"

// truncatedRule is the rule of the note that says how many groups a log
// left out. It is SARIF-only: no finding has it.
const truncatedRule = "report-truncated"

// sarifSeverities map a severity to its SARIF level (critical and error
// are errors, warning a warning, info a note), GitHub's security-severity
// score (critical 9.0, error 7.0 "high", warning 4.0 "medium", info 1.0
// "low") and GitHub's problem.severity. Anything else reads as info.
var sarifSeverities = [...]struct{ level, security, problem string }{
	leaks.SeverityCritical: {"error", "9.0", "error"},
	leaks.SeverityError:    {"error", "7.0", "error"},
	leaks.SeverityWarning:  {"warning", "4.0", "warning"},
	leaks.SeverityInfo:     {"note", "1.0", "recommendation"},
}

func sarifLevel(s leaks.Severity) string { return sarifSeverityOf(s).level }

// sarifSeverityOf is the row of s, info's for an unknown severity.
func sarifSeverityOf(s leaks.Severity) struct{ level, security, problem string } {
	if s < leaks.SeverityInfo || int(s) >= len(sarifSeverities) {
		s = leaks.SeverityInfo
	}
	return sarifSeverities[s]
}

// ruleAnchor is the docs/leaks.md heading of a rule (the two suppression
// rules share one).
func ruleAnchor(id leaks.Rule) string {
	switch id {
	case leaks.RuleExpiredSuppression, leaks.RuleUnusedSuppression:
		return "expired-suppression-and-unused-suppression"
	}
	return string(id)
}

// driverVersions are tool.driver.version and semanticVersion for a
// version() string such as "v1.4.2 go1.26.8" or "(devel) 0123abcd go1.26.8":
// the release's MAJOR.MINOR.PATCH and its semantic version, or 0.0.0 for a
// build that is no release.
func driverVersions(v string) (version, semantic string) {
	first, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	sem := strings.TrimPrefix(first, "v")
	core, _, _ := strings.Cut(sem, "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return "0.0.0", "0.0.0"
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return "0.0.0", "0.0.0"
		}
	}
	return core, sem
}

// repoRelative reports whether a frame's file can be a location in the
// repository: a relative path that stays inside it, not an absolute path,
// a URL or a pseudo-file such as "<string>".
func repoRelative(file string) bool {
	p := strings.ReplaceAll(file, `\`, "/")
	switch {
	case p == "", strings.HasPrefix(p, "/"), strings.ContainsAny(p, "<>"), strings.Contains(p, "://"),
		len(p) >= 2 && p[1] == ':' && (p[0]|0x20) >= 'a' && (p[0]|0x20) <= 'z':
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return false
		}
	}
	return true
}

// lineHash is a group's primaryLocationLineHash: 16 hex digits of the
// SHA-256 of its signature, severity and suppression, then ":1". Two groups
// of one report never share it (a signature can head two groups, one within
// --grace, or one reported by a suppression), and a run on the same leak
// gives the same value wherever its line moves.
func lineHash(g *leaks.Group) string {
	h := sha256.New()
	h.Write([]byte("rescoord\x00" + g.Signature + "\x00" + g.Severity.String() + "\x00"))
	if g.Findings[0].SuppressedBy != nil {
		h.Write([]byte("suppressed"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8]) + ":1"
}

// cutMessage bounds a message to MaxSARIFMessage characters.
func cutMessage(s string) string {
	if utf8.RuneCountInString(s) <= MaxSARIFMessage {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxSARIFMessage-100 {
			rest := utf8.RuneCountInString(s[i:])
			return s[:i] + fmt.Sprintf("\n… %d more characters: see the full report", rest)
		}
		n++
	}
	return s
}

// sarifBlockGroups is how many results make one block of the SARIF log.
const sarifBlockGroups = 128

// Print implements Printer. The results are made and written a block of
// groups at a time, on every core (see writeBlocks): a report of a hundred
// thousand groups is never held in memory as SARIF.
func (p *sarifPrinter) Print(w io.Writer, r *leaks.Report) error {
	t := newTracer(r.Index)
	t.paths = p.opts.Paths
	version, semantic := driverVersions(p.opts.Version)
	tool := sarifTool{Driver: sarifDriver{
		Name: "rescoord", InformationURI: informationURI, Version: version, SemanticVersion: semantic,
		Rules: make([]sarifRule, 0, len(leaks.Rules())+1),
	}}
	ruleIndex := map[leaks.Rule]int{}
	for i, ri := range leaks.Rules() {
		ruleIndex[ri.ID] = i
		tool.Driver.Rules = append(tool.Driver.Rules, sarifRule{
			ID:                   string(ri.ID),
			Name:                 camel(string(ri.ID)),
			ShortDescription:     sarifText{Text: ri.Short},
			FullDescription:      sarifText{Text: ri.Full},
			Help:                 sarifText{Text: ri.Full + "\n\nHow to fix: " + ri.Help, Markdown: ri.Full + "\n\n**How to fix:** " + ri.Help},
			HelpURI:              docsURI + "#" + ruleAnchor(ri.ID),
			DefaultConfiguration: sarifConfig{Level: sarifLevel(ri.Severity)},
			Properties: sarifRuleProps{Tags: []string{"resource-leak"}, Severity: ri.Severity.String(),
				SecuritySeverity: sarifSeverityOf(ri.Severity).security, ProblemSeverity: sarifSeverityOf(ri.Severity).problem},
		})
	}
	const truncatedShort = "The SARIF log leaves out groups of findings, to stay within code scanning's limit of results per run."
	tool.Driver.Rules = append(tool.Driver.Rules, sarifRule{
		ID: truncatedRule, Name: camel(truncatedRule),
		ShortDescription:     sarifText{Text: truncatedShort},
		FullDescription:      sarifText{Text: truncatedShort + " The groups left out are the least severe; the full report lists them all."},
		Help:                 sarifText{Text: "Read the full report: rescoord leaks -o json=PATH."},
		HelpURI:              docsURI + "#sarif",
		DefaultConfiguration: sarifConfig{Level: "note"},
		Properties:           sarifRuleProps{Tags: []string{"resource-leak"}, Severity: "info", SecuritySeverity: "0.0", ProblemSeverity: "recommendation"},
	})

	artifact := p.opts.Artifact
	if artifact == "" {
		artifact = SnapshotArtifact
	}
	// At most MaxSARIFResults results: the most severe groups (r.Groups
	// comes most severe first), and a note for the others.
	shown := len(r.Groups)
	if shown > MaxSARIFResults {
		shown = MaxSARIFResults - 1
	}
	r.CompleteGroups(r.Groups[:shown], groupRead)
	// SARIF §3.27.23: when a result is suppressed, every result has a
	// suppressions array, empty when it is not.
	anySuppressed := false
	for gi := range r.Groups[:shown] {
		if r.Groups[gi].Findings[0].SuppressedBy != nil {
			anySuppressed = true
			break
		}
	}
	result := func(g *leaks.Group) sarifResult {
		f := &g.Findings[0]
		file, line, ok := t.locationWhere(f, repoRelative)
		if !ok {
			// Code scanning wants a location: point at the snapshot itself.
			file, line = artifact, 1
		}
		res := sarifResult{
			RuleID:    string(g.Rule),
			RuleIndex: ruleIndex[g.Rule],
			Level:     sarifLevel(g.Severity),
			Message:   sarifText{Text: cutMessage(textOf(t, g))},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(file)}, Region: sarifRegion{StartLine: line}}}},
			PartialFingerprints: map[string]string{
				leaks.SignatureScheme:     g.Signature,
				"primaryLocationLineHash": lineHash(g),
			},
			OccurrenceCount: len(g.Findings),
			Properties:      sarifResultProps{Severity: g.Severity.String(), Resources: []string{}, Path: elidePath(f.Path, f.PathElided)},
		}
		if res.Properties.Path == nil {
			res.Properties.Path = []string{}
		}
		for _, gf := range g.Findings[:min(len(g.Findings), maxSarifResources)] {
			if gf.ResourceID != "" {
				res.Properties.Resources = append(res.Properties.Resources, gf.ResourceID)
			}
		}
		if anySuppressed {
			res.Suppressions = []sarifSuppression{}
		}
		if s := f.SuppressedBy; s != nil {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: s.Reason + " (" + s.Where() + ")"}}
		}
		return res
	}

	bw := bufio.NewWriter(w) // for what comes before and after the results
	bw.WriteString("{\n  \"$schema\": \"" + sarifSchema + "\",\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"tool\": ")
	b, err := appendIndented(nil, tool, "      ")
	if err != nil {
		return err
	}
	bw.Write(b)
	bw.WriteString(",\n      \"invocations\": ")
	b, _ = appendIndented(b[:0], []sarifInvocation{{ExecutionSuccessful: true}}, "      ")
	bw.Write(b)
	bw.WriteString(",\n      \"results\": [")
	if err := bw.Flush(); err != nil {
		return err
	}
	err = writeBlocks(w, shown, sarifBlockGroups, func(b []byte, from, to int) []byte {
		for gi := from; gi < to; gi++ {
			if gi > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n        "...)
			res := result(&r.Groups[gi])
			b = res.appendJSON(b, "        ")
		}
		return b
	})
	if err != nil {
		return err
	}
	if rest := r.Groups[shown:]; len(rest) > 0 {
		findings := 0
		for gi := range rest {
			findings += len(rest[gi].Findings)
		}
		where := "run `rescoord leaks -o json` on the same snapshot for all of them"
		if p.opts.FullReport != "" {
			where = "the full report is " + render.Escape(p.opts.FullReport) + " (written with -o json)"
		}
		res := sarifResult{
			RuleID: truncatedRule, RuleIndex: len(tool.Driver.Rules) - 1, Level: "note",
			Message: sarifText{Text: fmt.Sprintf("%d more %s of findings (%d %s), the least severe, are not in this SARIF log: code scanning takes at most %d results per run; %s.",
				len(rest), human.Plural(len(rest), "group", "groups"), findings, human.Plural(findings, "finding", "findings"), MaxSARIFResults, where)},
			Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(artifact)}, Region: sarifRegion{StartLine: 1}}}},
			PartialFingerprints: map[string]string{"primaryLocationLineHash": truncatedRule + ":1"},
			OccurrenceCount:     len(rest),
			Properties:          sarifResultProps{Severity: "info", Resources: []string{}, Path: []string{}},
		}
		if anySuppressed {
			res.Suppressions = []sarifSuppression{}
		}
		b = append(b[:0], ",\n        "...)
		if _, err := w.Write(res.appendJSON(b, "        ")); err != nil {
			return err
		}
	}
	if shown > 0 {
		bw.WriteString("\n      ")
	}
	bw.WriteString("]\n    }\n  ]\n}\n")
	return bw.Flush()
}

// appendJSON appends the result as encoding/json writes it with prefix,
// two spaces of indentation and no HTML escaping (a test holds it to
// that), without reflection: a report can have a hundred thousand
// results.
func (r *sarifResult) appendJSON(b []byte, prefix string) []byte {
	nl := func(depth int) {
		b = append(b, '\n')
		b = append(b, prefix...)
		for range depth {
			b = append(b, "  "...)
		}
	}
	field := func(depth int, name string) {
		nl(depth)
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, "\": "...)
	}
	str := func(s string) { b = appendSARIFString(b, s) }
	stringList := func(depth int, list []string) {
		switch {
		case list == nil:
			b = append(b, "null"...)
			return
		case len(list) == 0:
			b = append(b, "[]"...)
			return
		}
		b = append(b, '[')
		for i, s := range list {
			if i > 0 {
				b = append(b, ',')
			}
			nl(depth + 1)
			str(s)
		}
		nl(depth)
		b = append(b, ']')
	}
	b = append(b, '{')
	field(1, "ruleId")
	str(r.RuleID)
	b = append(b, ',')
	field(1, "ruleIndex")
	b = strconv.AppendInt(b, int64(r.RuleIndex), 10)
	b = append(b, ',')
	field(1, "level")
	str(r.Level)
	b = append(b, ',')
	field(1, "message")
	b = append(b, '{')
	field(2, "text")
	str(r.Message.Text)
	if r.Message.Markdown != "" {
		b = append(b, ',')
		field(2, "markdown")
		str(r.Message.Markdown)
	}
	nl(1)
	b = append(b, "},"...)
	field(1, "locations")
	switch {
	case r.Locations == nil:
		b = append(b, "null"...)
	case len(r.Locations) == 0:
		b = append(b, "[]"...)
	default:
		b = append(b, '[')
		for i, l := range r.Locations {
			if i > 0 {
				b = append(b, ',')
			}
			nl(2)
			b = append(b, '{')
			field(3, "physicalLocation")
			b = append(b, '{')
			field(4, "artifactLocation")
			b = append(b, '{')
			field(5, "uri")
			str(l.PhysicalLocation.ArtifactLocation.URI)
			nl(4)
			b = append(b, "},"...)
			field(4, "region")
			b = append(b, '{')
			field(5, "startLine")
			b = strconv.AppendInt(b, int64(l.PhysicalLocation.Region.StartLine), 10)
			nl(4)
			b = append(b, '}')
			nl(3)
			b = append(b, '}')
			nl(2)
			b = append(b, '}')
		}
		nl(1)
		b = append(b, ']')
	}
	b = append(b, ',')
	field(1, "partialFingerprints")
	switch {
	case r.PartialFingerprints == nil:
		b = append(b, "null"...)
	case len(r.PartialFingerprints) == 0:
		b = append(b, "{}"...)
	default:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(r.PartialFingerprints)) {
			if i > 0 {
				b = append(b, ',')
			}
			nl(2)
			str(k)
			b = append(b, ": "...)
			str(r.PartialFingerprints[k])
		}
		nl(1)
		b = append(b, '}')
	}
	b = append(b, ',')
	field(1, "occurrenceCount")
	b = strconv.AppendInt(b, int64(r.OccurrenceCount), 10)
	b = append(b, ',')
	if r.Suppressions != nil {
		field(1, "suppressions")
		if len(r.Suppressions) == 0 {
			b = append(b, "[],"...)
		} else {
			b = append(b, '[')
			for i, sp := range r.Suppressions {
				if i > 0 {
					b = append(b, ',')
				}
				nl(2)
				b = append(b, '{')
				field(3, "kind")
				str(sp.Kind)
				b = append(b, ',')
				field(3, "status")
				str(sp.Status)
				b = append(b, ',')
				field(3, "justification")
				str(sp.Justification)
				nl(2)
				b = append(b, '}')
			}
			nl(1)
			b = append(b, "],"...)
		}
	}
	field(1, "properties")
	b = append(b, '{')
	field(2, "severity")
	str(r.Properties.Severity)
	b = append(b, ',')
	field(2, "resources")
	stringList(2, r.Properties.Resources)
	b = append(b, ',')
	field(2, "path")
	stringList(2, r.Properties.Path)
	nl(1)
	b = append(b, '}')
	nl(0)
	return append(b, '}')
}

// appendIndented appends v as json.MarshalIndent writes it with prefix
// and two spaces of indentation, without escaping HTML.
func appendIndented(b []byte, v any, prefix string) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// camel turns a rule id into a rule name: running-orphan → RunningOrphan.
func camel(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// fileURI writes a frame's file as a URI reference: relative paths stay
// relative (escaped), absolute ones become file:// URIs.
func fileURI(file string) string {
	p := strings.ReplaceAll(file, `\`, "/")
	switch {
	case len(p) >= 2 && p[1] == ':' && (p[0]|0x20) >= 'a' && (p[0]|0x20) <= 'z':
		return (&url.URL{Scheme: "file", Path: "/" + p}).String()
	case strings.HasPrefix(p, "/"):
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}

// sarifEscapeAt returns where the first character appendSARIFString
// escapes starts in b, valid UTF-8 (encoding/json has replaced what is
// not), or -1: C1 controls are C2 80–C2 9F, U+061C is D8 9C, U+200E and
// U+200F are E2 80 8E and 8F, U+202A–U+202E E2 80 AA–AE, U+2066–U+2069
// E2 81 A6–A9. Other text, box drawings and all, is not copied again.
func sarifEscapeAt(b []byte) int {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case 0xc2:
			if i+1 < len(b) && b[i+1] <= 0x9f {
				return i
			}
		case 0xd8:
			if i+1 < len(b) && b[i+1] == 0x9c {
				return i
			}
		case 0xe2:
			if i+2 < len(b) {
				c1, c2 := b[i+1], b[i+2]
				if c1 == 0x80 && (c2 == 0x8e || c2 == 0x8f || c2 >= 0xaa && c2 <= 0xae) || c1 == 0x81 && c2 >= 0xa6 && c2 <= 0xa9 {
					return i
				}
			}
		}
	}
	return -1
}

// appendSARIFString appends s as a JSON string, as encoding/json writes
// it but with the C1 controls and the bidirectional marks, overrides and
// isolates escaped as \uNNNN too: the same string to a JSON reader, and
// nothing a terminal showing the file acts on (docs/security.md).
func appendSARIFString(b []byte, s string) []byte {
	from := len(b)
	b = jsonw.AppendStringNoHTML(b, s)
	i := sarifEscapeAt(b[from:])
	if i < 0 {
		return b
	}
	rest := append([]byte(nil), b[from:]...)
	for b = b[:from]; i >= 0; i = sarifEscapeAt(rest) {
		r, n := utf8.DecodeRune(rest[i:])
		b = fmt.Appendf(append(b, rest[:i]...), `\u%04x`, r)
		rest = rest[i+n:]
	}
	return append(b, rest...)
}
