package snapshot

import (
	"slices"
	"time"
)

// The readers a field's snapshot tag names (types.go), each a pair side by
// side: readX on the strict decoder, which reads the value at d.pos and
// says what is wrong with it (at is where the value starts, after the
// colon), and readX on the fast path, which reads it only when the strict
// one would accept it without an error and otherwise reports false. The
// objects' readings that call them are generated into fields_gen.go
// (docs/architecture.md, "A snapshot field").

// ident: an object's id, a string that must not be empty.
func (d *decoder) readIdent(dst *string, at int) { d.nonEmpty(dst, at, "id") }

// nonEmpty reads a string, or null, and reports an empty one as what.
func (d *decoder) nonEmpty(dst *string, at int, what string) {
	var ok bool
	if *dst, ok = d.str(); ok && *dst == "" {
		d.errAt(at, "%s must not be empty", what)
	}
}

func (f *fast) readIdent(dst *string) bool {
	var ok bool
	*dst, ok = f.str()
	return ok && *dst != ""
}

// text: a string, or null ("").
func (d *decoder) readText(dst *string, _ int) { *dst, _ = d.str() }

func (f *fast) readText(dst *string) bool {
	var ok bool
	*dst, ok = f.optStr()
	return ok
}

// interned: a string, or null (""), that repeats across a snapshot: the
// fast path keeps one copy.
func (d *decoder) readInterned(dst *string, _ int) { *dst, _ = d.str() }

func (f *fast) readInterned(dst *string) bool {
	s, ok := f.optView()
	*dst = f.intern(s)
	return ok
}

// resourceType: a resource type, not empty; the known ones are kept as the
// constants.
func (d *decoder) readResourceType(dst *string, at int) { d.nonEmpty(dst, at, "type") }

func (f *fast) readResourceType(dst *string) bool {
	s, ok := f.view()
	*dst = f.internType(s)
	return ok && s != ""
}

// internType returns the constant for a known resource type, so that the
// snapshot's most repeated strings compare by pointer.
func (f *fast) internType(t string) string {
	for _, k := range knownTypes {
		if t == k {
			return k
		}
	}
	return f.intern(t)
}

// owner: a component id; the fast path keeps the component's own string.
func (d *decoder) readOwner(dst *string, _ int) { *dst, _ = d.str() }

func (f *fast) readOwner(dst *string) bool {
	s, ok := f.view()
	*dst = f.owner(s)
	return ok
}

// componentState: alive or destroyed.
func (d *decoder) readComponentState(dst *string, at int) {
	d.state(dst, at, "alive or destroyed", componentStates[:])
}

func (f *fast) readComponentState(dst *string) bool { return f.state(dst, componentStates[:]) }

// resourceState: active, releasing or released.
func (d *decoder) readResourceState(dst *ResourceState, at int) {
	s, ok := d.str()
	if !ok {
		return
	}
	if *dst, ok = ParseResourceState(s); !ok {
		d.errAt(at, "invalid state %q: want active, releasing or released", s)
	}
}

// readResourceState compares with the states most common first.
func (f *fast) readResourceState(dst *ResourceState) bool {
	s, ok := f.view()
	if !ok {
		return false
	}
	for _, st := range [...]ResourceState{StateActive, StateReleased, StateReleasing} {
		if s == resourceStateNames[st] {
			*dst = st
			return true
		}
	}
	return false
}

// The component states, most common first (the fast path compares in this
// order).
var componentStates = [...]string{StateAlive, StateDestroyed}

// state reads a state, a string or null, and reports one that is none of
// states (want names them).
func (d *decoder) state(dst *string, at int, want string, states []string) {
	var ok bool
	if *dst, ok = d.str(); ok && !slices.Contains(states, *dst) {
		d.errAt(at, "invalid state %q: want %s", *dst, want)
	}
}

// state reads one of states, kept as the constant.
func (f *fast) state(dst *string, states []string) bool {
	s, ok := f.view()
	if !ok {
		return false
	}
	for _, st := range states {
		if s == st {
			*dst = st
			return true
		}
	}
	return false
}

// time: an RFC 3339 timestamp string, or null (zero).
func (d *decoder) readTime(dst *time.Time, _ int) { *dst, _ = d.timestamp() }

func (f *fast) readTime(dst *time.Time) bool {
	var ok bool
	*dst, ok = f.optTime()
	return ok
}

// bool: true, false or null (false).
func (d *decoder) readBool(dst *bool, _ int) { *dst, _ = d.boolean() }

func (f *fast) readBool(dst *bool) bool {
	var ok bool
	*dst, ok = f.optBool()
	return ok
}

// count: an integer, not negative, or null (0).
func (d *decoder) readCount(dst *int64, _ int) { *dst, _ = d.integer(0) }

func (f *fast) readCount(dst *int64) bool {
	var ok bool
	*dst, _, ok = f.optInt(0)
	return ok
}

// priority: an integer from -2^62 (the lowest the planner orders by).
func (d *decoder) readPriority(dst *int64, _ int) { *dst, _ = d.integer(-1 << 62) }

