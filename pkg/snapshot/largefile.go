package snapshot

import (
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// Loading a large file without holding it in memory.
//
// Parse keeps the whole input: the snapshot's strings point into it. For a
// 300 MB file that buffer is half of the peak memory, and touching it
// costs as much as reading it. loadLarge instead reads a regular file twice
// through a small window:
//
//  1. outline: a structural scan finds the top-level components, resources
//     and cleanups arrays, counts their elements and notes where every
//     markEvery-th one starts;
//  2. the rest of the document — the skeleton, with each of those arrays
//     replaced by [] — is small and goes through the strict decoder;
//  3. each array is allocated at its exact length and read window by
//     window, each window decoded by the fast path on all cores in copy
//     mode: strings are copied into compact arenas (names, types and
//     creation frames interned, owners pointing at their component's id).
//
// Anything unusual (an error, a field given twice, a file that changes
// under us) gives up, and Load reads the file whole and runs Parse, which
// reports errors with their places as usual.

// outline is what the structural scan of a whole document finds.
type outline struct {
	// components, resources, cleanups (start 0 if absent), and the array
	// a speculative scan starts in (see outlineFile)
	arrays [4]arrayShape
	seen   [3]bool
}

// unknownArray is the array a scan that starts mid-file is in.
const unknownArray = 3

var trackedKeys = [3]string{"components", "resources", "cleanups"}

// outliner is the state of the structural scan between windows.
type outliner struct {
	out      outline
	depth    int
	inStr    bool
	esc      bool
	keyStart bool   // the string being read is at depth 1, perhaps a key
	key      []byte // its bytes (up to 16)
	lastStr  string // the last string at depth 1
	valueOf  int    // tracked key whose value comes next, or -1
	cur      int    // tracked array being read, or -1
	want     bool   // the next value byte in cur starts an element
	starts   []int  // every element start in unknownArray
	done     bool   // the document object has closed
	bad      bool
	// skim: inside an element of a tracked array, jump to the first '}'
	// that is followed by ",{" or "]" instead of reading the element
	// (see skimElement).
	skim bool
	// ctx is checked between windows.
	ctx context.Context
}

// feed scans buf, the bytes of the file from offset base on.
func (o *outliner) feed(buf []byte, base int) {
	for i := 0; i < len(buf) && !o.bad; i++ {
		if !o.inStr && o.depth >= 3 {
			// Inside an element: on to the bracket that closes it.
			if i = o.interior(buf, i); i >= len(buf) {
				return
			}
		}
		if o.inStr {
			if o.esc {
				o.esc = false
				continue
			}
			j := nextQuoteOrBackslash(buf, i)
			if o.keyStart && len(o.key) < 16 {
				o.key = append(o.key, buf[i:min(j, i+16-len(o.key))]...)
			}
			if j >= len(buf) {
				return
			}
			i = j
			if buf[i] == '\\' {
				o.esc = true
				o.keyStart = false // escaped keys are left to Parse
				continue
			}
			o.inStr = false
			if o.keyStart {
				o.lastStr = string(o.key)
			}
			continue
		}
		c := buf[i]
		if c <= ' ' && (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			continue
		}
		if o.done {
			o.bad = true // data after the document
			return
		}
		if o.cur >= 0 && o.want && o.depth == 2 {
			sh := &o.out.arrays[o.cur]
			if c == ']' && sh.n > 0 || c == ',' {
				o.bad = true
				return
			}
			if c != ']' {
				if o.cur == unknownArray {
					o.starts = append(o.starts, base+i)
				} else if sh.n%markEvery == 0 {
					sh.marks = append(sh.marks, base+i)
				}
				sh.n++
			}
			o.want = false
		}
		switch c {
		case '"':
			o.inStr = true
			o.keyStart = o.depth == 1
			o.key = o.key[:0]
			o.lastStr = ""
		case ':':
			o.valueOf = -1
			if o.depth == 1 {
				for k, name := range trackedKeys {
					if o.lastStr == name {
						if o.out.seen[k] {
							o.bad = true // given twice: Parse decides
						}
						o.out.seen[k] = true
						o.valueOf = k
					}
				}
			}
		case '{', '[':
			if o.depth == 1 && o.valueOf >= 0 && c == '[' {
				o.cur = o.valueOf
				o.out.arrays[o.cur].start = base + i
				o.want = true
			}
			o.valueOf = -1
			o.depth++
		case '}', ']':
			o.depth--
			if o.depth == 1 && o.cur >= 0 {
				o.out.arrays[o.cur].end = base + i + 1
				o.cur = -1
			}
			if o.depth == 0 {
				o.done = true
			}
			if o.depth < 0 {
				o.bad = true
			}
		case ',':
			o.valueOf = -1
			if o.depth == 2 && o.cur >= 0 {
				o.want = true
			}
		default: // a number, a literal: on to the next byte that matters
			o.valueOf = -1
			for i+1 < len(buf) && !structural[buf[i+1]] {
				i++
			}
		}
	}
}

// interior skips what lies inside an element of an array (depth 3 and
// more), where only strings and brackets matter — most of the file — and
// returns the offset of the bracket that closes the element's value (for
// feed to take), or len(buf) when buf ends first. It changes the state as
// feed would: in particular a string cut by the end of buf is left open.
func (o *outliner) interior(buf []byte, i int) int {
	if o.skim && o.depth == 3 && o.cur >= 0 {
		if end := skimElement(buf, i); end >= 0 {
			return end
		}
	}
	depth := o.depth
	defer func() { o.depth = depth }()
	for ; i < len(buf); i++ {
		switch buf[i] {
		case '"':
			if o.lastStr != "" || o.keyStart || len(o.key) > 0 {
				o.lastStr, o.keyStart, o.key = "", false, o.key[:0]
			}
			j := i + 1
			for {
				j = nextQuoteOrBackslash(buf, j)
				if j >= len(buf) {
					o.inStr = true
					return len(buf)
				}
				if buf[j] == '"' {
					break
				}
				if j+1 >= len(buf) { // a backslash ends buf
					o.inStr, o.esc = true, true
					return len(buf)
				}
				j += 2
			}
			i = j
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 3 {
				return i
			}
			depth--
		}
	}
	return len(buf)
}

// skimElement returns the offset of the first '}' at or after i that is
// followed (white space aside) by ",{" or by "]" — in the arrays of a
// snapshot, almost always the end of the element being read — or -1 when
// buf ends first. It finds it with bytes.IndexByte, many times faster
// than reading the element's strings one by one. A '}' like that inside
// an element (an array of objects in metadata, a string holding "},{")
// makes the outline wrong; the decoder then finds that an element does
// not end where the outline says, and Load reads the file again with the
// exact outline. Whatever the outline, what the decoder accepts is exact:
// each worker reads the true elements from a true element start, the
// first one the array's, the others where the worker before it ended.
func skimElement(buf []byte, i int) int {
	for i < len(buf) {
		k := bytes.IndexByte(buf[i:], '}')
		if k < 0 {
			return -1
		}
		k += i
		m := skipSpace(buf, k+1)
		if m >= len(buf) {
			return -1
		}
		switch buf[m] {
		case ']':
			return k
		case ',':
			if m = skipSpace(buf, m+1); m >= len(buf) {
				return -1
			}
			if buf[m] == '{' {
				return k
			}
		}
		i = k + 1
	}
	return -1
}

// skipSpace returns the offset of the first byte at or after i that is
// not JSON white space, or len(buf).
func skipSpace(buf []byte, i int) int {
	for i < len(buf) && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r') {
		i++
	}
	return i
}

