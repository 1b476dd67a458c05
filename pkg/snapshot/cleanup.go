package snapshot

// The cleanup callbacks (docs/snapshot-format.md, "Cleanups"): the array,
// each callback read strictly (decoder) and on the fast path (fast), side
// by side.

var cleanupRequired = []string{"component", "priority"}

func (d *decoder) cleanups(s *Snapshot) {
	sh, shaped := d.shape(s.Cleanups == nil)
	if shaped {
		if d.fastCleanups(s, sh) {
			return
		}
		s.Cleanups = make([]Cleanup, 0, sh.n)
	}
	ids := make(map[string]int32, sh.n)
	d.array(func(i int) {
		c, offs, ok := element(d, "a cleanup object",
			func(f *fast, c *Cleanup) (offs [2]int, ok bool) {
				offs[0], ok = f.cleanup(c)
				return offs, ok
			},
			func(d *decoder, c *Cleanup, start int) (offs [2]int) {
				offs[0] = -1
				d.cleanup(c, start, &offs[0])
				return offs
			})
		if !ok {
			return
		}
		d.noteID(ids, "cleanup", i, c.ID, offs[0])
		s.Cleanups = append(s.Cleanups, c)
	})
}

// cleanup decodes a cleanup strictly.
func (d *decoder) cleanup(c *Cleanup, start int, idOff *int) {
	var seen [2]bool
	d.object(func(key string) {
		switch key {
		case "id":
			*idOff = d.pos
			c.ID, _ = d.str()
		case "component":
			seen[0] = d.next() != 'n'
			c.Component, _ = d.str()
		case "name":
			c.Name, _ = d.str()
		case "priority":
			seen[1] = d.next() != 'n'
			c.Priority, _ = d.integer(-1 << 62)
		case "timeout_ms":
			if n, ok := d.timeout(); ok {
				c.TimeoutMS = &n
			}
		}
	})
	d.required(start, cleanupRequired, seen[:])
}

// cleanup decodes the cleanup object at pos into c, which must be zero;
// unknown fields are checked and dropped, as the strict decoder does.
func (f *fast) cleanup(c *Cleanup) (idOff int, ok bool) {
	idOff = -1
	seen, ok := f.object(func(k string, at int) (bit uint32, good bool) {
		switch k {
		case "id":
			bit, idOff = fID, at
			c.ID, good = f.optStr()
		case "component":
			bit = fComponent
			c.Component, good = f.str()
		case "name":
			bit = fName
			c.Name, good = f.optStr()
		case "priority":
			bit = fPriority
			c.Priority, good = f.integer(-1 << 62)
		case "timeout_ms":
			bit = fTimeout
			var n int64
			var present bool
			n, present, good = f.optInt(0)
			if present {
				c.TimeoutMS = f.int64(n)
			}
			good = good && n <= MaxTimeoutMS
		default:
			good = f.skip()
		}
		return bit, good
	})
	return idOff, ok && seen&(fComponent|fPriority) == fComponent|fPriority
}
