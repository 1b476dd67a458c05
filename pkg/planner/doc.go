// Package planner plans the cleanup of a snapshot: the exact, deterministic
// order in which a registry's callbacks, resources and components are
// released, why each step stands where it does, the worst case and the
// critical path (docs/cleanup-ordering.md), and the verdict against a
// shutdown deadline (docs/ci.md). It is a pure function of a snapshot
// index: nothing here prints, reads flags or exits. pkg/registry runs the
// very plans it makes.
package planner
