package render

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// fastTableRows is the size above which Table aligns the columns itself:
// tablewriter lays out every cell through its general machinery, which
// costs seconds for the 100,000-row tables of large registries. Both paths
// print the same text (TestTable_FastPathMatchesTablewriter).
const fastTableRows = 1000

// Table writes rows as a borderless, left-aligned table like kubectl's,
// with the header styled by st. Cells are never wrapped or truncated.
// Untrusted text in a cell is escaped by the caller before it is styled;
// Table passes every cell through Cell, so none breaks a line or holds a
// control character but the colours of a style.
func Table(w io.Writer, st *Styles, header []string, rows [][]string) error {
	return FitTable(w, st, header, rows)
}

// FitTable is Table fitted to st.Width (the terminal's width; 0 for a
// pipe or a file, which get every cell whole): the cells of the columns
// named in shrink (by header) are truncated with Ellipsis, widest column
// first, after they are escaped (Truncate never cuts an escape or a
// character). Columns cannot shrink below their header or 10 cells.
func FitTable(w io.Writer, st *Styles, header []string, rows [][]string, shrink ...string) error {
	rows = cells(rows, Cell)
	rows = fitColumns(st.Width, header, rows, shrink)
	// Fitted, the table is aligned here: tablewriter pads a styled last
	// cell past its reset sequence, two blanks more than the width.
	if len(rows) > fastTableRows || hasLongCell(rows) || st.Width > 0 && len(shrink) > 0 {
		return alignedTable(w, st, header, rows)
	}
	styled := make([]string, len(header))
	for i, h := range header {
		styled[i] = st.Header.Render(h)
	}
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "  ", Overwrite: true}},
			},
			Row: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Padding:    tw.CellPadding{Global: tw.Padding{Right: "  ", Overwrite: true}},
			},
			Behavior: tw.Behavior{TrimSpace: tw.Off},
		}),
	)
	t.Header(styled)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	return writeTrimmed(w, buf.Bytes())
}

// longCell is the size from which Table aligns the columns itself:
// tablewriter copies a cell many times over (a 40 MB name took 600 MB).
const longCell = 4 << 10

func hasLongCell(rows [][]string) bool {
	for _, r := range rows {
		for _, c := range r {
			if len(c) > longCell {
				return true
			}
		}
	}
	return false
}

// alignedTable is Table for large tables: two passes, one to measure the
// columns, one to write the padded rows, through one buffer.
func alignedTable(w io.Writer, st *Styles, header []string, rows [][]string) error {
	widths := columnWidths(header, rows)
	bw := bufio.NewWriterSize(w, 256<<10)
	var line []byte
	writeRow := func(cells []string, styled func(int, string) string) {
		line = line[:0]
		for i := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := widths[i] - cellWidth(c) + 2
			if styled != nil {
				c = styled(i, c)
			}
			line = append(line, c...)
			for range pad {
				line = append(line, ' ')
			}
		}
		line = bytes.TrimRight(line, " ")
		line = append(line, '\n')
		bw.Write(line)
	}
	writeRow(header, func(_ int, h string) string { return st.Header.Render(h) })
	for _, r := range rows {
		writeRow(r, nil)
	}
	return bw.Flush()
}

// cellWidth is the width of a cell on a terminal, escape codes aside.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == 0x1b {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// writeTrimmed writes text without the padding at the end of each line.
func writeTrimmed(w io.Writer, text []byte) error {
	var out bytes.Buffer
	for line := range bytes.Lines(text) {
		out.Write(bytes.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}

// cells returns rows with each cell passed through f, copied only when a
// cell changes.
func cells(rows [][]string, f func(string) string) [][]string {
	out := rows
	for i, row := range rows {
		for j, c := range row {
			e := f(c)
			if e == c {
				continue
			}
			if &out[0] == &rows[0] {
				out = make([][]string, len(rows))
				copy(out, rows)
			}
			if &out[i][0] == &rows[i][0] {
				out[i] = append([]string(nil), row...)
			}
			out[i][j] = e
		}
	}
	return out
}

// MarkdownCell escapes a Markdown table cell: control characters as
// Escape shows them (a newline would end the row) and a pipe that would
// end the cell (one a backslash escapes already is kept). Emphasis and code
// spans the caller wrote are kept.
func MarkdownCell(s string) string {
	s = Escape(s)
	if strings.IndexByte(s, '|') < 0 {
		return s
	}
	var b strings.Builder
	for i := range len(s) {
		if s[i] == '|' && (i == 0 || s[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Markdown writes rows as a GitHub-flavoured Markdown table, each cell
// passed through MarkdownCell.
func Markdown(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
			},
			Row: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
			},
		}),
	)
	h := make([]string, len(header))
	for i, c := range header {
		h[i] = MarkdownCell(c)
	}
	t.Header(h)
	if err := t.Bulk(cells(rows, MarkdownCell)); err != nil {
		return err
	}
	return t.Render()
}

// columnWidths is the width of each column: its widest cell, header
// included.
func columnWidths(header []string, rows [][]string) []int {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = cellWidth(h)
	}
	for _, r := range rows {
		for i := 0; i < len(r) && i < len(widths); i++ {
			widths[i] = max(widths[i], cellWidth(r[i]))
		}
	}
	return widths
}