// structural marks the bytes the outline looks at outside strings.
var structural = func() (t [256]bool) {
	for _, c := range []byte("{}[],:\" \t\r\n") {
		t[c] = true
	}
	return t
}()

// outlineFile scans the whole file. With two cores or more it scans the
// halves at once: the second scan starts at a point after the middle that
// looks like the start of an element of a large array (after "},{"),
// and its findings count only if the first scan, on reaching that point,
// finds itself there indeed; otherwise the first scan goes on alone.
func outlineFile(ctx context.Context, f *os.File, size int, bufs [2][]byte, skim bool) (outline, bool) {
	first := &outliner{valueOf: -1, cur: -1, skim: skim, ctx: ctx}
	split := -1
	if runtime.GOMAXPROCS(0) > 1 {
		split = resyncPoint(f, size/2)
	}
	if split < 0 {
		return first.finish(f, 0, size, bufs[0])
	}
	second := &outliner{valueOf: -1, cur: unknownArray, depth: 2, want: true, skim: skim, ctx: ctx}
	second.starts = hugemem.MakeCap[int](0, (size-split)/128) // elements of 128 bytes or more: no regrowth
	var wg sync.WaitGroup
	wg.Go(func() { second.scan(f, split, size, bufs[1]) })
	first.scan(f, 0, split, bufs[0])
	wg.Wait()
	if first.bad {
		return outline{}, false
	}
	if !(first.depth == 2 && first.cur >= 0 && first.cur < unknownArray && first.want && !first.inStr && !first.esc) {
		return first.finish(f, split, size, bufs[0]) // a wrong guess: on alone
	}
	if second.bad || !second.done || second.inStr || second.out.arrays[unknownArray].end == 0 {
		return outline{}, false
	}
	out := first.out
	sh := &out.arrays[first.cur]
	for _, at := range second.starts {
		if sh.n%markEvery == 0 {
			sh.marks = append(sh.marks, at)
		}
		sh.n++
	}
	sh.end = second.out.arrays[unknownArray].end
	hugemem.Release(second.starts)
	for k := range trackedKeys {
		if second.out.seen[k] {
			if out.seen[k] {
				return outline{}, false
			}
			out.seen[k], out.arrays[k] = true, second.out.arrays[k]
		}
	}
	return out, true
}

