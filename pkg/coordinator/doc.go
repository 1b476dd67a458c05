// Package coordinator holds the live coordinators that sit between an
// application's controllers and its resource registry: Base (any
// resources of one component), Workers (goroutines and other workers:
// cancel → quit → wait → terminate) and UI (GUI objects: disconnect →
// deleteLater), over the Registry interface that pkg/registry implements
// (docs/library.md, "Coordinators"). The cleanup planner is pkg/planner,
// the leak analysis pkg/leaks.
package coordinator
