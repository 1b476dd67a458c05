// Package leaks finds and reports what a snapshot leaks: the rules and
// their findings (FindLeaks), leak signatures and grouping, suppressions,
// growth across a series of snapshots, and the report model every output
// format prints (Analyze, Report) — docs/leaks.md. It is a pure function
// of snapshot indexes: nothing here prints, reads flags or exits.
package leaks
