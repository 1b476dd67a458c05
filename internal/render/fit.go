package render

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Ellipsis ends a truncated cell.
const Ellipsis = "…"

// minFitColumn is the narrowest a shrinkable column gets (its header aside).
const minFitColumn = 10

// Truncate returns s cut to at most width terminal cells, ending with
// Ellipsis when it was cut. s is a cell as Table prints it: already
// escaped, perhaps styled. Truncate never cuts inside a UTF-8 character or
// a grapheme cluster, inside a colour sequence, or inside an escape Escape
// wrote (\n, \xNN, \uNNNN); a style left open by the cut is reset.
func Truncate(s string, width int) string {
	if width <= 0 || cellWidth(s) <= width {
		return s
	}
	var b strings.Builder
	used, styled := 0, false
	for i := 0; i < len(s); {
		if n := colorSequence(s[i:]); n > 0 {
			seq := s[i : i+n]
			styled = seq != "\x1b[0m" && seq != "\x1b[m"
			b.WriteString(seq)
			i += n
			continue
		}
		n, w := textUnit(s[i:])
		if used+w > width-1 {
			break
		}
		b.WriteString(s[i : i+n])
		used += w
		i += n
	}
	b.WriteString(Ellipsis)
	if styled {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

// textUnit returns the length and the width of what s starts with that
// must not be cut: an escape as Escape writes it, an ASCII byte, or a
// grapheme cluster.
func textUnit(s string) (n, width int) {
	c := s[0]
	if c == '\\' && len(s) >= 2 {
		switch s[1] {
		case 'n', 'r', 't':
			return 2, 2
		case 'x':
			if len(s) >= 4 && isHex(s[2]) && isHex(s[3]) {
				return 4, 4
			}
		case 'u':
			if len(s) >= 6 && isHex(s[2]) && isHex(s[3]) && isHex(s[4]) && isHex(s[5]) {
				return 6, 6
			}
		}
	}
	if c < utf8.RuneSelf {
		if c < 0x20 || c == 0x7f {
			return 1, 0
		}
		return 1, 1
	}
	cluster, _, w, _ := uniseg.FirstGraphemeClusterInString(s, -1)
	return len(cluster), w
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// fitColumns returns rows with the cells of the shrinkable columns
// truncated so that the table fits width cells (two blanks between
// columns), taking from the widest shrinkable column first and none below
// minFitColumn or its header. A table that fits, or a width of 0, is
// returned as it is; columns that cannot shrink enough overflow.
func fitColumns(width int, header []string, rows [][]string, shrink []string) [][]string {
	if width <= 0 || len(shrink) == 0 {
		return rows
	}
	widths := columnWidths(header, rows)
	// floor is how far each column may shrink: not at all unless named.
	floor := append([]int(nil), widths...)
	for i, h := range header {
		if slices.Contains(shrink, h) {
			floor[i] = min(widths[i], max(cellWidth(h), minFitColumn))
		}
	}
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	if total <= width {
		return rows
	}
	limit := append([]int(nil), widths...)
	for excess := total - width; excess > 0; excess-- {
		widest := -1
		for i := range limit {
			if limit[i] > floor[i] && (widest < 0 || limit[i] > limit[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		limit[widest]--
	}
	out := make([][]string, len(rows))
	for k, r := range rows {
		out[k] = r
		for i := 0; i < len(r) && i < len(limit); i++ {
			if limit[i] < widths[i] && cellWidth(r[i]) > limit[i] {
				if &out[k][0] == &r[0] {
					out[k] = append([]string(nil), r...)
				}
				out[k][i] = Truncate(r[i], limit[i])
			}
		}
	}
	return out
}
