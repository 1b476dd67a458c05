// Package output holds the one output flag every command takes: -o FORMAT
// for standard output and, repeatable, -o FORMAT=PATH for files. A
// command's table of formats (internal/printer) drives the flag's
// validation, its --help text and its shell completion, so the three never
// disagree (docs/architecture.md).
package output

import (
	"fmt"
	"strings"
)

// Format is one format a command prints.
type Format struct {
	// Name is the value of -o.
	Name string
	// Help says what it prints, for --help and completion.
	Help string
	// Raw formats escape their own text (JSON, SARIF) and are written as
	// they are; the others go through render.SafeWriter (internal/printer).
	Raw bool
}

// Formats is a command's table of formats, its default first.
type Formats []Format

// Names lists the formats' names, the default first.
func (fs Formats) Names() []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// Default is the format printed when no -o is given.
func (fs Formats) Default() string { return fs[0].Name }

// Lookup finds the format called name.
func (fs Formats) Lookup(name string) (Format, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Usage is the -o flag's help text.
func (fs Formats) Usage() string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name
		if f.Help != "" {
			parts[i] += " (" + f.Help + ")"
		}
	}
	return "output format: " + strings.Join(parts, ", ") + "; repeatable as FORMAT=PATH to write a file (default " + fs.Default() + ")"
}

// Target is one -o value: a format, and the file it goes to ("" for
// standard output).
type Target struct {
	Format string
	Path   string
}

// UsageError is a -o value the table refuses.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Parse checks the -o values: known formats, a path after every "=", at
// most one to standard output. Without any value it is the default to
// standard output.
func (fs Formats) Parse(values []string) ([]Target, error) {
	if len(values) == 0 {
		return []Target{{Format: fs.Default()}}, nil
	}
	out := make([]Target, 0, len(values))
	stdout := 0
	for _, v := range values {
		format, path, hasPath := strings.Cut(v, "=")
		if _, ok := fs.Lookup(format); !ok {
			return nil, &UsageError{fmt.Sprintf("invalid --output %q: want %s", format, OrList(fs.Names()))}
		}
		if hasPath && path == "" {
			return nil, &UsageError{fmt.Sprintf("invalid --output %q: give a path after =, or just %s for standard output", v, format)}
		}
		if !hasPath {
			stdout++
		}
		out = append(out, Target{Format: format, Path: path})
	}
	if stdout > 1 {
		return nil, &UsageError{"at most one --output can go to standard output; write the others to files with FORMAT=PATH"}
	}
	return out, nil
}

// Stdout returns the target that goes to standard output, if any.
func Stdout(targets []Target) (Target, bool) {
	for _, t := range targets {
		if t.Path == "" {
			return t, true
		}
	}
	return Target{}, false
}

// OrList joins items as "a, b or c", for messages that list choices.
func OrList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
