package snapshot

import (
	"encoding/json"
	"slices"
	"time"
)

// FormatV1 is the format string this package writes.
const FormatV1 = "rescoord/v1"

// Component states.
const (
	StateAlive     = "alive"
	StateDestroyed = "destroyed"
)

// Resource states. Only active and releasing resources are live.
const (
	StateActive    = "active"
	StateReleasing = "releasing"
	StateReleased  = "released"
)

// Resource types named by the format. Any other string is kept as a custom type.
const (
	TypeWorker  = "worker"
	TypeThread  = "thread"
	TypeTimer   = "timer"
	TypeProcess = "process"
	TypeFile    = "file"
	TypeSocket  = "socket"
	TypeQObject = "qobject"
	TypeMemory  = "memory"
	TypePool    = "pool"
	TypeCustom  = "custom"
)

// knownTypes are the resource types the format names, in display order.
var knownTypes = [...]string{
	TypeWorker, TypeThread, TypeTimer, TypeProcess, TypeFile, TypeSocket,
	TypeQObject, TypeMemory, TypePool, TypeCustom,
}

// KnownTypes lists the resource types the format names, in display order
// (a new slice each call).
func KnownTypes() []string { return slices.Clone(knownTypes[:]) }

// IsKnownType reports whether t is one of the types the format names.
func IsKnownType(t string) bool { return slices.Contains(knownTypes[:], t) }

// Snapshot is one point-in-time view of a resource registry (format v1).
type Snapshot struct {
	Format     string      `json:"format"`
	TakenAt    time.Time   `json:"taken_at"`
	Source     Source      `json:"source"`
	Limits     Limits      `json:"limits"`
	Components []Component `json:"components"`
	Resources  []Resource  `json:"resources"`
	Cleanups   []Cleanup   `json:"cleanups"`

	// Extra holds top-level fields this version does not know, kept raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// Source describes the process the snapshot was taken from.
type Source struct {
	Process  string `json:"process,omitempty"`
	PID      int64  `json:"pid,omitempty"`
	Host     string `json:"host,omitempty"`
	Runtime  string `json:"runtime,omitempty"`
	Producer string `json:"producer,omitempty"`
}

// Limits are the registry's byte limits. Zero means no limit.
type Limits struct {
	// GlobalBytes limits the live bytes of the whole registry.
	GlobalBytes int64 `json:"global_bytes,omitempty"`
	// Components limits the live bytes of a component's subtree, by component id.
	Components map[string]int64 `json:"components,omitempty"`
}

// Component is a tracked window, tab, controller, coordinator or plugin.
type Component struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	Type        string            `json:"type,omitempty"`
	Parent      string            `json:"parent,omitempty"`
	State       string            `json:"state"`
	CreatedAt   time.Time         `json:"created_at,omitzero"`
	DestroyedAt time.Time         `json:"destroyed_at,omitzero"`
	Labels      map[string]string `json:"labels,omitempty"`

	// Extra holds fields this version does not know, kept raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// Alive reports whether the component has not been destroyed.
func (c *Component) Alive() bool { return c.State == StateAlive }

// DisplayName is the component's name, or its id when it has none.
func (c *Component) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// Resource is one tracked resource owned by a component.
type Resource struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	Owner     string       `json:"owner"`
	Name      string       `json:"name,omitempty"`
	State     string       `json:"state"`
	Running   bool         `json:"running,omitempty"`
	SizeBytes int64        `json:"size_bytes,omitempty"`
	CreatedAt time.Time    `json:"created_at,omitzero"`
	DependsOn []string     `json:"depends_on,omitempty"`
	Cleanup   *CleanupSpec `json:"cleanup,omitempty"`
	// CreatedBy is the creation stack, innermost frame first. A decoded
	// snapshot may share one list between resources created by the same
	// code path: treat it as read-only (append copies it).
	CreatedBy []string `json:"created_by,omitempty"`
	// Metadata is kept raw: it is only decoded when someone asks for it.
	Metadata json.RawMessage `json:"metadata,omitempty"`

	// Extra holds fields this version does not know, kept raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// Live reports whether the resource is active or releasing.
func (r *Resource) Live() bool { return r.State == StateActive || r.State == StateReleasing }

// DisplayName is the resource's name, or its id when it has none.
func (r *Resource) DisplayName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// CanRun reports whether the resource's type is one for which running matters.
func (r *Resource) CanRun() bool {
	switch r.Type {
	case TypeWorker, TypeThread, TypeTimer, TypeProcess:
		return true
	}
	return false
}

// CleanupSpec overrides the default cleanup strategy or timeout of a resource.
type CleanupSpec struct {
	Strategy string `json:"strategy,omitempty"`
	// TimeoutMS is nil when the snapshot does not set it.
	TimeoutMS *int64 `json:"timeout_ms,omitempty"`
}

// Cleanup is a cleanup callback registered for a component.
type Cleanup struct {
	ID        string `json:"id,omitempty"`
	Component string `json:"component"`
	Name      string `json:"name,omitempty"`
	Priority  int64  `json:"priority"`
	// TimeoutMS is nil when the snapshot does not set it.
	TimeoutMS *int64 `json:"timeout_ms,omitempty"`
}
