package render

import (
	"math"
	"strings"
	"testing"
)

// TestMillis_HugeValuesNeverNegative: timeouts from a hostile snapshot
// once printed as negative or as 0s.
func TestMillis_HugeValuesNeverNegative(t *testing.T) {
	for _, ms := range []int64{9_223_372_036_855, 1 << 50, math.MaxInt64} {
		got := Millis(ms)
		if strings.HasPrefix(got, "-") || got == "0s" {
			t.Errorf("Millis(%d) = %q", ms, got)
		}
	}
	if got := Millis(-1); got != "0s" {
		t.Errorf("Millis(-1) = %q, want 0s", got)
	}
}