// finish scans the file from offset from to the end, and checks that the
// document ended there.
func (o *outliner) finish(f *os.File, from, size int, buf []byte) (outline, bool) {
	o.scan(f, from, size, buf)
	if o.bad || !o.done || o.inStr {
		return outline{}, false
	}
	return o.out, true
}

// scan feeds the file's bytes [from, to) window by window, read into buf.
func (o *outliner) scan(f *os.File, from, to int, buf []byte) {
	for base := from; base < to && !o.bad; {
		if o.ctx.Err() != nil {
			o.bad = true
			return
		}
		n, err := f.ReadAt(buf[:min(len(buf), to-base)], int64(base))
		o.feed(buf[:n], base)
		base += n
		if err != nil || n == 0 {
			o.bad = o.bad || base < to
			return
		}
	}
}

// resyncPoint returns the offset of a '{' at or after from that follows
// "}" and "," (white space between them allowed) and starts an object
// with a field name: most likely the start of an element of the array
// that spans the middle of the file. -1 when there is none nearby.
func resyncPoint(f *os.File, from int) int {
	buf := make([]byte, 64<<10)
	n, _ := f.ReadAt(buf, int64(from))
	buf = buf[:n]
	skipWS := func(i int) int {
		for i < len(buf) && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r') {
			i++
		}
		return i
	}
	for i := 0; i < len(buf); i++ {
		if buf[i] != '}' {
			continue
		}
		j := skipWS(i + 1)
		if j >= len(buf) || buf[j] != ',' {
			continue
		}
		k := skipWS(j + 1)
		if k >= len(buf) || buf[k] != '{' {
			continue
		}
		if q := skipWS(k + 1); q < len(buf) && buf[q] == '"' {
			return from + k
		}
	}
	return -1
}

