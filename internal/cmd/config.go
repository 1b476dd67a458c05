package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// DefaultConfigFile is the settings file read from the working directory
// when --config is not given (README, "Settings file").
const DefaultConfigFile = ".rescoord.yaml"

// maxConfigBytes bounds a settings file, as suppressions are bounded.
const maxConfigBytes = 1 << 20

// configKeys are the settings a file may give: each is the default of the
// leaks flag of the same name ("output" is -o, a list).
var configKeys = []string{"fail-on", "severity", "grace", "max-age", "growth-count", "growth-bytes", "growth-percent", "suppressions", "output"}

// setting is one value of a settings file and the line it is on.
type setting struct {
	key    string
	values []string // one, or the items of a list ("output")
	line   int
}

// config is a settings file as read.
type config struct {
	file     string
	settings []setting
}

func (c *config) get(key string) (setting, bool) {
	if c == nil {
		return setting{}, false
	}
	for _, s := range c.settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

// readLimitedFile reads a file rescoord is configured by: at most limit
// bytes, a regular file only. The default file (def) comes with the
// working tree — a pull request can ship it — so it must be the file
// itself: a symbolic link, FIFO, device or directory there is not read,
// with a warning (docs/leaks.md#suppressions), and a missing one is no
// file (nil, nil). A file named on the command line is followed through
// links, and must be regular too. what names it in errors.
func readLimitedFile(f *Factory, path string, def bool, what string, limit int64) ([]byte, error) {
	flag := os.O_RDONLY | syscall.O_NONBLOCK // opening a FIFO never waits for a writer
	if def {
		flag |= syscall.O_NOFOLLOW
	}
	file, err := os.OpenFile(path, flag, 0)
	switch {
	case def && errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case def && errors.Is(err, syscall.ELOOP):
		warnf(f, "%s is a symbolic link: not read, no %s apply (commit the file itself)", path, what)
		return nil, nil
	case err != nil:
		return nil, inputError(err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, inputError(err)
	}
	if !fi.Mode().IsRegular() {
		if def {
			warnf(f, "%s is not a regular file (%s): not read, no %s apply", path, fileKind(fi.Mode()), what)
			return nil, nil
		}
		return nil, usageError("invalid %s file: %s is not a regular file (%s)", strings.TrimSuffix(what, "s"), render.Escape(path), fileKind(fi.Mode()))
	}
	data, err := io.ReadAll(io.LimitReader(file, limit+1))
	if err != nil {
		return nil, inputError(err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// loadConfig reads --config PATH, or .rescoord.yaml in the working
// directory when present; nil when there is none.
func loadConfig(f *Factory) (*config, error) {
	path, def := f.ConfigPath, f.ConfigPath == ""
	if def {
		path = DefaultConfigFile
	}
	data, err := readLimitedFile(f, path, def, "settings", maxConfigBytes)
	if err != nil || data == nil {
		return nil, err
	}
	c, err := parseConfig(data, path)
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("invalid settings file: %w", err)}
	}
	return c, nil
}

// yamlErrLine reads the line from a go-yaml error message.
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseConfig reads a settings file: one mapping of configKeys to
// scalars (output: a scalar or a list of them). Unknown keys, repeated
// keys and values of the wrong shape are errors with file:line.
func parseConfig(data []byte, file string) (*config, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes (1 MiB)", file, maxConfigBytes)
	}
	out := &config{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return out, nil
	} else if err != nil {
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", file, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		return nil, fmt.Errorf("%s:%d: a second YAML document: a settings file holds one (remove the ---)", file, next.Line)
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of settings (%s)", file, root.Line, strings.Join(configKeys, ", "))
	}
	var errs []error
	fail := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...)))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode:
			fail(k, "a key must be a name")
			continue
		case !contains(configKeys, key):
			fail(k, "unknown key %q: want %s", render.Escape(key), strings.Join(configKeys, ", "))
			continue
		case seen[key] > 0:
			fail(k, "%s is given twice (first on line %d)", key, seen[key])
			continue
		}
		seen[key] = k.Line
		s := setting{key: key, line: k.Line}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
			s.values = []string{v.Value}
		case v.Kind == yaml.SequenceNode && key == "output":
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					fail(item, "output: want FORMAT or FORMAT=PATH")
					continue
				}
				s.values = append(s.values, item.Value)
			}
		default:
			fail(v, "%s: want a single value", key)
			continue
		}
		out.settings = append(out.settings, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// applyConfig gives the flags of c that the command line leaves unset the
// values of the settings file: through the flags themselves, so a bad
// value is refused as the flag would refuse it, with the file and line.
func applyConfig(f *Factory, c *cobra.Command) error {
	cfg, err := loadConfig(f)
	if err != nil || cfg == nil {
		return err
	}
	for _, s := range cfg.settings {
		fl := c.Flags().Lookup(s.key)
		if fl == nil || fl.Changed {
			continue
		}
		for _, v := range s.values {
			if check := configChecks[s.key]; check != nil {
				if err := check(v); err != nil {
					return usageError("invalid settings file: %s:%d: %s: %v", render.Escape(cfg.file), s.line, s.key, err)
				}
			}
			if err := c.Flags().Set(s.key, v); err != nil {
				return usageError("invalid settings file: %s:%d: %s: %v", render.Escape(cfg.file), s.line, s.key, err)
			}
		}
		fl.Changed = false // still the file's, not the command line's
	}
	return nil
}

// configChecks check the values of the settings whose flag takes any
// string, so that a bad one is refused with its file and line.
var configChecks = map[string]func(string) error{
	"fail-on":  func(v string) error { _, err := leaks.ParseSeverity(v, true); return err },
	"severity": func(v string) error { _, err := leaks.ParseSeverity(v, false); return err },
	"growth-bytes": func(v string) error {
		_, err := parseSize(v)
		return err
	},
	"output": func(v string) error { _, err := leaksFormats.Parse([]string{v}); return err },
}

// NewCmdConfig builds `rescoord config`: the effective settings of leaks
// and where each comes from.
func NewCmdConfig(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Show the settings in effect (" + DefaultConfigFile + " or --config) and where each comes from",
		Long: `config prints the defaults rescoord leaks runs with: for each setting, its
value and where it comes from — the settings file (--config PATH, else
` + DefaultConfigFile + ` in the working directory when present) with its line, or
rescoord's own default. Flags given on the command line override both.

Keys: ` + strings.Join(configKeys, ", ") + `; output is a format, FORMAT=PATH, or a
list of them. See README, "Settings file".`,
		Example: `  rescoord config
  rescoord config --config ci/rescoord.yaml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			lc := NewCmdLeaks(f, func(*LeaksOptions) error { return nil })
			cfg, err := loadConfig(f)
			if err != nil {
				return err
			}
			if err := checkConfig(cfg, lc); err != nil {
				return err
			}
			rows := make([][]string, 0, len(configKeys))
			for _, key := range configKeys {
				fl := lc.Flags().Lookup(key)
				value, from := fl.DefValue, "default"
				if key == "output" {
					value = leaksFormats.Default()
				}
				if s, ok := cfg.get(key); ok {
					value = strings.Join(s.values, ", ")
					from = fmt.Sprintf("%s:%d", cfg.file, s.line)
				}
				if value == "" {
					value = "-"
				}
				rows = append(rows, []string{key, render.Escape(value), render.Escape(from)})
			}
			return render.Table(f.HumanOut(), f.Styles(), []string{"SETTING", "VALUE", "FROM"}, rows)
		},
	}
}

// checkConfig refuses the bad values of cfg as applyConfig would, on a
// copy of the flags of c.
func checkConfig(cfg *config, c *cobra.Command) error {
	if cfg == nil {
		return nil
	}
	for _, s := range cfg.settings {
		for _, v := range s.values {
			if err := checkSetting(c, s.key, v); err != nil {
				return usageError("invalid settings file: %s:%d: %s: %v", render.Escape(cfg.file), s.line, s.key, err)
			}
		}
	}
	return nil
}

// checkSetting checks one value of key: its own check, then its flag's
// parser (a duration, a number).
func checkSetting(c *cobra.Command, key, v string) error {
	if check := configChecks[key]; check != nil {
		if err := check(v); err != nil {
			return err
		}
	}
	if key == "output" {
		return nil
	}
	fl := c.Flags().Lookup(key)
	if fl == nil {
		return nil
	}
	old, changed := fl.Value.String(), fl.Changed
	err := c.Flags().Set(key, v)
	_ = fl.Value.Set(old)
	fl.Changed = changed
	return err
}
