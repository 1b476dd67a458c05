package snapshot

import (
	"fmt"
	"strings"
)

// The components' parent tree (docs/snapshot-format.md, "Components"):
// its cycles, found once every component is read.

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