func (f *fast) readPriority(dst *int64) bool {
	var ok bool
	*dst, ok = f.integer(-1 << 62)
	return ok
}

// timeout: milliseconds, from 0 to MaxTimeoutMS, or null (not set).
func (d *decoder) readTimeout(dst **int64, _ int) {
	if n, ok := d.timeout(); ok {
		*dst = &n
	}
}

func (f *fast) readTimeout(dst **int64) bool {
	n, present, ok := f.optInt(0)
	if present {
		*dst = f.int64(n)
	}
	return ok && n <= MaxTimeoutMS
}

// refs: an array of ids (nulls in it dropped), or null.
func (d *decoder) readRefs(dst *[]string, _ int) { *dst = d.strings() }

func (f *fast) readRefs(dst *[]string) bool {
	var ok bool
	*dst, ok = f.strings(false)
	return ok
}

// stack: a creation stack, an array of frames (nulls in it dropped) or
// null; the fast path shares one list between the resources that repeat it.
func (d *decoder) readStack(dst *Stack, _ int) {
	*dst = Stack{}
	if list := d.strings(); len(list) > 0 {
		*dst = Stack{&list}
	}
}

func (f *fast) readStack(dst *Stack) bool {
	*dst = Stack{}
	start, bucket := f.pos, -1
	if f.copy && start < len(f.data) && f.data[start] == '[' && f.depth+1 <= maxDepth {
		s, b, ok := f.knownStack()
		if ok {
			*dst = s
			return true
		}
		bucket = b
	}
	list, ok := f.strings(true)
	if ok && len(list) > 0 {
		*dst = f.stack(list)
		f.keepStack(bucket, start, *dst)
	}
	return ok
}

// labels: an object of strings (null values dropped), or null.
func (d *decoder) readLabels(dst *map[string]string, _ int) {
	var out map[string]string
	d.object(func(key string) {
		if s, ok := d.str(); ok {
			if out == nil {
				out = make(map[string]string)
			}
			out[key] = s
		}
	})
	*dst = out
}

func (f *fast) readLabels(dst *map[string]string) bool {
	if f.at() == 'n' {
		return f.null()
	}
	labels := f.labels[:0]
	_, ok := f.object(nil, func(k string, _ int) (uint32, bool) {
		s, ok := f.optView()
		if ok && f.data[f.pos-1] == '"' {
			labels = append(labels, labelPair{k, s})
		}
		return 0, ok
	})
	f.labels = labels[:0]
	if ok && len(labels) > 0 {
		*dst = f.sharedLabels(labels)
	}
	return ok
}

// metadata: any value, kept as it is; null is no value. With
// Options.DropMetadata the value is read (and so checked) but not kept.
func (d *decoder) readMetadata(dst *Metadata, _ int) {
	*dst = Metadata{}
	if d.next() == 'n' {
		d.literal("null")
		return
	}
	if raw := d.raw(); !d.tune.dropMetadata {
		*dst = NewMetadata(raw)
	}
}

func (f *fast) readMetadata(dst *Metadata) bool {
	*dst = Metadata{}
	if f.at() == 'n' {
		return f.null()
	}
	if f.dropMetadata {
		return f.skip()
	}
	raw, ok := f.raw()
	if ok && len(raw) > 0 {
		*dst = Metadata{arenaPtr(&f.raws, raw, headsBlock)}
	}
	return ok
}

// cleanupSpec: a resource's cleanup object, or null.
func (d *decoder) readCleanupSpec(dst **CleanupSpec, _ int) {
	var spec CleanupSpec
	if d.cleanupSpec(&spec) {
		*dst = &spec
	}
}

func (f *fast) readCleanupSpec(dst **CleanupSpec) bool {
	if f.at() == 'n' {
		return f.null()
	}
	var spec CleanupSpec
	if !f.cleanupSpec(&spec) {
		return false
	}
	*dst = arenaPtr(&f.specs, spec, 256)
	return true
}

// format: the format string, rescoord/v1 or a later v1.N.
func (d *decoder) readFormat(dst *string, _ int) {
	d.ws()
	at := d.pos
	if v, ok := d.str(); ok {
		*dst = v
		if msg := checkFormat(v); msg != "" {
			d.errAt(at, "%s", msg)
		}
	}
}

// source, limits: the objects of those types.
func (d *decoder) readSource(dst *Source, _ int) { d.source(dst) }

func (d *decoder) readLimits(dst *Limits, _ int) { d.limits(dst) }

// byteLimits: an object of byte counts by component id (null values
// dropped), or null.
func (d *decoder) readByteLimits(dst *map[string]int64, _ int) {
	d.object(func(id string) {
		if n, ok := d.integer(0); ok {
			if *dst == nil {
				*dst = make(map[string]int64)
			}
			(*dst)[id] = n
		}
	})
}

// components, resources, cleanups: the three arrays (arrays.go).
func (d *decoder) readComponents(dst *[]Component, _ int) { d.components(dst) }

func (d *decoder) readResources(dst *[]Resource, _ int) { d.resources(dst) }

func (d *decoder) readCleanups(dst *[]Cleanup, _ int) { d.cleanups(dst) }