// loadLarge loads a large regular file by windows; ok is false when it
// leaves the file to Parse. It first skims the elements of the arrays
// (skimElement), and reads the file again with the exact outline if the
// decoder finds that skimming went wrong.
func loadLarge(ctx context.Context, f *os.File, size int64, name string, tune tuning) (*Snapshot, bool) {
	s, _, ok := loadLargeTables(ctx, f, size, name, true, tune)
	return s, ok
}

// loadLargeTables is loadLarge that also returns the decoder's id tables
// for the index. collect allows the collections that keep the peak low
// (Options.NoCollect).
func loadLargeTables(ctx context.Context, f *os.File, size int64, name string, collect bool, tune tuning) (*Snapshot, *tables, bool) {
	// Two window buffers, for the two halves of the structural scan, then
	// for reading one window while the one before is decoded.
	bufs := [2][]byte{hugemem.Make[byte](tune.windowSize), hugemem.Make[byte](tune.windowSize)}
	if s, t, ok := loadWindows(ctx, f, size, name, bufs, true, collect, tune); ok {
		// Nothing the snapshot holds points into them: their pages go
		// back now rather than at a collection that seldom comes
		// (docs/performance.md, "Scratch handed back").
		hugemem.Release(bufs[:]...)
		return s, t, true
	}
	if ctx.Err() != nil {
		return nil, nil, false
	}
	// What the first attempt allocated is garbage now: collect it, so that
	// the second reuses its memory instead of doubling the peak (a waste
	// of time for a small file, as in the tests).
	if collect && size >= 1<<20 {
		runtime.GC()
	}
	s, t, ok := loadWindows(ctx, f, size, name, bufs, false, collect, tune)
	hugemem.Release(bufs[:]...)
	return s, t, ok
}

