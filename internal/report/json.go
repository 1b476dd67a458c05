package report

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// jsonPrinter writes SPEC §5: {"findings": [...], "summary": {...}},
// indented like json.MarshalIndent with two spaces. Findings are written
// one at a time, so a million of them take no more memory than one.
type jsonPrinter struct{}

// Print implements Printer.
func (jsonPrinter) Print(w io.Writer, r *coordinator.Report) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString("{\n  \"findings\": [")
	buf := make([]byte, 0, 1024)
	for i := range r.Findings {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		buf = r.Findings[i].AppendJSON(buf[:0], "    ", "  ")
		bw.Write(buf)
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
