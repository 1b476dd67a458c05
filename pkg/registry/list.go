package registry

// link is an element's place in one intrusive list: its neighbours.
type link[E any] struct{ prev, next *E }

// linked is an element type that holds its own link, so that adding it to
// a list allocates nothing.
type linked[E any] interface {
	*E
	links() *link[E]
}

// list is a doubly linked list of elements that hold their links: the kept
// children of a component, the live resources it owns. r.mu guards both.
type list[E any, P linked[E]] struct{ first, last *E }

func (l *list[E, P]) pushBack(e *E) {
	if l.last == nil {
		l.first = e
	} else {
		P(l.last).links().next = e
		P(e).links().prev = l.last
	}
	l.last = e
}

func (l *list[E, P]) remove(e *E) {
	k := P(e).links()
	if k.prev != nil {
		P(k.prev).links().next = k.next
	} else {
		l.first = k.next
	}
	if k.next != nil {
		P(k.next).links().prev = k.prev
	} else {
		l.last = k.prev
	}
	*k = link[E]{}
}
