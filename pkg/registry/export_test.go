package registry

import "time"

// LoopbackHostForTest exposes loopbackHost to the external tests.
var LoopbackHostForTest = loopbackHost

// WithProgressIntervalForTest sets how often POST /cleanup reports progress.
func WithProgressIntervalForTest(d time.Duration) ServeOption {
	return func(c *serveConfig) { c.progressEvery = d }
}
