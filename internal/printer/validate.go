package printer

import (
	"fmt"
	"io"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ValidateData is what `rescoord validate` prints: its JSON report, how
// the text names the input, and the errors found (nil for a valid
// snapshot).
type ValidateData struct {
	Report ValidateReport
	Label  string
	Errors *snapshot.Errors
}

func (*ValidateData) kind() Kind { return Validate }

// ValidateReport is the JSON of `validate -o json` (docs/snapshot-format.md).
type ValidateReport struct {
	Valid       bool            `json:"valid"`
	Input       string          `json:"input"`
	Errors      []ValidateError `json:"errors"`
	ErrorsTotal int             `json:"errors_total"`
	Components  int             `json:"components"`
	Resources   int             `json:"resources"`
	Live        int             `json:"live_resources"`
	Cleanups    int             `json:"cleanups"`
}

// ValidateError is one error of a ValidateReport, with its place.
type ValidateError struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func validatePrinter(format string, st *render.Styles) printFunc {
	return func(w io.Writer, d Data) error {
		v := d.(*ValidateData)
		rep := &v.Report
		if format == "json" {
			return writeJSON(w, rep)
		}
		if rep.Valid {
			_, err := fmt.Fprintf(w, "%s %s: %s, %s (%d live), %s\n",
				st.OK.Render("valid"), render.Escape(v.Label), human.Count(rep.Components, "component", "components"),
				human.Count(rep.Resources, "resource", "resources"), rep.Live, human.Count(rep.Cleanups, "cleanup", "cleanups"))
			return err
		}
		if v.Errors == nil {
			return nil
		}
		for _, e := range v.Errors.List {
			fmt.Fprintln(w, render.Escape(fmt.Sprint(e)))
		}
		if v.Errors.Truncated > 0 {
			fmt.Fprintf(w, "… and %d more %s\n", v.Errors.Truncated, human.Plural(v.Errors.Truncated, "error", "errors"))
		}
		return nil
	}
}
