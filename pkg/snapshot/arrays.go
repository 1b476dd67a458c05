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

// components, resources and cleanups read the three arrays: the fast way
// above when it takes the whole array, else element by element (list).

func (d *decoder) components(dst *[]Component) bool {
	d.compIDs = nil // the fast path's table does not cover what the strict one reads
	return list(d, dst, "component", func(sh arrayShape) bool { return d.fastComponents(dst, sh) },
		(*fast).component, (*decoder).component, func(c *Component, offs [2]int) string {
			d.compIDOff = append(d.compIDOff, int32(offs[0]))
			d.compParentOff = append(d.compParentOff, int32(offs[1]))
			return c.ID
		})
}

func (d *decoder) resources(dst *[]Resource) bool {
	d.resIDs = nil
	return list(d, dst, "resource", func(sh arrayShape) bool { return d.fastResources(dst, sh) },
		(*fast).resource, (*decoder).resource, func(r *Resource, _ [2]int) string { return r.ID })
}

func (d *decoder) cleanups(dst *[]Cleanup) bool {
	return list(d, dst, "cleanup", func(sh arrayShape) bool { return d.fastCleanups(dst, sh) },
		(*fast).cleanup, (*decoder).cleanup, func(c *Cleanup, _ [2]int) string { return c.ID })
}

// list reads the array of what ("component", …) at d.pos into *dst: whole
// on the fast path when it can, else element by element, each on the fast
// path when it takes it, else strictly. Each element's id (given by id,
// which is also told where its errors are located) is checked for
// duplicates.
func list[T any](d *decoder, dst *[]T, what string, whole func(arrayShape) bool,
	fast func(*fast, *T) ([2]int, bool), strict func(*decoder, *T, *[2]int) bool,
	id func(*T, [2]int) string) bool {
	sh, shaped := d.shape(*dst == nil)
	if shaped {
		if whole(sh) {
			return true
		}
		*dst = make([]T, 0, sh.n)
	}
	ids := make(map[string]int32, sh.n)
	object := "a " + what + " object"
	return d.array(func(i int) {
		v, offs, ok := element(d, object, fast, strict)
		if !ok {
			return
		}
		d.noteID(ids, what, i, id(&v, offs), offs[0])
		*dst = append(*dst, v)
	})
}

// element decodes the array element at d.pos, which must be an object
// (what names it in the type error): on the fast path when it takes the
// element, else strictly. offs are the offsets its id's and parent's
// errors are located at (-1: absent); ok is false when no object was
// there.
func element[T any](d *decoder, what string, fast func(*fast, *T) ([2]int, bool), strict func(*decoder, *T, *[2]int) bool) (v T, offs [2]int, ok bool) {
	if d.next() != '{' {
		d.typeErr(what)
		return v, offs, false
	}
	if f := d.tryFast(); f != nil {
		if offs, ok = fast(f, &v); ok {
			d.pos = f.pos
			return v, offs, true
		}
		var zero T
		v = zero
	}
	offs = [2]int{-1, -1}
	strict(d, &v, &offs)
	return v, offs, true
}

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
		return decodeRange(ctx, tune, data, sh, depth, out, 0, sh.n, elem)
	}
	// Chunks start at marks, so each worker knows where its first element is.
	var wg sync.WaitGroup
	failed := make([]bool, workers)
	for w := range workers {
		from := len(sh.marks) * w / workers * markEvery
		to := min(len(sh.marks)*(w+1)/workers*markEvery, sh.n)
		wg.Go(func() {
			failed[w] = !decodeRange(ctx, tune, data, sh, depth, out, from, to, elem)
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
func decodeRange[T any](ctx context.Context, tune tuning, data []byte, sh arrayShape, depth int, out []T, from, to int, elem elemFunc[T]) bool {
	f := &fast{lexer: lexer{data: data, pos: sh.marks[from/markEvery], depth: depth}, dropMetadata: tune.dropMetadata, ctx: ctx}
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

// fastKeyed decodes an array of objects that have an id, read by read,
// and builds the table of their ids.
func fastKeyed[T any](d *decoder, sh arrayShape, id func(*T) string, read func(f *fast, v *T, i int) bool) ([]T, *idTable, bool) {
	out := newSlice[T](sh.n)
	ids := newIDTable(sh.n, func(p int32) string { return id(&out[p]) }, d.tune)
	hashes := hugemem.Make[uint64](sh.n)
	ok := fastArray(d.ctx, d.tune, d.data, sh, d.depth+1, out, func(f *fast, v *T, i int) bool {
		ok := read(f, v, i)
		hashes[i] = ids.hash(id(v))
		return ok
	}) && ids.fill(hashes)
	if ok {
		d.pos = sh.end
	}
	return out, ids, ok
}

func (d *decoder) fastComponents(dst *[]Component, sh arrayShape) bool {
	idOff := hugemem.Make[int32](sh.n)
	parentOff := hugemem.Make[int32](sh.n)
	comps, ids, ok := fastKeyed(d, sh, func(c *Component) string { return c.ID }, func(f *fast, c *Component, i int) bool {
		offs, ok := f.component(c)
		idOff[i], parentOff[i] = int32(offs[0]), int32(offs[1])
		return ok
	})
	if ok {
		*dst, d.compIDOff, d.compParentOff, d.compIDs = comps, idOff, parentOff, ids
	}
	return ok
}

func (d *decoder) fastResources(dst *[]Resource, sh arrayShape) bool {
	res, ids, ok := fastKeyed(d, sh, func(r *Resource) string { return r.ID }, func(f *fast, r *Resource, _ int) bool {
		_, ok := f.resource(r)
		return ok
	})
	if ok {
		*dst, d.resIDs = res, ids
	}
	return ok
}

func (d *decoder) fastCleanups(dst *[]Cleanup, sh arrayShape) bool {
	cl := newSlice[Cleanup](sh.n)
	ids := newIDTable(sh.n, func(p int32) string { return cl[p].ID }, d.tune)
	ok := fastArray(d.ctx, d.tune, d.data, sh, d.depth+1, cl, func(f *fast, c *Cleanup, i int) bool {
		_, ok := f.cleanup(c)
		return ok && (c.ID == "" || ids.insert(c.ID, i))
	})
	if !ok {
		return false
	}
	*dst = cl
	d.pos = sh.end
	return true
}
