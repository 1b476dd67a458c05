package planner

import "github.com/rescoord/rescoord/pkg/snapshot"

// DefaultCallbackTimeoutMS is a callback step's timeout when its cleanup
// sets none (docs/cleanup-ordering.md).
const DefaultCallbackTimeoutMS = 5000

// The default strategies (docs/cleanup-ordering.md), by index. Their action slices are
// shared by every step that uses them: read-only.
const (
	planStratWorker uint8 = iota
	planStratProcess
	planStratTimer
	planStratClose
	planStratQObject
	planStratRelease
)

var planStrategies = [...]struct {
	actions []string
	timeout int64
}{
	planStratWorker:  {[]string{"cancel", "quit", "wait", "terminate"}, 2000},
	planStratProcess: {[]string{"terminate", "wait", "kill"}, 5000},
	planStratTimer:   {[]string{"stop"}, 0},
	planStratClose:   {[]string{"close"}, 0},
	planStratQObject: {[]string{"disconnect", "deleteLater"}, 0},
	planStratRelease: {[]string{"release"}, 0},
}

var (
	actionsCall          = []string{"call"}
	actionsMarkDestroyed = []string{"mark destroyed"}
)

func planStrategyOf(resourceType string) uint8 {
	switch resourceType {
	case snapshot.TypeWorker, snapshot.TypeThread:
		return planStratWorker
	case snapshot.TypeProcess:
		return planStratProcess
	case snapshot.TypeTimer:
		return planStratTimer
	case snapshot.TypeFile, snapshot.TypeSocket:
		return planStratClose
	case snapshot.TypeQObject:
		return planStratQObject
	}
	return planStratRelease
}

// DefaultStrategy returns the actions and timeout docs/cleanup-ordering.md gives a resource
// type: worker and thread cancel → quit → wait → terminate (2000 ms),
// process terminate → wait → kill (5000 ms), timer stop, file and socket
// close, qobject disconnect → deleteLater, and every other type release
// (0 ms). The actions slice is shared: do not modify it.
func DefaultStrategy(resourceType string) (actions []string, timeoutMS int64) {
	st := &planStrategies[planStrategyOf(resourceType)]
	return st.actions, st.timeout
}

// KnownStrategy reports whether name picks a strategy in a resource's
// cleanup.strategy: the name of one of the format's resource types
// (snapshot.KnownTypes). NewPlan ignores any other name.
func KnownStrategy(name string) bool {
	return snapshot.IsKnownType(name)
}

// resourceStrategy is r's strategy: its cleanup.strategy when that names
// a known type, else its own type's; and whether its cleanup.timeout_ms is
// set, which replaces the strategy's default timeout (resourceTimeout).
func resourceStrategy(r *snapshot.Resource) (strat uint8, ownTimeout bool) {
	typ := r.Type
	if r.Cleanup != nil && r.Cleanup.Strategy != "" && KnownStrategy(r.Cleanup.Strategy) {
		typ = r.Cleanup.Strategy
	}
	return planStrategyOf(typ), r.Cleanup != nil && r.Cleanup.TimeoutMS != nil
}

// resourceTimeout is the timeout of r's step, strat its strategy: its
// cleanup.timeout_ms when set, else the strategy's default.
func resourceTimeout(r *snapshot.Resource, strat uint8) int64 {
	if r.Cleanup != nil && r.Cleanup.TimeoutMS != nil {
		return max(*r.Cleanup.TimeoutMS, 0)
	}
	return planStrategies[strat].timeout
}

// callbackTimeout is the cleanup's timeout_ms, or the default.
func callbackTimeout(c *snapshot.Cleanup) int64 {
	if c.TimeoutMS != nil {
		return max(*c.TimeoutMS, 0)
	}
	return DefaultCallbackTimeoutMS
}
