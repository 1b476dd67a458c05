package snapshot

import (
	"encoding/json"
	"fmt"
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

// ResourceState is a resource's state: active, releasing or released. Only
// active and releasing resources are live. It is one byte rather than a
// string, so that a million decoded resources take 16 MB less
// (docs/performance.md, "A smaller resource"); its zero value is no state,
// which a decoded snapshot never holds.
type ResourceState uint8

// Resource states.
const (
	StateActive ResourceState = iota + 1
	StateReleasing
	StateReleased
)

// resourceStateNames are the states' names in the format, by value.
var resourceStateNames = [...]string{StateActive: "active", StateReleasing: "releasing", StateReleased: "released"}

// String is the state as the format writes it; "" for no state (or a
// value no constant has).
func (s ResourceState) String() string {
	if int(s) < len(resourceStateNames) {
		return resourceStateNames[s]
	}
	return ""
}

// ParseResourceState is the state the format names s, and false when s
// names none.
func ParseResourceState(s string) (ResourceState, bool) {
	for st, name := range resourceStateNames {
		if name != "" && name == s {
			return ResourceState(st), true
		}
	}
	return 0, false
}

// MarshalText writes the state as the format does; no state is an error.
func (s ResourceState) MarshalText() ([]byte, error) {
	if name := s.String(); name != "" {
		return []byte(name), nil
	}
	return nil, fmt.Errorf("resource state %d is none of active, releasing or released", uint8(s))
}

// UnmarshalText reads a state the format names.
func (s *ResourceState) UnmarshalText(b []byte) error {
	st, ok := ParseResourceState(string(b))
	if !ok {
		return fmt.Errorf("invalid state %q: want active, releasing or released", b)
	}
	*s = st
	return nil
}

// appendJSON appends the state as a JSON string.
func (s ResourceState) appendJSON(b []byte) []byte { return appendString(b, s.String()) }

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

// The snapshot tags are the table the decoders are generated from
// (docs/architecture.md, "A snapshot field"): snapshot:"READER" reads the
// field with the methods readREADER of the strict decoder and of the fast
// path (fields.go); ",required" reports it missing when absent or null;
// ",offset" keeps where its value starts, for the errors found once the
// object is read; snapshot:"extra" keeps the fields this version does not
// know. The top level is encoded by hand (encode.go streams its
// resources). After changing one, run go generate ./pkg/snapshot.
//
//go:generate go run ../../internal/tools/genfields -in types.go -out fields_gen.go -fast Component,Resource,Cleanup,CleanupSpec -strict Source,Limits -decode Snapshot

// Snapshot is one point-in-time view of a resource registry (format v1).
type Snapshot struct {
	Format     string      `json:"format" snapshot:"format,required"`
	TakenAt    time.Time   `json:"taken_at" snapshot:"time,required"`
	Source     Source      `json:"source" snapshot:"source"`
	Limits     Limits      `json:"limits" snapshot:"limits"`
	Components []Component `json:"components" snapshot:"components,required"`
	Resources  []Resource  `json:"resources" snapshot:"resources,required"`
	Cleanups   []Cleanup   `json:"cleanups" snapshot:"cleanups"`

	// Extra holds top-level fields this version does not know, kept raw.
	Extra map[string]json.RawMessage `json:"-" snapshot:"extra"`
}

// Source describes the process the snapshot was taken from.
type Source struct {
	Process  string `json:"process,omitempty" snapshot:"text"`
	PID      int64  `json:"pid,omitempty" snapshot:"count"`
	Host     string `json:"host,omitempty" snapshot:"text"`
	Runtime  string `json:"runtime,omitempty" snapshot:"text"`
	Producer string `json:"producer,omitempty" snapshot:"text"`
}

// Limits are the registry's byte limits. Zero means no limit.
type Limits struct {
	// GlobalBytes limits the live bytes of the whole registry.
	GlobalBytes int64 `json:"global_bytes,omitempty" snapshot:"count"`
	// Components limits the live bytes of a component's subtree, by component id.
	Components map[string]int64 `json:"components,omitempty" snapshot:"byteLimits"`
}

// Component is a tracked window, tab, controller, coordinator or plugin.
// A decoded snapshot may share one Labels map between components that have
// the same labels: treat it as read-only (assign a new map to change it).
type Component struct {
	ID          string            `json:"id" snapshot:"ident,required,offset"`
	Name        string            `json:"name,omitempty" snapshot:"text"`
	Type        string            `json:"type,omitempty" snapshot:"interned"`
	Parent      string            `json:"parent,omitempty" snapshot:"text,offset"`
	State       string            `json:"state" snapshot:"componentState,required"`
	CreatedAt   time.Time         `json:"created_at,omitzero" snapshot:"time"`
	DestroyedAt time.Time         `json:"destroyed_at,omitzero" snapshot:"time"`
	Labels      map[string]string `json:"labels,omitempty" snapshot:"labels"`

	// Extra holds fields this version does not know, kept raw. A decoded
	// snapshot may share one map between elements whose unknown fields are
	// the same: treat it as read-only (assign a new map to change it).
	Extra map[string]json.RawMessage `json:"-" snapshot:"extra"`
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
	ID        string        `json:"id" snapshot:"ident,required,offset"`
	Type      string        `json:"type" snapshot:"resourceType,required"`
	Owner     string        `json:"owner" snapshot:"owner,required"`
	Name      string        `json:"name,omitempty" snapshot:"interned"`
	State     ResourceState `json:"state" snapshot:"resourceState,required"`
	Running   bool          `json:"running,omitempty" snapshot:"bool"`
	SizeBytes int64         `json:"size_bytes,omitempty" snapshot:"count"`
	CreatedAt time.Time     `json:"created_at,omitzero" snapshot:"time"`
	DependsOn []string      `json:"depends_on,omitempty" snapshot:"refs"`
	Cleanup   *CleanupSpec  `json:"cleanup,omitempty" snapshot:"cleanupSpec"`
	// CreatedBy is the creation stack, innermost frame first.
	CreatedBy Stack `json:"created_by,omitzero" snapshot:"stack"`
	// Metadata is kept raw: it is only decoded when someone asks for it
	// (and not kept at all with Options.DropMetadata).
	Metadata Metadata `json:"metadata,omitzero" snapshot:"metadata"`

	// Extra holds fields this version does not know, kept raw. A decoded
	// snapshot may share one map between elements whose unknown fields are
	// the same: treat it as read-only (assign a new map to change it).
	Extra map[string]json.RawMessage `json:"-" snapshot:"extra"`
}

// Stack is a creation stack, innermost frame first. It is a handle on its
// frames, 8 bytes in a resource, and a decoded snapshot shares one list of
// frames between the resources created by the same code path
// (docs/performance.md, "A smaller resource"): the frames are read-only.
// The zero Stack has none.
type Stack struct{ frames *[]string }

// NewStack is a stack of a copy of frames; no frames give the zero Stack.
func NewStack(frames ...string) Stack {
	if len(frames) == 0 {
		return Stack{}
	}
	list := slices.Clone(frames)
	return Stack{&list}
}

// Frames are the stack's frames, innermost first (nil for none). They are
// shared: do not modify them (append copies them).
func (s Stack) Frames() []string {
	if s.frames == nil {
		return nil
	}
	return slices.Clip(*s.frames)
}

// Len is how many frames the stack has.
func (s Stack) Len() int { return len(s.Frames()) }

// Top is the innermost frame, where the resource was created; "" for none.
func (s Stack) Top() string {
	if f := s.Frames(); len(f) > 0 {
		return f[0]
	}
	return ""
}

// IsZero reports whether the stack has no frames.
func (s Stack) IsZero() bool { return s.Len() == 0 }

// MarshalJSON writes the frames as a JSON array.
func (s Stack) MarshalJSON() ([]byte, error) { return json.Marshal(s.Frames()) }

// UnmarshalJSON reads an array of frames (nulls in it dropped), or null.
func (s *Stack) UnmarshalJSON(b []byte) error {
	var frames []*string
	if err := json.Unmarshal(b, &frames); err != nil {
		return err
	}
	kept := make([]string, 0, len(frames))
	for _, f := range frames {
		if f != nil {
			kept = append(kept, *f)
		}
	}
	*s = NewStack(kept...)
	return nil
}

// Metadata is a resource's metadata, raw JSON. It is a handle on the bytes,
// 8 bytes in a resource (docs/performance.md, "A smaller resource"); the
// zero Metadata is none.
type Metadata struct{ raw *json.RawMessage }

// NewMetadata is the metadata raw, not copied; empty is none.
func NewMetadata(raw json.RawMessage) Metadata {
	if len(raw) == 0 {
		return Metadata{}
	}
	return Metadata{&raw}
}

// Raw is the metadata's JSON, nil for none. It is shared: do not modify it.
func (m Metadata) Raw() json.RawMessage {
	if m.raw == nil {
		return nil
	}
	return slices.Clip(*m.raw)
}

// IsZero reports whether there is no metadata.
func (m Metadata) IsZero() bool { return len(m.Raw()) == 0 }

// MarshalJSON writes the metadata as it is, or null for none.
func (m Metadata) MarshalJSON() ([]byte, error) {
	if m.IsZero() {
		return []byte("null"), nil
	}
	return m.Raw(), nil
}

// UnmarshalJSON keeps a copy of b; null is none.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Metadata{}
		return nil
	}
	*m = NewMetadata(slices.Clone(b))
	return nil
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
	Strategy string `json:"strategy,omitempty" snapshot:"text"`
	// TimeoutMS is nil when the snapshot does not set it.
	TimeoutMS *int64 `json:"timeout_ms,omitempty" snapshot:"timeout"`
}

// Cleanup is a cleanup callback registered for a component.
type Cleanup struct {
	ID        string `json:"id,omitempty" snapshot:"text,offset"`
	Component string `json:"component" snapshot:"text,required"`
	Name      string `json:"name,omitempty" snapshot:"text"`
	Priority  int64  `json:"priority" snapshot:"priority,required"`
	// TimeoutMS is nil when the snapshot does not set it.
	TimeoutMS *int64 `json:"timeout_ms,omitempty" snapshot:"timeout"`
}
