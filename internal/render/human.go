package render

import (
	"time"

	"github.com/rescoord/rescoord/internal/human"
)

// Bytes formats a size with binary units: 512 B, 4.0 KiB, 12.0 MiB.
func Bytes(n int64) string { return human.Bytes(n) }

// BytesOrDash is Bytes, or "-" for none.
func BytesOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return Bytes(n)
}

// Age formats a duration compactly: 850ms, 45s, 1m05s, 2h03m, 3d04h.
// A negative duration (a time after the snapshot) prints as "-".
func Age(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return human.Age(d)
}

// Since is Age(at - t), or "-" when t is unknown.
func Since(at, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return Age(at.Sub(t))
}

// Millis formats a duration given in milliseconds: 0s, 500ms, 2s, 1.5s,
// 1m30s; never negative, whatever the value.
func Millis(ms int64) string { return human.Millis(ms) }
