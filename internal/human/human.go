// Package human formats sizes and durations for people, the same way in
// messages (pkg/) and tables (cmd/): 12.0 MiB, 1m05s.
package human

import (
	"fmt"
	"strings"
	"time"
)

// Bytes formats a size with binary units: 512 B, 4.0 KiB, 12.0 MiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := -1
	for (v >= unit || v <= -unit) && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// Age formats a non-negative duration compactly: 850ms, 45s, 1m05s, 2h03m,
// 3d04h. A negative one prints as 0ms: a duration never prints negative.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "0ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Millis formats a duration given in milliseconds as time.Duration
// prints it — 0s, 500ms, 2s, 1.5s, 1m30s, 26h0m0s — for every value,
// where converting to a time.Duration would overflow past 292 years.
// A negative one prints as 0s.
func Millis(ms int64) string {
	switch {
	case ms <= 0:
		return "0s"
	case ms < 1000:
		return fmt.Sprintf("%dms", ms)
	case ms < 60_000:
		return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
	}
	s := ms / 1000
	if ms%1000 >= 500 {
		s++ // rounds half away from zero, as Duration.Round
	}
	if h := s / 3600; h > 0 {
		return fmt.Sprintf("%dh%dm%ds", h, s/60%60, s%60)
	}
	return fmt.Sprintf("%dm%ds", s/60, s%60)
}

// Compare orders two ids as people read them: runs of digits by their
// value, so media_tab_2 comes before media_tab_10; the rest byte by byte.
// Equal values with different digits (02 and 2) fall back to byte order.
func Compare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return cmpInt(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return cmpInt(int(ca), int(cb))
		}
		i++
		j++
	}
	if c := cmpInt(len(a)-i, len(b)-j); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Plural is one or many, as n asks: Plural(1, "step", "steps") is "step".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count is n and the noun that goes with it: "1 component", "2 components".
func Count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, Plural(n, one, many))
}
