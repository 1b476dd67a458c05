package human

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 12 << 20: "12.0 MiB", 3 << 30: "3.0 GiB", -2048: "-2.0 KiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{850 * time.Millisecond: "850ms", 45 * time.Second: "45s", 65 * time.Second: "1m05s",
		2*time.Hour + 3*time.Minute: "2h03m", 76 * time.Hour: "3d04h"} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestMillis_NeverNegative: every value prints as time.Duration would
// print it, the largest ones included, where a time.Duration overflows.
func TestMillis_NeverNegative(t *testing.T) {
	durationOf := func(ms int64) string {
		d := time.Duration(ms) * time.Millisecond
		if ms < 60_000 {
			return d.Round(100 * time.Millisecond).String()
		}
		return d.Round(time.Second).String()
	}
	for _, ms := range []int64{1000, 1049, 1050, 59_949, 59_950, 59_999, 60_000, 90_499, 90_500, 3_599_500, 3_600_000, 86_400_000, 604_800_000, 9_223_372_036_000} {
		if got, want := Millis(ms), durationOf(ms); got != want {
			t.Errorf("Millis(%d) = %q, want %q", ms, got, want)
		}
	}
	for ms, want := range map[int64]string{0: "0s", -5: "0s", 500: "500ms", 9_223_372_036_855: "2562047h47m17s",
		math.MaxInt64: "2562047788015h12m56s"} {
		if got := Millis(ms); got != want {
			t.Errorf("Millis(%d) = %q, want %q", ms, got, want)
		}
	}
	if got := Age(-time.Second); got != "0ms" {
		t.Errorf("Age(-1s) = %q, want 0ms", got)
	}
	if got := Bytes(math.MaxInt64); got != "8.0 EiB" {
		t.Errorf("Bytes(MaxInt64) = %q", got)
	}
}

func TestCompare_Natural(t *testing.T) {
	want := []string{"", "a", "media_tab_1", "media_tab_02", "media_tab_2", "media_tab_10", "media_tab_10b", "media_tab_100", "tab", "tab2x", "tab10"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, Compare)
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
	for _, s := range want {
		if Compare(s, s) != 0 {
			t.Errorf("Compare(%q, %q) != 0", s, s)
		}
	}
}
