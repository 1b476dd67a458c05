package leaks

import "testing"

// TestScanned_NoteGrowsByDoubling wants a range's notes of one rule to
// start with room for the whole range (up to pendRoom) and to double when
// full, keeping every note in order (docs/performance.md, "No garbage
// left by growth"): grown by append, each smaller copy would be garbage left behind.
func TestScanned_NoteGrowsByDoubling(t *testing.T) {
	for _, c := range []struct{ n, add, firstCap int }{
		{n: 10, add: 25, firstCap: 10},
		{n: 3 * pendRoom, add: pendRoom + 1, firstCap: pendRoom},
	} {
		var p scanned
		caps := []int{}
		for i := range c.add {
			p.note(slotOrphanedResource, pendingRes{ri: int32(i)}, c.n)
			if l := p.pend[slotOrphanedResource]; len(caps) == 0 || cap(l) != caps[len(caps)-1] {
				caps = append(caps, cap(l))
			}
		}
		if caps[0] != c.firstCap {
			t.Errorf("range of %d: first room %d, want %d", c.n, caps[0], c.firstCap)
		}
		for k := 1; k < len(caps); k++ {
			if caps[k] != 2*caps[k-1] {
				t.Errorf("range of %d: room grew %v, want doubling", c.n, caps)
				break
			}
		}
		l := p.pend[slotOrphanedResource]
		if len(l) != c.add {
			t.Fatalf("range of %d: %d notes kept, want %d", c.n, len(l), c.add)
		}
		for i, e := range l {
			if e.ri != int32(i) {
				t.Fatalf("range of %d: note %d is of resource %d", c.n, i, e.ri)
			}
		}
		for slot := range p.pend {
			if slot != slotOrphanedResource && p.pend[slot] != nil {
				t.Errorf("range of %d: slot %d has notes", c.n, slot)
			}
		}
	}
}
