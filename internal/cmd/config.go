package cmd

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/rescoord/rescoord/internal/printer"
	"github.com/rescoord/rescoord/internal/render"
)

// DefaultConfigFile is the project config read from the working directory
// when --config does not name one (docs/ci.md, "Project config").
const DefaultConfigFile = ".rescoord.yaml"

// maxConfigBytes bounds a config file.
const maxConfigBytes = 1 << 20

// configValue is one flag's value in the config file, with its place.
type configValue struct {
	values []string // one, or the items of a list (repeatable flags)
	line   int
}

// projectConfig is .rescoord.yaml: for each command, defaults of its
// flags by their long names. Flags given on the command line win.
type projectConfig struct {
	path     string
	commands map[string]map[string]configValue
	lines    map[string]int // where each command's section starts
}

// parseConfig reads a config file: a mapping of command names to mappings
// of flag names to a scalar or a list of scalars. Anything else — an
// unknown command or flag, a duplicate key, a second document — is an
// error with its line.
func parseConfig(data []byte, path string, root *cobra.Command) (*projectConfig, error) {
	pc := &projectConfig{path: path, commands: map[string]map[string]configValue{}, lines: map[string]int{}}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigBytes)
	}
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return pc, nil // an empty file
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fail(extra.Line, "a second document: the config is one mapping")
	}
	if len(doc.Content) == 0 {
		return pc, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fail(top.Line, "want a mapping of command names to their flags")
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		name := k.Value
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd == root || cmd.Name() != name {
			return nil, fail(k.Line, "unknown command %q", name)
		}
		if _, dup := pc.commands[name]; dup {
			return nil, fail(k.Line, "%s given twice", name)
		}
		if v.Kind != yaml.MappingNode {
			return nil, fail(v.Line, "%s: want a mapping of its flags (their long names) to values", name)
		}
		flags := map[string]configValue{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			fk, fv := v.Content[j], v.Content[j+1]
			fl := cmd.Flags().Lookup(fk.Value)
			if fl == nil {
				fl = cmd.InheritedFlags().Lookup(fk.Value)
			}
			switch {
			case fl == nil:
				return nil, fail(fk.Line, "%s: unknown flag %q (see 'rescoord %s --help')", name, fk.Value, name)
			case fl.Name == "config" || fl.Name == "help":
				return nil, fail(fk.Line, "%s: %s cannot be set in the config", name, fl.Name)
			}
			if _, dup := flags[fl.Name]; dup {
				return nil, fail(fk.Line, "%s.%s given twice", name, fl.Name)
			}
			cv := configValue{line: fv.Line}
			switch fv.Kind {
			case yaml.ScalarNode:
				cv.values = []string{fv.Value}
			case yaml.SequenceNode:
				if !repeatable(fl) {
					return nil, fail(fv.Line, "%s.%s takes one value, not a list", name, fl.Name)
				}
				for _, item := range fv.Content {
					if item.Kind != yaml.ScalarNode {
						return nil, fail(item.Line, "%s.%s: want a list of values", name, fl.Name)
					}
					cv.values = append(cv.values, item.Value)
				}
			default:
				return nil, fail(fv.Line, "%s.%s: want a value or a list of values", name, fl.Name)
			}
			for _, val := range cv.values {
				if err := checkConfigValue(cmd, fl, val); err != nil {
					return nil, fail(fv.Line, "%s.%s: %v", name, fl.Name, err)
				}
			}
			flags[fl.Name] = cv
		}
		pc.commands[name] = flags
		pc.lines[name] = k.Line
	}
	return pc, nil
}

// repeatable reports whether a flag takes several values (-o, --type).
func repeatable(fl *pflag.Flag) bool {
	return strings.HasSuffix(fl.Value.Type(), "Array") || strings.HasSuffix(fl.Value.Type(), "Slice") || fl.Value.Type() == "FORMAT"
}

