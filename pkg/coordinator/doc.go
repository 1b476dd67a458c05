// Package coordinator holds what sits between an application's controllers
// and its resource registry: the coordinators (base, worker, UI), the
// cleanup planner and the leak rules. The planner and the rules are pure
// functions of a snapshot index: nothing here prints, reads flags or exits.
package coordinator
