package registry

import (
	"slices"
	"testing"
)

type elem struct {
	n    int
	link link[elem]
}

func (e *elem) links() *link[elem] { return &e.link }

// Removing the first, a middle and the last element keeps both directions
// of the list whole, and a removed element keeps no neighbours.
func TestList_PushBackAndRemove(t *testing.T) {
	var l list[elem, *elem]
	es := make([]*elem, 5)
	for i := range es {
		es[i] = &elem{n: i}
		l.pushBack(es[i])
	}
	check := func(want ...int) {
		t.Helper()
		var fwd, back []int
		for e := l.first; e != nil; e = e.link.next {
			fwd = append(fwd, e.n)
		}
		for e := l.last; e != nil; e = e.link.prev {
			back = append(back, e.n)
		}
		slices.Reverse(back)
		if !slices.Equal(fwd, want) || !slices.Equal(back, want) {
			t.Errorf("forward %v, backward reversed %v, want %v", fwd, back, want)
		}
	}
	check(0, 1, 2, 3, 4)
	for _, i := range []int{2, 0, 4} {
		l.remove(es[i])
		if es[i].link != (link[elem]{}) {
			t.Errorf("removed %d keeps %+v", i, es[i].link)
		}
	}
	check(1, 3)
	l.remove(es[1])
	l.remove(es[3])
	check()
	if l.first != nil || l.last != nil {
		t.Errorf("empty list: %+v", l)
	}
	l.pushBack(es[2])
	check(2)
}