// checkConfigValue checks a value with the flag's own Set, on a fresh
// copy of the command tree, so that a bad value is an error with its line
// — and one the command line would give too. The formats of -o and sizes
// are checked as the command will when it runs.
func checkConfigValue(cmd *cobra.Command, fl *pflag.Flag, val string) error {
	probe := NewRootCmd(&Factory{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	if c, _, err := probe.Find([]string{cmd.Name()}); err == nil {
		if pf := c.Flags().Lookup(fl.Name); pf != nil {
			if err := pf.Value.Set(val); err != nil {
				return err
			}
		}
	}
	switch fl.Name {
	case "growth-bytes", "min-size":
		_, err := parseSize(val)
		return err
	case "output":
		if kind, ok := kindOf(cmd); ok {
			_, err := printer.Formats(kind).Parse([]string{val})
			return err
		}
	}
	return nil
}

// apply sets, on the command about to run, the flags its section gives and
// the command line does not.
func (pc *projectConfig) apply(c *cobra.Command) error {
	for name, cv := range pc.commands[c.Name()] {
		fl := c.Flags().Lookup(name)
		if fl == nil || fl.Changed {
			continue
		}
		for _, v := range cv.values {
			if err := fl.Value.Set(v); err != nil {
				return usageError("%s:%d: %s.%s: %v", render.Escape(pc.path), cv.line, c.Name(), name, err)
			}
		}
	}
	return nil
}

// source says where a flag's value comes from.
func (pc *projectConfig) source(cmd, flag string) (configValue, bool) {
	if pc == nil {
		return configValue{}, false
	}
	cv, ok := pc.commands[cmd][flag]
	return cv, ok
}

// NewCmdConfig builds `rescoord config`.
func NewCmdConfig(f *Factory, runF func(*ConfigOptions) error) *cobra.Command {
	opts := &ConfigOptions{}
	c := &cobra.Command{
		Use:   "config [COMMAND...]",
		Short: "Print the effective settings of commands, and where each comes from",
		Long: `config prints, for each command named (default: those the project config
sets), every flag with the value the command would use and where it comes
from: the project config (.rescoord.yaml in the working directory, or
--config PATH) with its line, or the flag's default. Flags given on a
command line override both.`,
		Example: `  rescoord config
  rescoord config leaks cleanup
  rescoord config --config ci/rescoord.yaml leaks`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Commands = args
			if runF != nil {
				return runF(opts)
			}
			return runConfig(c, f, opts)
		},
	}
	return c
}

// ConfigOptions are the arguments of `rescoord config`.
type ConfigOptions struct {
	Commands []string
}

func runConfig(c *cobra.Command, f *Factory, opts *ConfigOptions) error {
	root := c.Root()
	pc := f.config
	names := opts.Commands
	if len(names) == 0 {
		if pc != nil {
			for name := range pc.commands {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		if len(names) == 0 {
			fmt.Fprintf(f.HumanOut(), "no project config (%s in the working directory, or --config PATH): every flag has its default\n", DefaultConfigFile)
			return nil
		}
	}
	w := f.HumanOut()
	st := f.Styles()
	for k, name := range names {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd == root || cmd.Name() != name {
			return usageError("unknown command %q", name)
		}
		if k > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, st.Title.Render("rescoord "+name))
		var rows [][]string
		cmd.Flags().VisitAll(func(fl *pflag.Flag) {
			if fl.Hidden || fl.Name == "help" {
				return
			}
			value, from := fl.DefValue, "default"
			if cv, ok := pc.source(name, fl.Name); ok {
				value = strings.Join(cv.values, ", ")
				from = pc.path + ":" + strconv.Itoa(cv.line)
			}
			rows = append(rows, []string{"--" + fl.Name, render.Escape(value), render.Escape(from)})
		})
		if err := render.FitTable(w, st, []string{"FLAG", "VALUE", "FROM"}, rows, "VALUE", "FROM"); err != nil {
			return err
		}
	}
	return nil
}
