package cmd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rescoord/rescoord/internal/output"
)

// parseSize reads a byte size: 4096, 512KiB, 10MB, 1.5GiB (KB=1000, KiB=1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1e3, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1e6, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1e9, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1e12, "tib": 1 << 40,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || v < 0 {
		return 0, fmt.Errorf("invalid size %q: want bytes or a number with a unit such as 512KiB, 10MB, 1.5GiB", s)
	}
	return int64(v * mult), nil
}

// orList joins items as "a, b or c".
func orList(items []string) string { return output.OrList(items) }

// enumValue is a string flag that takes one of a few values, refused at
// parse time: its table of values drives the check, the help text and the
// completion (as cli/cli's StringEnumFlag), and a project config's value
// is checked by the same Set.
type enumValue struct {
	p       *string
	allowed []string
}

func (e *enumValue) String() string { return *e.p }
func (e *enumValue) Type() string   { return "string" }
func (e *enumValue) Set(v string) error {
	if !slices.Contains(e.allowed, v) {
		return fmt.Errorf("want %s", orList(e.allowed))
	}
	*e.p = v
	return nil
}

// enumFlag defines --name on fs, one of allowed (def the default), and
// completes its values.
func enumFlag(c *cobra.Command, fs *pflag.FlagSet, p *string, name, def string, allowed []string, usage string) {
	*p = def
	fs.Var(&enumValue{p: p, allowed: allowed}, name, usage+": "+orList(allowed))
	_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}
