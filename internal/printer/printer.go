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

// Describe names what a printer of kind writes in format, for messages:
// "the sarif report", "the json plan".
func (k Kind) Describe(format string) string {
	noun := "output"
	if k.known() {
		noun = kinds[k].noun
	}
	return "the " + format + " " + noun
}

// String is the name of the command that prints kind.
func (k Kind) String() string {
	if !k.known() {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kinds[k].name
}

func (k Kind) known() bool { return k >= 0 && int(k) < len(kinds) }

// KindNamed is the kind the command called name prints, false for a
// command without -o.
func KindNamed(name string) (Kind, bool) {
	for k := range kinds {
		if kinds[k].name == name {
			return Kind(k), true
		}
	}
	return 0, false
}

// A format is Raw when it escapes its own text (JSON and SARIF through
// internal/jsonw, GitHub's workflow commands through their own encoding):
// it is written as is. Every other format goes through render.SafeWriter.
//
// name is the command's, noun what messages call its output ("the json
// plan").
var kinds = [...]struct {
	name, noun string
	formats    output.Formats
}{
	List: {"list", "list", output.Formats{
		{Name: "table", Help: "the main columns"},
		{Name: "wide", Help: "every column"},
		{Name: "json", Help: `{"resources", "total"}`, Raw: true},
		{Name: "csv", Help: "every column, a header row"},
		{Name: "markdown", Help: "a table for a pull request or an issue"},
	}},
	Stats: {"stats", "stats", output.Formats{
		{Name: "text", Help: "the summary, with tables"},
		{Name: "json", Help: "the same figures", Raw: true},
	}},
	Validate: {"validate", "report", output.Formats{
		{Name: "text", Help: "a summary line, or every error with its place"},
		{Name: "json", Help: `{"valid", "errors", …}`, Raw: true},
	}},
	Cleanup: {"cleanup", "plan", output.Formats{
		{Name: "text", Help: "the plan as a table, its figures and the verdict"},
		{Name: "wide", Help: "text with every column, nothing truncated on a terminal"},
		{Name: "json", Help: `{"steps", "summary", …}`, Raw: true},
		{Name: "markdown", Help: "the plan for a pull request"},
		{Name: "junit", Help: "the deadline verdict as a test case"},
	}},
	Graph: {"graph", "graph", output.Formats{
		{Name: "dot", Help: "a Graphviz digraph"},
		{Name: "mermaid", Help: "a Mermaid flowchart"},
	}},
	Leaks: {"leaks", "report", output.Formats{
		{Name: "text", Help: "the report with leak traces"},
		{Name: "json", Help: "every finding, grouped", Raw: true},
		{Name: "sarif", Help: "SARIF 2.1.0 for code scanning", Raw: true},
		{Name: "junit", Help: "JUnit XML for a CI test tab"},
		{Name: "github", Help: "GitHub Actions annotations", Raw: true},
		{Name: "markdown", Help: "a pull-request comment"},
	}},
	Ps: {"ps", "list", output.Formats{
		{Name: "table", Help: "one process per row"},
		{Name: "json", Help: `{"dir", "processes"}`, Raw: true},
	}},
	AttachCheck: {"attach-check", "checks", output.Formats{
		{Name: "text", Help: "one line per check, ok or FAIL"},
		{Name: "json", Help: `{"target", "checks", "failed"}`, Raw: true},
	}},
}

// Formats is the table of formats of kind, its default first.
func Formats(kind Kind) output.Formats {
	if !kind.known() {
		return nil
	}
	return kinds[kind].formats
}

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
	f, ok := Formats(kind).Lookup(format)
	if !ok {
		return nil, fmt.Errorf("unknown %s format %q: want %s", kind, format, output.OrList(Formats(kind).Names()))
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
