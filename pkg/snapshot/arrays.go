package snapshot

import (
	"context"
	"sync"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// The large arrays of a snapshot (components, resources, cleanups) are
// decoded in three steps:
//
//  1. a structural scan counts the elements and notes where every
//     markEvery-th one starts, so the result is allocated once at its exact
//     size (growing a 200 MB slice by doubling copies it and briefly holds
//     both copies);
//  2. the fast element decoder fills the slice, in parallel chunks when the
//     array is large, each worker with its own cursor and arenas;
//  3. the caller checks duplicate ids.
//
// If any step finds anything the fast path leaves to the strict decoder,
// the whole array is decoded again by the strict decoder (which still tries
// the fast path element by element), so errors come out exactly as the
// strict decoder alone reports them.

// markEvery is how many elements apart the scan marks element starts;
// chunks of parallel work start at marks.
const markEvery = 1024

// arrayShape is what the structural scan of an array finds.
type arrayShape struct {
	start int   // offset of '['
	n     int   // number of elements
	marks []int // marks[k]: offset of the first byte of element k*markEvery
	end   int   // offset just past ']'
}

// scanArray scans the array at data[start] == '[' by its structure alone —
// strings, brackets and commas — without checking what lies between. ok is
// false when the structure is broken; the strict decoder then says where.
func scanArray(data []byte, start int) (sh arrayShape, ok bool) {
	sh.start = start
	depth := 0
	want := false // the next value byte at depth 1 starts an element
	for i := start; i < len(data); i++ {
		c := data[i]
		if c <= ' ' && (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			continue
		}
		if want && depth == 1 {
			if c == ']' || c == ',' {
				return sh, false
			}
			if sh.n%markEvery == 0 {
				sh.marks = append(sh.marks, i)
			}
			sh.n++
			want = false
		}
		switch c {
		case '"':
			for i++; ; i += 2 { // past the character a backslash escapes
				if i = nextQuoteOrBackslash(data, i); i >= len(data) {
					return sh, false
				}
				if data[i] == '"' {
					break
				}
			}
		case '{':
			depth++
		case '[':
			depth++
			if depth == 1 {
				want = true
			}
		case '}', ']':
			depth--
			if depth == 0 {
				if c != ']' {
					return sh, false
				}
				sh.end = i + 1
				return sh, true
			}
			if depth < 0 {
				return sh, false
			}
		case ',':
			if depth == 1 {
				want = true
			}
		}
	}
	return sh, false
}

// elemFunc decodes element i at f.pos into v and reports success.
type elemFunc[T any] func(f *fast, v *T, i int) bool

// fastArray decodes the array sh describes into out, of its exact length,
// splitting the work between the available cores when it is large. depth
// is the nesting of the array itself. It reports false when any element
// needs the strict decoder.
func fastArray[T any](ctx context.Context, tune tuning, data []byte, sh arrayShape, depth int, out []T, elem elemFunc[T]) bool {
	if sh.n == 0 {
		return true
	}
	workers := min(tune.parallelism(sh.n), len(sh.marks))
	if workers <= 1 {
		return decodeRange(ctx, data, sh, depth, out, 0, sh.n, elem)
	}
	// Chunks start at marks, so each worker knows where its first element is.
	var wg sync.WaitGroup
	failed := make([]bool, workers)
	for w := range workers {
		from := len(sh.marks) * w / workers * markEvery
		to := min(len(sh.marks)*(w+1)/workers*markEvery, sh.n)
		wg.Go(func() {
			failed[w] = !decodeRange(ctx, data, sh, depth, out, from, to, elem)
		})
	}
	wg.Wait()
	for _, bad := range failed {
		if bad {
			return false
		}
	}
	return true
}

// decodeRange decodes elements [from, to) of the array held in data.
func decodeRange[T any](ctx context.Context, data []byte, sh arrayShape, depth int, out []T, from, to int, elem elemFunc[T]) bool {
	f := &fast{lexer: lexer{data: data, pos: sh.marks[from/markEvery], depth: depth}, ctx: ctx}
	return decodeWindow(f, sh, 0, out, from, to, elem)
}

// shape scans the array at the current position when the fast path may
// decode it: not in strict mode, and only the first time the field occurs.
func (d *decoder) shape(first bool) (arrayShape, bool) {
	if d.strict || !first || d.next() != '[' {
		return arrayShape{}, false
	}
	return scanArray(d.data, d.pos)
}

// tryFast returns the fast cursor at the current position, or nil in strict mode.
func (d *decoder) tryFast() *fast {
	if d.strict {
		return nil
	}
	d.fast.lexer = d.lexer
	return &d.fast
}

// newSlice returns a slice of n elements, nil when n is 0 as the strict
// decoder leaves an empty array.
func newSlice[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return hugemem.Make[T](n)
}

func (d *decoder) fastComponents(s *Snapshot, sh arrayShape) bool {
	comps := newSlice[Component](sh.n)
	idOff := hugemem.Make[int32](sh.n)
	parentOff := hugemem.Make[int32](sh.n)
	ids := newIDTable(sh.n, func(p int32) string { return comps[p].ID }, d.tune)
	hashes := hugemem.Make[uint64](sh.n)
	ok := fastArray(d.ctx, d.tune, d.data, sh, d.depth+1, comps, func(f *fast, c *Component, i int) bool {
		id, parent, ok := f.component(c)
		idOff[i], parentOff[i] = int32(id), int32(parent)
		hashes[i] = ids.hash(c.ID)
		return ok
	}) && ids.fill(hashes)
	if !ok {
		return false
	}
	s.Components, d.compIDOff, d.compParentOff, d.compIDs = comps, idOff, parentOff, ids
	d.pos = sh.end
	return true
}

func (d *decoder) fastResources(s *Snapshot, sh arrayShape) bool {
	res := newSlice[Resource](sh.n)
	ids := newIDTable(sh.n, func(p int32) string { return res[p].ID }, d.tune)
	hashes := hugemem.Make[uint64](sh.n)
	ok := fastArray(d.ctx, d.tune, d.data, sh, d.depth+1, res, func(f *fast, r *Resource, i int) bool {
		_, ok := f.resource(r)
		hashes[i] = ids.hash(r.ID)
		return ok
	}) && ids.fill(hashes)
	if !ok {
		return false
	}
	s.Resources, d.resIDs = res, ids
	d.pos = sh.end
	return true
}

func (d *decoder) fastCleanups(s *Snapshot, sh arrayShape) bool {
	cl := newSlice[Cleanup](sh.n)
	ids := newIDTable(sh.n, func(p int32) string { return cl[p].ID }, d.tune)
	ok := fastArray(d.ctx, d.tune, d.data, sh, d.depth+1, cl, func(f *fast, c *Cleanup, i int) bool {
		_, ok := f.cleanup(c)
		return ok && (c.ID == "" || ids.insert(c.ID, i))
	})
	if !ok {
		return false
	}
	s.Cleanups = cl
	d.pos = sh.end
	return true
}
