package snapshot

// The resources (docs/snapshot-format.md, "Resources"): the array, each
// resource and its cleanup object read strictly (decoder) and on the fast
// path (fast), side by side.

var resourceRequired = []string{"id", "type", "owner", "state"}

func (d *decoder) resources(s *Snapshot) bool {
	sh, shaped := d.shape(s.Resources == nil)
	if shaped {
		if d.fastResources(s, sh) {
			return true
		}
		s.Resources = make([]Resource, 0, sh.n)
	}
	d.resIDs = nil // the fast path's table does not cover what follows
	ids := make(map[string]int32, sh.n)
	ok := d.array(func(i int) {
		r, offs, ok := element(d, "a resource object",
			func(f *fast, r *Resource) (offs [2]int, ok bool) {
				offs[0], ok = f.resource(r)
				return offs, ok
			},
			func(d *decoder, r *Resource, start int) (offs [2]int) {
				offs[0] = -1
				d.resource(r, start, &offs[0])
				return offs
			})
		if !ok {
			return
		}
		d.noteID(ids, "resource", i, r.ID, offs[0])
		s.Resources = append(s.Resources, r)
	})
	return ok
}

// resource decodes a resource strictly.
func (d *decoder) resource(r *Resource, start int, idOff *int) {
	var seen [4]bool
	d.object(func(key string) {
		switch key {
		case "id":
			*idOff = d.pos
			seen[0] = d.next() != 'n'
			var ok bool
			if r.ID, ok = d.str(); ok && r.ID == "" {
				d.errAt(*idOff, "id must not be empty")
			}
		case "type":
			at := d.pos
			seen[1] = d.next() != 'n'
			var ok bool
			if r.Type, ok = d.str(); ok && r.Type == "" {
				d.errAt(at, "type must not be empty")
			}
		case "owner":
			seen[2] = d.next() != 'n'
			r.Owner, _ = d.str()
		case "name":
			r.Name, _ = d.str()
		case "state":
			at := d.pos
			seen[3] = d.next() != 'n'
			var ok bool
			if r.State, ok = d.str(); ok && r.State != StateActive && r.State != StateReleasing && r.State != StateReleased {
				d.errAt(at, "invalid state %q: want active, releasing or released", r.State)
			}
		case "running":
			r.Running, _ = d.boolean()
		case "size_bytes":
			r.SizeBytes, _ = d.integer(0)
		case "created_at":
			r.CreatedAt, _ = d.timestamp()
		case "depends_on":
			r.DependsOn = d.strings()
		case "cleanup":
			r.Cleanup = d.cleanupSpec()
		case "created_by":
			r.CreatedBy = d.strings()
		case "metadata":
			if d.next() == 'n' {
				d.literal("null")
				return
			}
			r.Metadata = d.raw()
		default:
			d.keepExtra(&r.Extra, key)
		}
	})
	d.required(start, resourceRequired, seen[:])
}

func (d *decoder) cleanupSpec() *CleanupSpec {
	var spec CleanupSpec
	if !d.object(func(key string) {
		switch key {
		case "strategy":
			spec.Strategy, _ = d.str()
		case "timeout_ms":
			if n, ok := d.timeout(); ok {
				spec.TimeoutMS = &n
			}
		}
	}) {
		return nil
	}
	return &spec
}

// resource decodes the resource object at pos into r, which must be zero.
// idOff is where the strict decoder locates the id's errors.
func (f *fast) resource(r *Resource) (idOff int, ok bool) {
	idOff = -1
	seen, ok := f.object(func(k string, at int) (bit uint32, good bool) {
		switch k {
		case "id":
			bit, idOff = fID, at
			r.ID, good = f.str()
			good = good && r.ID != ""
		case "type":
			bit = fType
			r.Type, good = f.view()
			good = good && r.Type != ""
			r.Type = f.internType(r.Type)
		case "owner":
			bit = fOwner
			r.Owner, good = f.view()
			r.Owner = f.owner(r.Owner)
		case "name":
			bit = fName
			r.Name, good = f.optView()
			r.Name = f.intern(r.Name)
		case "state":
			bit = fState
			r.State, good = f.view()
			r.State, good = resourceState(r.State, good)
		case "running":
			bit = fRunning
			r.Running, good = f.optBool()
		case "size_bytes":
			bit = fSize
			r.SizeBytes, _, good = f.optInt(0)
		case "created_at":
			bit = fCreated
			r.CreatedAt, good = f.optTime()
		case "depends_on":
			bit = fDepends
			r.DependsOn, good = f.strings(false)
		case "cleanup":
			bit = fCleanup
			r.Cleanup, good = f.cleanupSpec()
		case "created_by":
			bit = fCreatedBy
			r.CreatedBy, good = f.strings(true)
		case "metadata":
			bit = fMetadata
			if f.at() == 'n' {
				r.Metadata, good = nil, f.null()
			} else {
				r.Metadata, good = f.raw()
			}
		default:
			good = f.extra(&r.Extra, k)
		}
		return bit, good
	})
	const required = fID | fType | fOwner | fState
	return idOff, ok && seen&required == required
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

func resourceState(s string, ok bool) (string, bool) {
	switch {
	case !ok:
		return "", false
	case s == StateActive:
		return StateActive, true
	case s == StateReleased:
		return StateReleased, true
	case s == StateReleasing:
		return StateReleasing, true
	}
	return "", false
}

// cleanupSpec reads a resource's cleanup object or null; unknown fields in
// it are checked and dropped, as the strict decoder does.
func (f *fast) cleanupSpec() (*CleanupSpec, bool) {
	if f.at() == 'n' {
		return nil, f.null()
	}
	var spec CleanupSpec
	_, ok := f.object(func(k string, _ int) (uint32, bool) {
		switch k {
		case "strategy":
			var ok bool
			spec.Strategy, ok = f.optStr()
			return fStrategy, ok
		case "timeout_ms":
			n, present, ok := f.optInt(0)
			if present {
				spec.TimeoutMS = f.int64(n)
			}
			return fTimeout, ok && n <= MaxTimeoutMS
		}
		return 0, f.skip()
	})
	if !ok {
		return nil, false
	}
	if len(f.specs) == cap(f.specs) {
		f.specs = make([]CleanupSpec, 0, 256)
	}
	f.specs = append(f.specs, spec)
	return &f.specs[len(f.specs)-1], true
}
