// Package snapshot is the rescoord snapshot format v1: the Go types of a
// registry snapshot, a strict decoder whose errors name the place
// (resources[12].owner, line:column), and an indexed view shared by every
// analysis (by id, children, subtrees, depth, live bytes).
package snapshot
