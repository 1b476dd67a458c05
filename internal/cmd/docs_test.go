package cmd

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// docCommand is a rescoord command line shown in the docs.
type docCommand struct {
	where string // file:line
	args  []string
}

// docCommands returns every rescoord command of the shell and console
// blocks of README.md and docs/*.md: the part of each line before a pipe,
// a redirection, a comment or a background &, line continuations joined.
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(absRoot, "docs", "*.md"))
	files = append(files, filepath.Join(absRoot, "README.md"))
	var out []docCommand
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		inShell, n, pending, at := false, 0, "", 0
		for sc.Scan() {
			n++
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "```") {
				lang := strings.TrimPrefix(trimmed, "```")
				inShell = !inShell && (lang == "sh" || lang == "console" || lang == "bash" || lang == "shell")
				continue
			}
			if !inShell {
				continue
			}
			if pending != "" {
				line = pending + " " + trimmed
			} else {
				at = n
			}
			if strings.HasSuffix(line, "\\") {
				pending = strings.TrimSuffix(line, "\\")
				continue
			}
			pending = ""
			cmd := strings.TrimPrefix(strings.TrimSpace(line), "$ ")
			for _, prefix := range []string{"go run . ", "./rescoord "} {
				if rest, ok := strings.CutPrefix(cmd, prefix); ok {
					cmd = "rescoord " + rest
				}
			}
			// A command after && or ; counts too.
			for _, part := range splitShell(cmd) {
				part = strings.TrimSpace(part)
				if !strings.HasPrefix(part, "rescoord ") {
					continue
				}
				args := shellWords(cut(part))
				if len(args) > 1 {
					rel, _ := filepath.Rel(absRoot, path)
					out = append(out, docCommand{where: rel + ":" + strconv.Itoa(at), args: args[1:]})
				}
			}
		}
		f.Close()
	}
	return out
}

// unquoted calls fn with the position of every byte of s outside single
// and double quotes; fn returns how many bytes to skip after it, or -1 to
// stop.
func unquoted(s string, fn func(i int) int) {
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		default:
			skip := fn(i)
			if skip < 0 {
				return
			}
			i += skip
		}
	}
}

// splitShell splits a line at && and ; outside quotes.
func splitShell(s string) []string {
	var out []string
	start := 0
	unquoted(s, func(i int) int {
		switch {
		case s[i] == ';':
			out, start = append(out, s[start:i]), i+1
		case s[i] == '&' && i+1 < len(s) && s[i+1] == '&':
			out, start = append(out, s[start:i]), i+2
			return 1
		}
		return 0
	})
	return append(out, s[start:])
}

// cut drops what follows the command itself: a comment, a pipe, a
// redirection, a background &.
func cut(s string) string {
	end := len(s)
	unquoted(s, func(i int) int {
		switch c := s[i]; {
		case c == '#' && i > 0 && s[i-1] == ' ', c == '|', c == '>', c == '<', c == '&':
			end = i
			return -1
		}
		return 0
	})
	return s[:end]
}

// shellWords splits a command into words, with single and double quotes.
func shellWords(s string) []string {
	var out []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

// TestDocs_EveryCommandParses: every rescoord command the README and the
// docs show names a command that exists, with flags it takes and values
// its flags accept, so that a renamed flag or command cannot leave the
// docs behind. The ones that read only the demo run, and must not be a
// usage error.
func TestDocs_EveryCommandParses(t *testing.T) {
	cmds := docCommands(t)
	if len(cmds) < 40 {
		t.Fatalf("found only %d commands in the docs: the extraction is broken", len(cmds))
	}
	ran := 0
	for _, dc := range cmds {
		root := NewRootCmd(&Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}}})
		c, rest, err := root.Find(dc.args)
		if err != nil || c == root && len(dc.args) > 0 && !strings.HasPrefix(dc.args[0], "-") {
			t.Errorf("%s: rescoord %s: no such command", dc.where, strings.Join(dc.args, " "))
			continue
		}
		if err := c.ParseFlags(rest); err != nil {
			t.Errorf("%s: rescoord %s: %v", dc.where, strings.Join(dc.args, " "), err)
			continue
		}
		if c.Args != nil {
			if err := c.Args(c, c.Flags().Args()); err != nil {
				t.Errorf("%s: rescoord %s: %v", dc.where, strings.Join(dc.args, " "), err)
			}
		}
		if !demoOnly(dc.args) {
			continue
		}
		ran++
		r := runCLI(t, dc.args...)
		if r.Code >= ExitError {
			t.Errorf("%s: rescoord %s: exit %d: %s", dc.where, strings.Join(dc.args, " "), r.Code, r.Stderr)
		}
	}
	t.Logf("%d commands in the docs, %d run on the demo", len(cmds), ran)
	if ran < 15 {
		t.Errorf("only %d commands ran on the demo", ran)
	}
}

// demoOnly reports whether a command reads the demo and writes only to
// standard output, so that it can run in the test as it is written.
func demoOnly(args []string) bool {
	demo := false
	for _, a := range args {
		switch {
		case a == "--demo":
			demo = true
		case strings.Contains(a, "=") && (strings.HasPrefix(a, "json=") || strings.HasPrefix(a, "sarif=") || strings.HasPrefix(a, "junit=") ||
			strings.HasPrefix(a, "markdown=") || strings.HasPrefix(a, "github=") || strings.HasPrefix(a, "text=") || strings.HasPrefix(a, "dot=") || strings.HasPrefix(a, "mermaid=") ||
			strings.HasPrefix(a, "table=") || strings.HasPrefix(a, "csv=") || strings.HasPrefix(a, "wide=")),
			a == "--attach", a == "--baseline", a == "--suppressions", a == "--yes", a == "-y":
			return false
		}
	}
	return demo
}
