// Package registrytest checks a live registry for leaks where Go tests run:
// VerifyNone at the end of a test, Scope for one test's own subtree (so
// t.Parallel tests each see their own leaks), VerifyTestMain for a package.
// A failure shows the leak traces of `rescoord leaks`; see docs/testing.md.
package registrytest
