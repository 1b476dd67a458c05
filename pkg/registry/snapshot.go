package registry

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/rescoord/rescoord/pkg/coordinator"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// capture is the registry state a snapshot or a cleanup plan is built
// from, copied under the lock. Everything else it needs is immutable.
type capture struct {
	takenAt time.Time
	comps   []compRow
	// resources, with holes (state 0) where the table had them
	items  []*Handle
	sizes  []int64
	states []uint8
	cbs    []*callback
}

// compRow is a component as the capture shows it.
type compRow struct {
	c           *component
	id          string
	state       uint8 // csAlive or csDestroyed
	destroyedAt time.Time
}

// row is c as a snapshot shows it now. r.mu must be held.
func row(c *component) compRow {
	st := c.state
	if st == csClosing {
		st = csAlive
	}
	return compRow{c: c, id: c.id, state: st, destroyedAt: c.destroyedAt}
}

// planInput is a snapshot together with the live records its entries
// stand for, position by position.
type planInput struct {
	snap  *snapshot.Snapshot
	comps []*component
	res   []*Handle
	cbs   []*callback
}

// Snapshot returns a consistent point-in-time view of the registry in
// format v1, which rescoord reads unchanged. Only the copy of a few flat
// arrays happens under the registry's lock; the snapshot is built after,
// so trackers are held up for a short time only.
func (r *Registry) Snapshot() *snapshot.Snapshot {
	cp := r.captureAll()
	defer r.res.pins.Add(-1)
	return r.materialize(cp, false).snap
}

// captureAll copies the whole registry's state. The resource items are
// not copied but pinned: the caller must unpin the table when done.
func (r *Registry) captureAll() *capture {
	r.mu.RLock()
	nr, nc, ncb := len(r.res.items), len(r.compTable.items), len(r.cbTable.items)
	r.mu.RUnlock()
	// Allocate outside the lock, with room for what is tracked meanwhile.
	cp := &capture{
		comps:  make([]compRow, 0, nc+nc/8+16),
		sizes:  make([]int64, 0, nr+nr/8+64),
		states: make([]uint8, 0, nr+nr/8+64),
		cbs:    make([]*callback, 0, ncb+16),
	}
	// Fresh memory is only mapped in when first written: write it now, so
	// the page faults do not happen under the lock.
	prefault(cp.sizes)
	prefault(cp.states)
	prefault(cp.comps)
	r.mu.RLock()
	var held time.Time
	if r.lockHeld != nil {
		held = time.Now()
	}
	r.res.pins.Add(1)
	cp.takenAt = r.now()
	n := len(r.res.items)
	cp.items = r.res.items[:n:n]
	cp.sizes = append(cp.sizes, r.res.sizes...)
	cp.states = append(cp.states, r.res.states...)
	for _, c := range r.compTable.items {
		if c != nil {
			cp.comps = append(cp.comps, row(c))
		}
	}
	cp.cbs = append(cp.cbs, r.cbTable.items...)
	if r.lockHeld != nil {
		r.lockHeld(time.Since(held))
	}
	r.mu.RUnlock()
	return cp
}

// prefault writes the whole capacity of s.
func prefault[T any](s []T) {
	clear(s[:cap(s)])
}

// materialize builds the snapshot of a capture; with records, the plan
// input also maps each entry back to its live record.
func (r *Registry) materialize(cp *capture, records bool) *planInput {
	in, ids := r.frame(cp, records)
	s := in.snap

	// Resource ids share one string.
	n, idLen := 0, 0
	for i, h := range cp.items {
		if cp.states[i] != 0 {
			n++
			idLen += 2 + digits(h.id)
		}
	}
	var sb strings.Builder
	sb.Grow(idLen)
	for i, h := range cp.items {
		if cp.states[i] != 0 {
			sb.WriteString("r-")
			var buf [20]byte
			sb.Write(strconv.AppendUint(buf[:0], h.id, 10))
		}
	}
	all := sb.String()

	s.Resources = make([]snapshot.Resource, n)
	if records {
		in.res = make([]*Handle, n)
	}
	var lastOwner *component
	var lastOwnerID string
	k, off := 0, 0
	for i, h := range cp.items {
		if cp.states[i] == 0 {
			continue
		}
		l := 2 + digits(h.id)
		if h.owner != lastOwner {
			lastOwner, lastOwnerID = h.owner, ids[h.owner]
		}
		fillResource(&s.Resources[k], h, all[off:off+l], lastOwnerID, cp.sizes[i], cp.states[i])
		off += l
		if records {
			in.res[k] = h
		}
		k++
	}
	return in
}

