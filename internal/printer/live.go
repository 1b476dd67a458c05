package printer

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/rescoord/rescoord/internal/discovery"
	"github.com/rescoord/rescoord/internal/render"
)

// PsData is what `rescoord ps` prints: the discovery directory and the
// processes its files name, at Now.
type PsData struct {
	Dir       string
	Processes []discovery.Listed
	Now       time.Time
}

func (*PsData) kind() Kind { return Ps }

func psPrinter(format string, st *render.Styles) printFunc {
	return func(w io.Writer, d Data) error {
		p := d.(*PsData)
		if format == "json" {
			return writeJSON(w, struct {
				Dir       string             `json:"dir"`
				Processes []discovery.Listed `json:"processes"`
			}{p.Dir, p.Processes})
		}
		if len(p.Processes) == 0 {
			return nil
		}
		rows := make([][]string, 0, len(p.Processes))
		for _, l := range p.Processes {
			status := st.OK.Render("live")
			switch {
			case l.Refused != "":
				status = st.Error.Render("refused")
			case l.Stale:
				status = st.Warning.Render("stale")
			}
			token := ""
			if l.Token {
				token = "yes"
			}
			started := "-"
			if !l.StartedAt.IsZero() {
				started = render.Since(p.Now, l.StartedAt) + " ago"
			}
			rows = append(rows, []string{strconv.Itoa(l.PID), render.Escape(l.Process), render.Escape(l.Address), started, token, status})
		}
		return render.FitTable(w, st, []string{"PID", "PROCESS", "ADDRESS", "STARTED", "TOKEN", "STATUS"}, rows, "ADDRESS", "PROCESS")
	}
}

// AttachCheckData is what `rescoord attach-check` prints: the target and
// every check, in the order they ran.
type AttachCheckData struct {
	Target string
	Checks []CheckResult
}

func (*AttachCheckData) kind() Kind { return AttachCheck }

// Failed counts the checks that failed.
func (a *AttachCheckData) Failed() int {
	n := 0
	for _, c := range a.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// CheckResult is one check of attach-check. Want and Got may quote the
// server: the text escapes them.
type CheckResult struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Want string `json:"want"`
	Got  string `json:"got"`
}

// CheckLine is the text line of one check: "ok   name: got" or
// "FAIL name: want …, got …".
func CheckLine(r CheckResult) string {
	if r.OK {
		return fmt.Sprintf("ok   %s: %s", render.Escape(r.Name), render.Escape(r.Got))
	}
	return fmt.Sprintf("FAIL %s: want %s, got %s", render.Escape(r.Name), render.Escape(r.Want), render.Escape(r.Got))
}

func attachCheckPrinter(format string) printFunc {
	return func(w io.Writer, d Data) error {
		a := d.(*AttachCheckData)
		if format == "json" {
			return writeJSON(w, struct {
				Target string        `json:"target"`
				Checks []CheckResult `json:"checks"`
				Failed int           `json:"failed"`
			}{a.Target, a.Checks, a.Failed()})
		}
		for _, c := range a.Checks {
			if _, err := fmt.Fprintln(w, CheckLine(c)); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "%d checks, %d failed\n", len(a.Checks), a.Failed())
		return err
	}
}
