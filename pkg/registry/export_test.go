package registry

// LoopbackHostForTest exposes loopbackHost to the external tests.
var LoopbackHostForTest = loopbackHost
