package cmd

import (
	"fmt"
	"strconv"
	"strings"

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

// oneOf checks a flag value against the values it accepts.
func oneOf(flag, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return usageError("invalid %s %q: want %s", flag, value, orList(allowed))
}

// orList joins items as "a, b or c".
func orList(items []string) string { return output.OrList(items) }