// loadWindows is loadLarge with a skimmed or an exact outline.
func loadWindows(ctx context.Context, f *os.File, size int64, name string, bufs [2][]byte, skim, collect bool, tune tuning) (*Snapshot, *tables, bool) {
	ol, ok := outlineFile(ctx, f, int(size), bufs, skim)
	if !ok {
		return nil, nil, false
	}

	// The skeleton: the file without the tracked arrays' elements.
	var skel bytes.Buffer
	at := 0
	for _, k := range arrayOrder(ol) {
		sh := ol.arrays[k]
		if !readRange(f, &skel, at, sh.start) {
			return nil, nil, false
		}
		skel.WriteString("[]")
		at = sh.end
	}
	if !readRange(f, &skel, at, int(size)) {
		return nil, nil, false
	}
	s, err := parse(ctx, skel.Bytes(), name, false, tune)
	if err != nil || len(s.Components)+len(s.Resources)+len(s.Cleanups) > 0 {
		return nil, nil, false
	}

	if ol.arrays[0].end == 0 {
		return nil, nil, false // no components array: Parse says what is wrong
	}
	// The large slices first: the collection their size starts then has
	// little else to scan, instead of running through the decoding.
	comps := newSlice[Component](ol.arrays[0].n)
	res := newSlice[Resource](ol.arrays[1].n)
	cl := newSlice[Cleanup](ol.arrays[2].n)
	compIDs := newIDTable(len(comps), func(p int32) string { return comps[p].ID }, tune)
	resIDs := newIDTable(len(res), func(p int32) string { return res[p].ID }, tune)
	clIDs := newIDTable(len(cl), func(p int32) string { return cl[p].ID }, tune)
	// Those allocations took the heap far past the collector's goal, so
	// a collection has started. Left to run while the workers decode, it
	// makes every allocation of theirs help it mark (assists) and every
	// pointer they store pass a write barrier: on a 1M-resource snapshot
	// that cost more CPU than the decoding itself. Finishing it now, while
	// the new slices still hold only zeros, takes a few tens of
	// milliseconds, and the next goal is then twice the loaded snapshot.
	if collect && len(res) >= tune.minParallel {
		runtime.GC()
	}
	var owners *idTable  // the components, once decoded
	var ownerPos []int32 // then the owners' positions, for NewIndex
	for _, k := range arrayOrder(ol) {
		sh := ol.arrays[k]
		ok := false
		switch k {
		case 0:
			hashes := hugemem.Make[uint64](len(comps))
			ok = streamArray(ctx, tune, f, bufs, sh, comps, nil, func(fc *fast, c *Component, i int) bool {
				_, ok := fc.component(c)
				hashes[i] = compIDs.hash(c.ID)
				return ok
			}) && compIDs.fill(hashes)
			hugemem.Release(hashes)
			owners = compIDs
		case 1:
			hashes := hugemem.Make[uint64](len(res))
			if owners != nil {
				ownerPos = hugemem.Make[int32](len(res))
			}
			ok = streamArray(ctx, tune, f, bufs, sh, res, owners, func(fc *fast, r *Resource, i int) bool {
				_, ok := fc.resource(r)
				hashes[i] = resIDs.hash(r.ID)
				if ownerPos != nil {
					ownerPos[i] = fc.ownerPos
				}
				return ok
			}) && resIDs.fill(hashes)
			hugemem.Release(hashes)
		case 2:
			ok = streamArray(ctx, tune, f, bufs, sh, cl, nil, func(fc *fast, c *Cleanup, i int) bool {
				_, ok := fc.cleanup(c)
				return ok && (c.ID == "" || clIDs.insert(c.ID, i))
			})
		}
		if !ok {
			return nil, nil, false
		}
	}
	s.Components, s.Resources, s.Cleanups = comps, res, cl
	parent := hugemem.Make[int32](len(s.Components))
	for i := range s.Components {
		parent[i] = -1
		if p := s.Components[i].Parent; p != "" {
			if pi, ok := compIDs.find(p); ok {
				parent[i] = pi
			}
		}
	}
	if len(parentCycles(parent)) > 0 {
		return nil, nil, false
	}
	return s, &tables{comps: compIDs, res: resIDs, owners: ownerPos}, true
}