// frame builds the snapshot of a capture but for its resources: the
// header, the components and the cleanups, and the components' ids.
func (r *Registry) frame(cp *capture, records bool) (*planInput, map[*component]string) {
	s := &snapshot.Snapshot{
		Format:  snapshot.FormatV1,
		TakenAt: cp.takenAt.UTC(),
		Source:  r.source,
		Limits:  snapshot.Limits{GlobalBytes: r.globalLimit},
	}
	in := &planInput{snap: s}

	ids := make(map[*component]string, len(cp.comps))
	for _, row := range cp.comps {
		ids[row.c] = row.id
	}
	s.Components = make([]snapshot.Component, len(cp.comps))
	in.comps = make([]*component, len(cp.comps))
	for i, row := range cp.comps {
		c := row.c
		sc := &s.Components[i]
		sc.ID, sc.Name, sc.Type, sc.Labels = row.id, c.name, c.typ, c.labels
		sc.CreatedAt = c.created.UTC()
		if c.parent != nil {
			sc.Parent = ids[c.parent]
		}
		sc.State = snapshot.StateAlive
		if row.state == csDestroyed {
			sc.State = snapshot.StateDestroyed
			sc.DestroyedAt = row.destroyedAt.UTC()
		}
		if c.limit > 0 {
			if s.Limits.Components == nil {
				s.Limits.Components = make(map[string]int64)
			}
			s.Limits.Components[row.id] = c.limit
		}
		in.comps[i] = c
	}

	s.Cleanups = make([]snapshot.Cleanup, 0, len(cp.cbs))
	for _, cb := range cp.cbs {
		if cb == nil {
			continue
		}
		comp, ok := ids[cb.comp]
		if !ok {
			continue
		}
		c := snapshot.Cleanup{ID: "c-" + strconv.FormatUint(cb.id, 10), Component: comp, Name: cb.name, Priority: cb.priority}
		if cb.timeout > 0 {
			ms := clampTimeoutMS(cb.timeout)
			c.TimeoutMS = &ms
		}
		s.Cleanups = append(s.Cleanups, c)
		if records {
			in.cbs = append(in.cbs, cb)
		}
	}
	return in, ids
}

// fillResource sets every field of sr to what resource h shows in a
// snapshot, with its id and owner's id given.
func fillResource(sr *snapshot.Resource, h *Handle, id, owner string, size int64, state uint8) {
	*sr = snapshot.Resource{ID: id, Owner: owner, Type: h.typ, Name: h.name, State: snapshot.StateActive,
		Running: running(h), SizeBytes: size, CreatedAt: h.created.UTC(), Cleanup: h.spec,
		CreatedBy: h.stack.Frames(), Metadata: h.meta}
	if state == stReleasing {
		sr.State = snapshot.StateReleasing
	}
	if len(h.deps) > 0 {
		sr.DependsOn = make([]string, len(h.deps))
		for j, d := range h.deps {
			sr.DependsOn[j] = "r-" + strconv.FormatUint(d, 10)
		}
	}
}

// WriteSnapshot writes the registry's snapshot to w as JSON in format v1 —
// what Snapshot().AppendJSON would write — streamed from a consistent view:
// the lock is held only to copy a few flat arrays, as for Snapshot, and the
// resources are then encoded one chunk at a time, so the memory it takes
// is in proportion to the components and a chunk, not to the resources.
// Until it returns, the registry defers compacting its resource table.
func (r *Registry) WriteSnapshot(w io.Writer) error {
	cp := r.captureAll()
	defer r.res.pins.Add(-1)
	in, ids := r.frame(cp, false)
	var lastOwner *component
	var lastOwnerID string
	var idBuf [24]byte
	i := 0
	return in.snap.WriteJSON(w, func(sr *snapshot.Resource) bool {
		for i < len(cp.items) && cp.states[i] == 0 {
			i++
		}
		if i == len(cp.items) {
			return false
		}
		h := cp.items[i]
		if h.owner != lastOwner {
			lastOwner, lastOwnerID = h.owner, ids[h.owner]
		}
		// The id lives in a buffer reused for the next resource: the
		// encoder copies it before next is called again.
		id := strconv.AppendUint(append(idBuf[:0], "r-"...), h.id, 10)
		fillResource(sr, h, unsafe.String(&id[0], len(id)), lastOwnerID, cp.sizes[i], cp.states[i])
		i++
		return true
	})
}

// running is the snapshot's running flag: whether the value says it still
// runs, else true for a live resource of a type that can run.
func running(h *Handle) bool {
	switch v := h.value.(type) {
	case coordinator.Worker:
		select {
		case <-v.Done():
			return false
		default:
			return true
		}
	case interface{ Running() bool }:
		return v.Running()
	}
	switch h.typ {
	case snapshot.TypeWorker, snapshot.TypeThread, snapshot.TypeTimer, snapshot.TypeProcess:
		return true
	}
	return false
}

// digits is the number of decimal digits of n.
func digits(n uint64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// sortRows orders component rows by registration order.
func sortRows(rows []compRow) {
	slices.SortFunc(rows, func(a, b compRow) int { return a.c.slot - b.c.slot })
}
