package cmd

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/printer"
)

// TestOutput_EveryCommandWritesEveryFormatToAFile: for every command and
// every format of its table, -o FORMAT=PATH writes what -o FORMAT prints
// (piped: plain), and both can be given at once.
func TestOutput_EveryCommandWritesEveryFormatToAFile(t *testing.T) {
	t.Parallel()
	commands := []struct {
		args    []string
		formats []string
	}{
		{[]string{"list", "--demo"}, printer.Formats(printer.List).Names()},
		{[]string{"stats", "--demo"}, printer.Formats(printer.Stats).Names()},
		{[]string{"validate", "--demo"}, printer.Formats(printer.Validate).Names()},
		{[]string{"cleanup", "--dry-run", "--demo"}, printer.Formats(printer.Cleanup).Names()},
		{[]string{"graph", "--demo"}, printer.Formats(printer.Graph).Names()},
		{[]string{"leaks", "--demo"}, printer.Formats(printer.Leaks).Names()},
	}
	for _, c := range commands {
		for _, format := range c.formats {
			name := c.args[0] + "/" + format
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cli := newCLI(t)
				cli.env = map[string]string{}
				want := cli.run(append(slices.Clone(c.args), "-o", format)...)
				if want.Code > 1 {
					t.Fatalf("exit %d: %s", want.Code, want.Stderr)
				}
				path := filepath.Join(t.TempDir(), "out")
				got := cli.run(append(slices.Clone(c.args), "-o", format+"="+path, "-o", format)...)
				if got.Code != want.Code || got.Stdout != want.Stdout {
					t.Fatalf("with a file too: exit %d, stdout differs", got.Code)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != want.Stdout {
					t.Errorf("the file differs from standard output:\n%s\n---\n%s", b, want.Stdout)
				}
				if fi, _ := os.Stat(path); fi.Mode().Perm()&0o022 != 0 {
					t.Errorf("mode %v", fi.Mode())
				}
			})
		}
	}
}

// Refusals name the flag and what it takes, for every command.
func TestOutput_Refusals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"stats", "--demo", "-o", "yaml"}, `invalid --output "yaml": want text or json`},
		{[]string{"list", "--demo", "-o", "json", "-o", "csv"}, "at most one --output can go to standard output"},
		{[]string{"graph", "--demo", "-o", "dot="}, `give a path after =`},
		{[]string{"cleanup", "--dry-run", "--demo", "-o", "svg"}, `want text, wide, json, markdown or junit`},
	} {
		r := runCLI(t, tt.args...)
		if r.Code != ExitError || !strings.Contains(r.Stderr, tt.stderr) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", tt.args, r.Code, r.Stderr, tt.stderr)
		}
	}
}

// Every command that takes -o FORMAT has a printer kind, and its flag's
// help is that kind's table; import's -o is a path.
func TestOutput_EveryOutputFlagIsAPrinterTable(t *testing.T) {
	t.Parallel()
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}}
	seen := 0
	for _, c := range NewRootCmd(f).Commands() {
		fl := c.Flags().Lookup("output")
		kind, ok := kindOf(c)
		switch {
		case fl == nil && ok:
			t.Errorf("%s has a printer kind but no -o", c.Name())
		case fl == nil, c.Name() == "import":
		case !ok:
			t.Errorf("%s takes -o without a printer kind", c.Name())
		case fl.Usage != printer.Formats(kind).Usage():
			t.Errorf("%s -o help %q is not its table's", c.Name(), fl.Usage)
		default:
			seen++
		}
	}
	if seen < 8 {
		t.Errorf("%d commands print through a table, want 8", seen)
	}
}
