package snapshot

import (
	"fmt"
	"strings"

	"github.com/rescoord/rescoord/internal/human"
)

// Error is one input error, located by a JSON path and, where the input is
// text, by line and column.
type Error struct {
	// File is the input's name ("" when unknown, "-" for stdin).
	File string
	// Path is the JSON path of the offending value, such as resources[12].owner.
	// It is empty for errors about the document as a whole.
	Path string
	// Line and Column are 1-based; zero when the place has no position.
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every input error found in one snapshot, in input order.
type Errors struct {
	List []*Error
	// Truncated counts the errors found beyond those kept in List.
	Truncated int
}

// Total is the number of errors found, kept or not.
func (e *Errors) Total() int { return len(e.List) + e.Truncated }

func (e *Errors) Error() string {
	if len(e.List) == 0 {
		return "invalid snapshot"
	}
	msg := e.List[0].Error()
	if n := e.Total() - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more %s)", n, human.Plural(n, "error", "errors"))
	}
	return msg
}

// Unwrap returns the errors kept, so errors.As finds an *Error.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, x := range e.List {
		out[i] = x
	}
	return out
}

func isPlainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return k != ""
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line = 1
	last := -1
	for i := 0; i < off; i++ {
		if data[i] == '\n' {
			line++
			last = i
		}
	}
	return line, off - last
}
