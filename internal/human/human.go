// Package human formats sizes and durations for people, the same way in
// messages (pkg/) and tables (cmd/): 12.0 MiB, 1m05s.
package human

import (
	"fmt"
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
