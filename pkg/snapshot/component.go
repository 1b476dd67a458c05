package snapshot

import (
	"fmt"
	"strings"
)

// The components (docs/snapshot-format.md, "Components"): the array, each
// component read strictly (decoder) and on the fast path (fast), side by
// side, and the check of their parent tree.

var componentRequired = []string{"id", "state"}

func (d *decoder) components(s *Snapshot) bool {
	sh, shaped := d.shape(s.Components == nil)
	if shaped {
		if d.fastComponents(s, sh) {
			return true
		}
		s.Components = make([]Component, 0, sh.n)
	}
	d.compIDs = nil // the fast path's table does not cover what follows
	ids := make(map[string]int32, sh.n)
	return d.array(func(i int) {
		c, offs, ok := element(d, "a component object",
			func(f *fast, c *Component) (offs [2]int, ok bool) {
				offs[0], offs[1], ok = f.component(c)
				return offs, ok
			},
			func(d *decoder, c *Component, start int) (offs [2]int) {
				offs = [2]int{-1, -1}
				d.component(c, start, &offs[0], &offs[1])
				return offs
			})
		if !ok {
			return
		}
		idOff, parentOff := offs[0], offs[1]
		d.noteID(ids, "component", i, c.ID, idOff)
		s.Components = append(s.Components, c)
		d.compIDOff = append(d.compIDOff, int32(idOff))
		d.compParentOff = append(d.compParentOff, int32(parentOff))
	})
}

// component decodes a component strictly.
func (d *decoder) component(c *Component, start int, idOff, parentOff *int) {
	var seen [2]bool
	d.object(func(key string) {
		switch key {
		case "id":
			*idOff = d.pos
			seen[0] = d.next() != 'n'
			var ok bool
			if c.ID, ok = d.str(); ok && c.ID == "" {
				d.errAt(*idOff, "id must not be empty")
			}
		case "name":
			c.Name, _ = d.str()
		case "type":
			c.Type, _ = d.str()
		case "parent":
			*parentOff = d.pos
			c.Parent, _ = d.str()
		case "state":
			at := d.pos
			seen[1] = d.next() != 'n'
			var ok bool
			if c.State, ok = d.str(); ok && c.State != StateAlive && c.State != StateDestroyed {
				d.errAt(at, "invalid state %q: want alive or destroyed", c.State)
			}
		case "created_at":
			c.CreatedAt, _ = d.timestamp()
		case "destroyed_at":
			c.DestroyedAt, _ = d.timestamp()
		case "labels":
			c.Labels = d.stringMap()
		default:
			d.keepExtra(&c.Extra, key)
		}
	})
	d.required(start, componentRequired, seen[:])
}

func (d *decoder) stringMap() map[string]string {
	var out map[string]string
	d.object(func(key string) {
		if s, ok := d.str(); ok {
			if out == nil {
				out = make(map[string]string)
			}
			out[key] = s
		}
	})
	return out
}

// checkComponents reports parent cycles, naming every member in order.
func (d *decoder) checkComponents(s *Snapshot) {
	find := func(id string) (int32, bool) {
		p, ok := d.compIDs.find(id)
		return p, ok
	}
	if d.compIDs == nil {
		byID := make(map[string]int32, len(s.Components))
		for i := range s.Components {
			if _, dup := byID[s.Components[i].ID]; !dup {
				byID[s.Components[i].ID] = int32(i)
			}
		}
		find = func(id string) (int32, bool) {
			p, ok := byID[id]
			return p, ok
		}
	}
	parent := make([]int32, len(s.Components))
	for i := range s.Components {
		parent[i] = -1
		if p, ok := find(s.Components[i].Parent); ok && s.Components[i].Parent != "" {
			parent[i] = p
		}
	}
	for _, cyc := range parentCycles(parent) {
		first := cyc[0]
		names := make([]string, 0, len(cyc)+1)
		for _, i := range cyc {
			names = append(names, s.Components[i].ID)
		}
		names = append(names, s.Components[first].ID)
		off := -1
		if first < len(d.compParentOff) {
			off = int(d.compParentOff[first])
		}
		d.addErr(fmt.Sprintf("components[%d].parent", first), off, "parent cycle: %s", strings.Join(names, " → "))
	}
}

// component decodes the component object at pos into c, which must be
// zero, with the offsets the strict decoder locates its errors at.
func (f *fast) component(c *Component) (idOff, parentOff int, ok bool) {
	idOff, parentOff = -1, -1
	seen, ok := f.object(func(k string, at int) (bit uint32, good bool) {
		switch k {
		case "id":
			bit, idOff = fID, at
			c.ID, good = f.str()
			good = good && c.ID != ""
		case "name":
			bit = fName
			c.Name, good = f.optStr()
		case "type":
			bit = fType
			c.Type, good = f.optView()
			c.Type = f.intern(c.Type)
		case "parent":
			bit, parentOff = fParent, at
			c.Parent, good = f.optStr()
		case "state":
			bit = fState
			c.State, good = f.view()
			switch {
			case c.State == StateAlive:
				c.State = StateAlive
			case c.State == StateDestroyed:
				c.State = StateDestroyed
			default:
				good = false
			}
		case "created_at":
			bit = fCreated
			c.CreatedAt, good = f.optTime()
		case "destroyed_at":
			bit = fDestroyed
			c.DestroyedAt, good = f.optTime()
		case "labels":
			bit = fLabels
			c.Labels, good = f.labels()
		default:
			good = f.extra(&c.Extra, k)
		}
		return bit, good
	})
	return idOff, parentOff, ok && seen&(fID|fState) == fID|fState
}

// labels reads an object of strings (null values dropped) or null.
func (f *fast) labels() (map[string]string, bool) {
	if f.at() == 'n' {
		return nil, f.null()
	}
	var out map[string]string
	_, ok := f.object(func(k string, _ int) (uint32, bool) {
		s, ok := f.optView()
		if ok && f.data[f.pos-1] == '"' {
			if out == nil {
				out = make(map[string]string)
			}
			out[f.intern(k)] = f.intern(s)
		}
		return 0, ok
	})
	return out, ok
}
