package report

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"

	"github.com/rescoord/rescoord/pkg/leaks"
)

// jsonBlockFindings is how many findings make one block of JSON (about
// 128 KB).
const jsonBlockFindings = 256

// jsonPrinter writes the JSON of docs/leaks.md: {"findings": [...], "summary": {...}},
// indented like json.MarshalIndent with two spaces. Findings are written
// a block at a time (see writeBlocks), so a million of them take no more
// memory than a few blocks.
type jsonPrinter struct{}

// Print implements Printer.
func (jsonPrinter) Print(w io.Writer, r *leaks.Report) error {
	bw := bufio.NewWriter(w) // for what comes before and after the findings
	bw.WriteString("{\n  \"findings\": [")
	if err := bw.Flush(); err != nil {
		return err
	}
	// The scratch memory the text of a finding is made in
	// (leaks.ReportOptions.DeferText): one per worker, used again.
	scratch := sync.Pool{New: func() any { return new(leaks.Scratch) }}
	err := writeBlocks(w, len(r.Findings), jsonBlockFindings, func(b []byte, from, to int) []byte {
		s := scratch.Get().(*leaks.Scratch)
		defer scratch.Put(s)
		for i := from; i < to; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    "...)
			b = r.AppendFindingJSON(b, &r.Findings[i], s, "    ", "  ")
		}
		return b
	})
	if err != nil {
		return err
	}
	if len(r.Findings) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"summary\": ")
	sum, err := json.MarshalIndent(r.Summary, "  ", "  ")
	if err != nil {
		return err
	}
	bw.Write(sum)
	bw.WriteString("\n}\n")
	return bw.Flush()
}