// arrayOrder lists the tracked arrays present, in file order.
func arrayOrder(ol outline) []int {
	var ks []int
	for k := range trackedKeys {
		if ol.arrays[k].end > 0 {
			ks = append(ks, k)
		}
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ol.arrays[ks[j]].start < ol.arrays[ks[j-1]].start; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// readRange appends the file's bytes [from, to) to b.
func readRange(f *os.File, b *bytes.Buffer, from, to int) bool {
	if to < from {
		return false
	}
	b.Grow(to - from)
	n, err := f.ReadAt(b.AvailableBuffer()[:to-from], int64(from))
	if n != to-from || err != nil && err != io.EOF {
		return false
	}
	b.Write(b.AvailableBuffer()[:n])
	return true
}

// streamArray decodes the array sh describes into out, a window of whole
// groups of markEvery elements at a time, on the available cores. A reader
// fills the two buffers in turn with the windows that follow each other;
// the workers take the groups one at a time, in order, each with its own
// cursor (and arenas), and a buffer goes back to the reader once every
// group of its window is decoded, so no worker waits for another at the
// end of a window (docs/performance.md, "Groups, not halves"). comps,
// when set, resolves owners.
func streamArray[T any](ctx context.Context, tune tuning, f *os.File, bufs [2][]byte, sh arrayShape, out []T, comps *idTable, elem elemFunc[T]) bool {
	if sh.n == 0 {
		return true
	}
	workers := max(1, min(tune.parallelism(sh.n), len(sh.marks)))
	cursors := make([]*fast, workers)
	for w := range cursors {
		// What a worker keeps is mostly metadata and ids: a quarter of its
		// share of the array is plenty for common snapshots.
		hint := (sh.end - sh.start) / workers / 4
		cursors[w] = &fast{lexer: lexer{depth: 2}, copy: true, comps: comps, bytesHint: hint, dropMetadata: tune.dropMetadata, ctx: ctx}
	}
	groupEnd := func(g int) int { // file offset where group g ends
		if g+1 < len(sh.marks) {
			return sh.marks[g+1]
		}
		return sh.end
	}
	type window struct {
		first, last int // groups
		base        int // file offset of data[0]
		data        []byte
		buf         []byte       // the buffer handed back when it is done
		left        atomic.Int32 // groups not decoded yet
		ok          bool
	}
	// read fills buf (or a larger buffer) with as many whole groups from
	// group g on as fit (at least one).
	read := func(g int, buf []byte) *window {
		w := &window{first: g, last: g, base: sh.marks[g], buf: buf}
		for w.last+1 < len(sh.marks) && groupEnd(w.last+1)-w.base <= len(buf) {
			w.last++
		}
		if need := groupEnd(w.last) - w.base; need > len(buf) {
			buf = make([]byte, need)
		}
		w.data = buf[:groupEnd(w.last)-w.base]
		w.left.Store(int32(w.last - w.first + 1))
		n, err := f.ReadAt(w.data, int64(w.base))
		w.ok = n == len(w.data) && (err == nil || err == io.EOF)
		return w
	}
	// Two buffers, so two windows at most: neither channel ever blocks a
	// sender.
	free, ready, stop := make(chan []byte, 2), make(chan *window, 2), make(chan struct{})
	free <- bufs[0]
	free <- bufs[1]
	var reader sync.WaitGroup
	reader.Go(func() {
		defer close(ready)
		for g := 0; g < len(sh.marks); {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			w := read(g, buf)
			ready <- w
			if !w.ok {
				return
			}
			g = w.last + 1
		}
	})
	var (
		mu     sync.Mutex
		cur    *window
		next   int // cur's next group
		failed atomic.Bool
	)
	// take returns the next group to decode and its window, false when
	// there are no more or the array is given up.
	take := func() (*window, int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if failed.Load() || ctx.Err() != nil {
			return nil, 0, false
		}
		for cur == nil || next > cur.last {
			w, ok := <-ready
			if !ok {
				return nil, 0, false
			}
			if !w.ok {
				failed.Store(true)
				return nil, 0, false
			}
			cur, next = w, w.first
		}
		next++
		return cur, next - 1, true
	}
	var wg sync.WaitGroup
	for _, fc := range cursors {
		wg.Go(func() {
			for {
				w, g, ok := take()
				if !ok {
					return
				}
				from, to := g*markEvery, min((g+1)*markEvery, sh.n)
				fc.data, fc.pos = w.data, sh.marks[g]-w.base
				if !decodeWindow(fc, sh, w.base, out, from, to, elem) {
					failed.Store(true)
				}
				if w.left.Add(-1) == 0 {
					free <- w.buf
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	reader.Wait() // it may still be reading into a buffer
	return !failed.Load() && ctx.Err() == nil
}

// decodeWindow decodes elements [from, to) of the array with the cursor
// at the first one; the window holds the file from offset base on.
func decodeWindow[T any](f *fast, sh arrayShape, base int, out []T, from, to int, elem elemFunc[T]) bool {
	for i := from; i < to; i++ {
		if (i-from)%checkEvery == checkEvery-1 && f.ctx != nil && f.ctx.Err() != nil {
			return false
		}
		if !elem(f, &out[i], i) {
			return false
		}
		switch f.peek() {
		case ',':
			if i == sh.n-1 {
				return false
			}
			f.pos++
			f.ws()
		case ']':
			return i == sh.n-1 && base+f.pos+1 == sh.end
		default:
			return false
		}
	}
	return to == sh.n || base+f.pos == sh.marks[to/markEvery]
}
