package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strings"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// SARIF 2.1.0 (OASIS), the subset rescoord writes.
const (
	sarifSchema    = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	informationURI = "https://github.com/rescoord/rescoord"
	docsURI        = "https://github.com/rescoord/rescoord/blob/main/docs/leaks.md"
)

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
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

type sarifRuleProps struct {
	Tags     []string `json:"tags"`
	Severity string   `json:"severity"`
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
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
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

// maxSarifResources bounds the ids a result lists.
const maxSarifResources = 100

// sarifPrinter writes one result per group, with rule metadata, the
// location of the first created_by frame that parses as file:line, and
// the signature as partial fingerprint.
type sarifPrinter struct{ opts Options }

// sarifLevel maps severities to SARIF levels: critical and error are
// errors, warning a warning, info a note.
func sarifLevel(s coordinator.Severity) string {
	switch s {
	case coordinator.SeverityCritical, coordinator.SeverityError:
		return "error"
	case coordinator.SeverityWarning:
		return "warning"
	}
	return "note"
}

// Print implements Printer.
func (p *sarifPrinter) Print(w io.Writer, r *coordinator.Report) error {
	t := newTracer(r.Index)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "rescoord", InformationURI: informationURI, Version: p.opts.Version,
			Rules: make([]sarifRule, 0, len(coordinator.Rules)),
		}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     make([]sarifResult, 0, len(r.Groups)),
	}
	ruleIndex := map[coordinator.Rule]int{}
	for i, ri := range coordinator.Rules {
		ruleIndex[ri.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   string(ri.ID),
			Name:                 camel(string(ri.ID)),
			ShortDescription:     sarifText{Text: ri.Short},
			FullDescription:      sarifText{Text: ri.Full},
			Help:                 sarifText{Text: ri.Full + "\n\nHow to fix: " + ri.Help, Markdown: ri.Full + "\n\n**How to fix:** " + ri.Help},
			HelpURI:              docsURI + "#" + string(ri.ID),
			DefaultConfiguration: sarifConfig{Level: sarifLevel(ri.Severity)},
			Properties:           sarifRuleProps{Tags: []string{"resource-leak"}, Severity: ri.Severity.String()},
		})
	}
	fallback := p.opts.Input
	if fallback == "" || fallback == "-" {
		fallback = "stdin"
	}
	for gi := range r.Groups {
		g := &r.Groups[gi]
		f := &g.Findings[0]
		file, line, ok := t.location(f)
		if !ok {
			// Code scanning wants a location: point at the snapshot itself.
			file, line = fallback, 1
		}
		res := sarifResult{
			RuleID:              string(g.Rule),
			RuleIndex:           ruleIndex[g.Rule],
			Level:               sarifLevel(g.Severity),
			Message:             sarifText{Text: strings.Join(textLines(t, g), "\n")},
			Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(file)}, Region: sarifRegion{StartLine: line}}}},
			PartialFingerprints: map[string]string{coordinator.SignatureScheme: g.Signature},
			OccurrenceCount:     len(g.Findings),
			Properties:          sarifResultProps{Severity: g.Severity.String(), Resources: []string{}, Path: f.Path},
		}
		if res.Properties.Path == nil {
			res.Properties.Path = []string{}
		}
		for _, gf := range g.Findings[:min(len(g.Findings), maxSarifResources)] {
			if gf.ResourceID != "" {
				res.Properties.Resources = append(res.Properties.Resources, gf.ResourceID)
			}
		}
		if s := f.SuppressedBy; s != nil {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: s.Reason + " (" + s.Where() + ")"}}
		}
		run.Results = append(run.Results, res)
	}
	return writeSARIF(w, run)
}

// writeSARIF writes the log one result at a time, so that a report of
// many groups is never held in memory twice.
func writeSARIF(w io.Writer, run sarifRun) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf bytes.Buffer
	put := func(v any, prefix string) error {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent(prefix, "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return nil
	}
	bw.WriteString("{\n  \"$schema\": \"" + sarifSchema + "\",\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"tool\": ")
	if err := put(run.Tool, "      "); err != nil {
		return err
	}
	bw.WriteString(",\n      \"invocations\": ")
	if err := put(run.Invocations, "      "); err != nil {
		return err
	}
	bw.WriteString(",\n      \"results\": [")
	for i := range run.Results {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n        ")
		if err := put(&run.Results[i], "        "); err != nil {
			return err
		}
	}
	if len(run.Results) > 0 {
		bw.WriteString("\n      ")
	}
	bw.WriteString("]\n    }\n  ]\n}\n")
	return bw.Flush()
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
