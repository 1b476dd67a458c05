// Package registry is the live resource registry a Go program embeds: it
// tracks components and the resources they own, cleans them up in the
// order pkg/coordinator's planner gives, notices leaks while running, and
// takes snapshots that rescoord reads. It is safe for concurrent use,
// returns errors, never prints, and takes contexts for everything that waits.
package registry
