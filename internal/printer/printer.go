// Package printer is the one way every command prints its result:
// New(kind, format, options) returns the printer of one of the kind's
// formats, and the kind's table of formats (Formats) drives the -o flag's
// validation, its --help text and its completion (internal/output). Every
// format that is read by people is written through render.SafeWriter
// here, once, so no printer can let a control character of the snapshot
// reach a terminal or a CI log (docs/architecture.md, "An output format").
package printer

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/rescoord/rescoord/internal/output"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/internal/report"
)

// Kind is what a command prints; each kind has its table of formats and
// its type of Data.
type Kind int

// The kinds, one per command that takes -o.
const (
	List        Kind = iota // ListData: the resources, or the component tree
	Stats                   // StatsData: the snapshot's summary
	Validate                // ValidateData: the verdict on a snapshot
	Cleanup                 // CleanupData: a cleanup plan and its verdict
	Graph                   // GraphData: the component and resource graph
	Leaks                   // LeaksData: a leak report (internal/report)
	Ps                      // PsData: the attachable processes
	AttachCheck             // AttachCheckData: the checks of a live process
)

var kindNames = [...]string{List: "list", Stats: "stats", Validate: "validate", Cleanup: "cleanup", Graph: "graph", Leaks: "leaks", Ps: "ps", AttachCheck: "attach-check"}

// kindNouns name what each kind prints, in messages: "the json plan".
var kindNouns = [...]string{List: "list", Stats: "stats", Validate: "report", Cleanup: "plan", Graph: "graph", Leaks: "report", Ps: "list", AttachCheck: "checks"}

// Describe names what a printer of kind writes in format, for messages:
// "the sarif report", "the json plan".
func (k Kind) Describe(format string) string {
	noun := "output"
	if k >= 0 && int(k) < len(kindNouns) {
		noun = kindNouns[k]
	}
	return "the " + format + " " + noun
}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// A format is Raw when it escapes its own text (JSON and SARIF through
// internal/jsonw, GitHub's workflow commands through their own encoding):
// it is written as is. Every other format goes through render.SafeWriter.
var tables = map[Kind]output.Formats{
	List: {
		{Name: "table", Help: "the main columns"},
		{Name: "wide", Help: "every column"},
		{Name: "json", Help: `{"resources", "total"}`, Raw: true},
		{Name: "csv", Help: "every column, a header row"},
		{Name: "markdown", Help: "a table for a pull request or an issue"},
	},
	Stats: {
		{Name: "text", Help: "the summary, with tables"},
		{Name: "json", Help: "the same figures", Raw: true},
	},
	Validate: {
		{Name: "text", Help: "a summary line, or every error with its place"},
		{Name: "json", Help: `{"valid", "errors", …}`, Raw: true},
	},
	Cleanup: {
		{Name: "text", Help: "the plan as a table, its figures and the verdict"},
		{Name: "wide", Help: "text with every column, nothing truncated on a terminal"},
		{Name: "json", Help: `{"steps", "summary", …}`, Raw: true},
		{Name: "markdown", Help: "the plan for a pull request"},
		{Name: "junit", Help: "the deadline verdict as a test case"},
	},
	Graph: {
		{Name: "dot", Help: "a Graphviz digraph"},
		{Name: "mermaid", Help: "a Mermaid flowchart"},
	},
	Leaks: {
		{Name: "text", Help: "the report with leak traces"},
		{Name: "json", Help: "every finding, grouped", Raw: true},
		{Name: "sarif", Help: "SARIF 2.1.0 for code scanning", Raw: true},
		{Name: "junit", Help: "JUnit XML for a CI test tab"},
		{Name: "github", Help: "GitHub Actions annotations", Raw: true},
		{Name: "markdown", Help: "a pull-request comment"},
	},
	Ps: {
		{Name: "table", Help: "one process per row"},
		{Name: "json", Help: `{"dir", "processes"}`, Raw: true},
	},
	AttachCheck: {
		{Name: "text", Help: "one line per check, ok or FAIL"},
		{Name: "json", Help: `{"target", "checks", "failed"}`, Raw: true},
	},
}

// Formats is the table of formats of kind, its default first.
func Formats(kind Kind) output.Formats { return tables[kind] }

// Data is what a printer prints: each kind has its own type (the Kind
// constants name it).
type Data interface{ kind() Kind }

// Printer writes one kind of data in one format.
type Printer interface {
	Print(w io.Writer, d Data) error
}

// Options are what the formats need beyond the data.
type Options struct {
	// Styles colour and fit the human formats; nil prints plain text.
	Styles *render.Styles
	// Report describes the run of a leak report (Leaks only); its Styles
	// are set from Styles.
	Report report.Options
}

// print writes d, of the printer's kind, in its format, to w.
type printFunc func(w io.Writer, d Data) error

// New returns the printer of kind in format, or an error naming the
// formats of kind.
func New(kind Kind, format string, opts Options) (Printer, error) {
	f, ok := tables[kind].Lookup(format)
	if !ok {
		return nil, fmt.Errorf("unknown %s format %q: want %s", kind, format, output.OrList(tables[kind].Names()))
	}
	if opts.Styles == nil {
		opts.Styles = render.NewStyles(io.Discard, false)
	}
	var print printFunc
	switch kind {
	case List:
		print = listPrinter(format, opts.Styles)
	case Stats:
		print = statsPrinter(format, opts.Styles)
	case Validate:
		print = validatePrinter(format, opts.Styles)
	case Cleanup:
		print = cleanupPrinter(format, opts.Styles)
	case Graph:
		print = graphPrinter(format)
	case Ps:
		print = psPrinter(format, opts.Styles)
	case AttachCheck:
		print = attachCheckPrinter(format)
	case Leaks:
		ro := opts.Report
		ro.Styles = opts.Styles
		rp, err := report.New(format, ro)
		if err != nil {
			return nil, err
		}
		print = func(w io.Writer, d Data) error { return rp.Print(w, d.(*LeaksData).Report) }
	}
	return &printer{kind: kind, raw: f.Raw, print: print}, nil
}

type printer struct {
	kind  Kind
	raw   bool
	print printFunc
}

func (p *printer) Print(w io.Writer, d Data) error {
	if d == nil || d.kind() != p.kind {
		return fmt.Errorf("printer: a %s printer cannot print %T", p.kind, d)
	}
	if p.raw {
		return p.print(w, d)
	}
	sw := render.SafeWriter(w)
	if err := p.print(sw, d); err != nil {
		return err
	}
	return render.Flush(sw)
}

// writeJSON writes v as encoding/json does with a two-space indent.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// count is n and the noun that goes with it: "1 component", "2 components".
func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, Plural(n, one, many))
}

// Plural is one or many, as n asks.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
