package snapshot

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"slices"
	"time"
	"unsafe"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// The fast path decodes one component, resource or cleanup object without
// panics or a path stack. It accepts only what the strict decoder
// (decode.go) accepts without any error, and then produces exactly the
// strict decoder's value; on anything else — an error, or something rare
// it does not bother with — it reports false and the strict decoder runs
// on that element, which finds and locates the error. So the two paths
// cannot disagree on errors: only the strict one ever reports any.
//
// FuzzFastAgreesWithStrict and the TestFast_ tests (fast_test.go)
// check that contract.

// fast is a cursor over the input for the fast path.
type fast struct {
	lexer

	// dropMetadata checks metadata but keeps none (Options.DropMetadata).
	dropMetadata bool

	strs  []string      // arena for depends_on and created_by
	specs []CleanupSpec // arena for cleanup specs
	ints  []int64       // arena for timeout_ms values

	// In copy mode (largefile.go) the input is a window that is reused, so
	// what the snapshot keeps is copied into bytes, and repeated strings
	// (names, types, creation frames) are interned.
	copy  bool
	bytes []byte
	// bytesHint is the size of the first block of bytes: one large block
	// rather than many costs fewer page faults (it is marked for huge
	// pages before it is touched), and what is never used of it is never
	// touched, nor scanned by the collector.
	bytesHint int
	interns   *internCache
	lists     *[listSlots]struct {
		hash uint64
		list *[]string
	}
	heads [][]string // arena for the stacks' lists (see stack)
	// texts remembers the text of recent creation stacks (knownStack).
	texts *stackTexts
	raws  []json.RawMessage // arena for the metadata (readMetadata)
	// comps, when set, holds every component: an owner is then the
	// component's own id string rather than a copy, and ownerPos the
	// position of the last owner read (-1 when it is not a component).
	comps    *idTable
	ownerPos int32

	// unknown holds the unknown fields of the object being read, extras
	// the maps endExtra made of earlier ones.
	unknown []unknownField
	extras  *mapCache[json.RawMessage]
	// labels holds the labels of the object being read, labelMaps the
	// maps sharedLabels made of earlier ones.
	labels    []labelPair
	labelMaps *mapCache[string]

	// ctx, when set, is checked every checkEvery elements (decodeWindow).
	ctx context.Context
}

// str reads a string at pos, kept (see keep).
func (f *fast) str() (string, bool) {
	s, ok := f.view()
	return f.keep(s), ok
}

// optStr reads a string or null (""), as decoder.str does.
func (f *fast) optStr() (string, bool) {
	if f.pos < len(f.data) && f.data[f.pos] == 'n' {
		return "", f.null()
	}
	return f.str()
}

// optTime reads an RFC 3339 timestamp string or null (zero).
func (f *fast) optTime() (time.Time, bool) {
	if f.pos < len(f.data) && f.data[f.pos] == 'n' {
		return time.Time{}, f.null()
	}
	s, ok := f.str()
	if !ok {
		return time.Time{}, false
	}
	return parseTime(s)
}

// raw consumes one value and returns its bytes, as decoder.raw does.
func (f *fast) raw() (json.RawMessage, bool) {
	start := f.pos
	if !f.skip() {
		return nil, false
	}
	return f.keepBytes(f.data[start:f.pos:f.pos]), true
}

// strings reads an array of strings (nulls in it are dropped) or null,
// into the arena; an empty result is nil, as decoder.strings gives.
func (f *fast) strings(intern bool) ([]string, bool) {
	data := f.data
	if f.pos < len(data) && data[f.pos] == 'n' {
		return nil, f.null()
	}
	if f.pos >= len(data) || data[f.pos] != '[' {
		return nil, false
	}
	if f.depth+1 > maxDepth {
		return nil, false
	}
	f.pos++
	if f.peek() == ']' {
		f.pos++
		return nil, true
	}
	start := len(f.strs)
	for {
		f.ws()
		s, ok := f.optView()
		if !ok {
			return nil, false
		}
		if intern {
			s = f.intern(s)
		} else {
			s = f.keep(s)
		}
		if f.data[f.pos-1] == '"' { // not a null
			if len(f.strs) == cap(f.strs) {
				f.growStrings(start)
				start = 0
			}
			f.strs = append(f.strs, s)
		}
		switch f.peek() {
		case ',':
			f.pos++
		case ']':
			f.pos++
			if len(f.strs) == start {
				return nil, true
			}
			return f.strs[start:len(f.strs):len(f.strs)], true
		default:
			return nil, false
		}
	}
}

// extra reads the value of a field this version does not know, raw, for
// endExtra to keep as the strict decoder keeps it.
func (f *fast) extra(k string) bool {
	start := f.pos
	if !f.skip() {
		return false
	}
	f.unknown = append(f.unknown, unknownField{k, f.data[start:f.pos:f.pos]})
	return true
}

// unknownField is a field extra read in the object being read: views of
// the input, kept only if endExtra makes a new map of them.
type unknownField struct {
	key string
	raw []byte
}

// extraSlots is the size of a cursor's caches of maps (unknown fields,
// labels), in buckets of extraWays.
const (
	extraSlots = 1 << 10
	extraWays  = 4
)

// mapCache is a cursor's cache of the maps it made of elements' fields,
// by a hash of their keys and values: an element that repeats an earlier
// one's set gets its map. A bucket keeps its maps most recently used
// first and drops the last for a new one, so the sets a producer repeats
// stay while sets seen once come and go (docs/performance.md, "Unknown
// fields, shared").
type mapCache[V any] [extraSlots / extraWays][extraWays]mapSlot[V]

// mapSlot is a map of a mapCache and the hash it was made for.
type mapSlot[V any] struct {
	hash uint64
	m    map[string]V
}

// pairsHash is the hash of an element's fields, keys and values, for a
// mapCache.
func pairsHash[P interface{ pair() (string, string) }](ps []P) uint64 {
	h := uint64(len(ps))
	for _, p := range ps {
		k, v := p.pair()
		h = mix64(h ^ maphash.String(extraSeed, k))
		h = mix64(h ^ maphash.String(extraSeed, v))
	}
	return h
}

func (u unknownField) pair() (string, string) {
	return u.key, unsafe.String(unsafe.SliceData(u.raw), len(u.raw))
}

func (l labelPair) pair() (string, string) { return l.key, l.value }

// cachedMap returns the map of the fields ps, of hash h, when the cache
// *c (made on first use) holds it, and moves it to the front of its
// bucket; otherwise nil, and the bucket's last slot, at the front, for
// the caller to fill.
func cachedMap[V ~string | ~[]byte, P interface{ pair() (string, string) }](c **mapCache[V], h uint64, ps []P) (map[string]V, *mapSlot[V]) {
	if *c == nil {
		*c = new(mapCache[V])
	}
	b := &(*c)[h&(extraSlots/extraWays-1)]
	i, hit := 0, false
	for ; i < extraWays && !hit; i++ {
		hit = b[i].hash == h && b[i].m != nil && samePairs(b[i].m, ps)
	}
	i-- // the slot that matched, or the last
	found := b[i]
	copy(b[1:i+1], b[:i])
	b[0] = found
	if hit {
		return found.m, &b[0]
	}
	return nil, &b[0]
}

// endExtra ends the object extra read unknown fields of: when ok, *m
// becomes their map — the map of an earlier object with the same unknown
// fields when the cache still holds it, otherwise a new one. Producers
// repeat their own fields (a schema version, labels of their own), and a
// map per element costs hundreds of bytes (docs/performance.md, "Unknown
// fields, shared"). It returns ok.
func (f *fast) endExtra(m *map[string]json.RawMessage, ok bool) bool {
	fields := f.unknown
	f.unknown = f.unknown[:0]
	if !ok || len(fields) == 0 {
		return ok
	}
	*m = shared(&f.extras, fields, func(u unknownField) (string, json.RawMessage) {
		return f.keep(u.key), f.keepBytes(u.raw)
	})
	return true
}

// labelPair is a label readLabels read: views of the input.
type labelPair struct{ key, value string }

// sharedLabels returns the map of labels (distinct keys, at least one):
// the map of an earlier component with the same labels when the cache
// still holds it, otherwise a new one. An application labels its
// components from a few sets, and a map per component costs hundreds of
// bytes (docs/performance.md, "Labels, shared").
func (f *fast) sharedLabels(labels []labelPair) map[string]string {
	return shared(&f.labelMaps, labels, func(l labelPair) (string, string) {
		return f.intern(l.key), f.intern(l.value)
	})
}

// shared returns the map of the fields ps (distinct keys, at least one)
// from the cache *c when it holds an equal one, otherwise a new map of
// them, each field kept (copied out of the input) by keep, which the
// cache then holds.
func shared[V ~string | ~[]byte, P interface{ pair() (string, string) }](c **mapCache[V], ps []P, keep func(P) (string, V)) map[string]V {
	h := pairsHash(ps)
	hit, slot := cachedMap(c, h, ps)
	if hit != nil {
		return hit
	}
	m := make(map[string]V, len(ps))
	for _, p := range ps {
		k, v := keep(p)
		m[k] = v
	}
	slot.hash, slot.m = h, m
	return m
}

// samePairs reports whether m holds exactly the fields ps (whose keys
// differ): the map a mapCache slot holds for them.
func samePairs[V ~string | ~[]byte, P interface{ pair() (string, string) }](m map[string]V, ps []P) bool {
	if len(m) != len(ps) {
		return false
	}
	for _, p := range ps {
		k, v := p.pair()
		if have, ok := m[k]; !ok || string(have) != v {
			return false
		}
	}
	return true
}

// extraSeed hashes the fields of the caches of maps (pairsHash).
var extraSeed = maphash.MakeSeed()

// int64 returns a pointer to a copy of n, from the arena.
func (f *fast) int64(n int64) *int64 { return arenaPtr(&f.ints, n, 512) }

// arenaPtr keeps v in the arena *a and points to it: one allocation per
// block values rather than one each.
func arenaPtr[T any](a *[]T, v T, block int) *T {
	if len(*a) == cap(*a) {
		*a = make([]T, 0, block)
	}
	*a = append(*a, v)
	return &(*a)[len(*a)-1]
}

// arenaBytes is the size of a copy-mode cursor's blocks of bytes and of
// strings: large enough to hold whole huge pages.
const arenaBytes = 4 << 20

// growStrings moves the strings from start on to a new block.
func (f *fast) growStrings(start int) {
	n := len(f.strs) - start
	size := max(1024, 2*n)
	if f.copy {
		size = max(size, arenaBytes/16)
	}
	grown := hugemem.MakeCap[string](n, size)
	copy(grown, f.strs[start:])
	f.strs = grown
}

// keep returns s in a form that outlives the input window: s itself
// unless in copy mode.
func (f *fast) keep(s string) string {
	if !f.copy || s == "" {
		return s
	}
	b := f.keepBytes(unsafe.Slice(unsafe.StringData(s), len(s)))
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// keepBytes is keep for bytes: a copy in copy mode, with no room to grow.
func (f *fast) keepBytes(b []byte) []byte {
	if !f.copy || len(b) == 0 {
		return b
	}
	if len(b) > 4096 {
		return append([]byte(nil), b...)
	}
	if cap(f.bytes)-len(f.bytes) < len(b) {
		size := max(arenaBytes, f.bytesHint)
		f.bytesHint = 0
		f.bytes = hugemem.MakeCap[byte](0, size)
	}
	start := len(f.bytes)
	f.bytes = append(f.bytes, b...)
	return f.bytes[start:len(f.bytes):len(f.bytes)]
}

// internSlots is the size of a cursor's intern cache.
const internSlots = 1 << 14

// intern returns the kept form of s, shared with an earlier equal string
// when the cache still holds one. The cache is direct-mapped by hash: a
// miss costs a copy, never a growing map, whatever the input. Slots keep
// the hash, so a slot holding another string is told apart without
// reading it.
func (f *fast) intern(s string) string {
	if !f.copy || s == "" {
		return s
	}
	if f.interns == nil {
		f.interns = new(internCache)
		f.interns.seed = maphash.MakeSeed()
	}
	h := maphash.String(f.interns.seed, s)
	slot := &f.interns.slots[h&(internSlots-1)]
	if slot.hash == h && len(slot.s) == len(s) {
		// A short string is compared with the copy of its bytes in the
		// slot, which the hash check has just brought into the cache,
		// rather than with the kept string, which may lie anywhere.
		if len(s) <= len(slot.head) && string(slot.head[:len(s)]) == s || slot.s == s {
			return slot.s
		}
	}
	slot.hash, slot.s = h, f.keep(s)
	copy(slot.head[:], s)
	return slot.s
}

type internCache struct {
	seed  maphash.Seed
	slots [internSlots]struct {
		hash uint64
		s    string
		head [40]byte // the first bytes of s
	}
}

// listSlots is the size of a cursor's cache of string lists.
const listSlots = 1 << 12

// stack makes the Stack of list, the tail of strs. In copy mode, when the
// cache of lists still holds an earlier list equal to it, that one is
// shared and list is given back. Creation stacks repeat — the resources
// made by one code path share theirs — and a million of them would
// otherwise take 16 bytes a frame. Their frames are interned, so a list is
// hashed by where its strings are.
func (f *fast) stack(list []string) Stack {
	if !f.copy {
		return Stack{f.head(list)}
	}
	if f.lists == nil {
		f.lists = new([listSlots]struct {
			hash uint64
			list *[]string
		})
	}
	h := uint64(len(list))
	for _, s := range list {
		h = mix64(h ^ uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) ^ uint64(len(s))<<48)
	}
	slot := &f.lists[h&(listSlots-1)]
	if slot.hash == h && slot.list != nil && slices.Equal(*slot.list, list) {
		f.strs = f.strs[:len(f.strs)-len(list)]
		return Stack{slot.list}
	}
	slot.hash, slot.list = h, f.head(list)
	return Stack{slot.list}
}

// The cache of stacks' texts: stackBuckets buckets of stackWays texts,
// the bucket picked by the first stackKey bytes of a text. Only texts of
// stackKey to stackMaxText bytes are kept, so a cursor's cache holds at
// most 4 MiB. After stackProbe lookups with fewer than half of them hits
// the cursor stops using it: input whose stacks do not repeat then pays
// for a few thousand comparisons, not for one per stack.
const (
	stackKey     = 64
	stackBuckets = 1 << 8
	stackWays    = 16
	stackMaxText = 1 << 10
	stackProbe   = 1 << 12
)

type stackTexts struct {
	seed          maphash.Seed
	lookups, hits int
	off           bool
	buckets       [stackBuckets]struct {
		next uint8 // the way replaced next
		ways [stackWays]struct {
			text  []byte
			tail  uint64 // the text's last 8 bytes: most misses end there
			stack Stack
		}
	}
}

// knownStack reads a creation stack whose text, byte for byte, is one the
// cursor has parsed before, and returns that parse's Stack. Identical
// text parses identically, and a kept text is a whole array that ends at
// its closing bracket, so a match is the whole value at pos: the frames
// are neither scanned nor interned again (docs/performance.md, "Stacks
// known by their text"). In copy mode only: the texts are copies. On a
// miss it returns the bucket the text is to be kept in, or -1.
func (f *fast) knownStack() (s Stack, bucket int, ok bool) {
	t := f.texts
	if t == nil {
		t = &stackTexts{seed: maphash.MakeSeed()}
		f.texts = t
	}
	rest := f.data[f.pos:]
	if t.off || len(rest) < stackKey {
		return Stack{}, -1, false
	}
	h := maphash.Bytes(t.seed, rest[:stackKey]) & (stackBuckets - 1)
	b := &t.buckets[h]
	t.lookups++
	for i := range b.ways {
		w := &b.ways[i]
		n := len(w.text)
		if n > 0 && n <= len(rest) && binary.LittleEndian.Uint64(rest[n-8:]) == w.tail && bytes.Equal(rest[:n], w.text) {
			t.hits++
			f.pos += len(w.text)
			return w.stack, -1, true
		}
	}
	if t.lookups == stackProbe && t.hits < stackProbe/2 {
		t.off = true
		return Stack{}, -1, false
	}
	return Stack{}, int(h), false
}

// keepStack remembers in bucket, which knownStack named, that the text
// from start to pos parsed as s.
func (f *fast) keepStack(bucket, start int, s Stack) {
	text := f.data[start:f.pos]
	if bucket < 0 || len(text) < stackKey || len(text) > stackMaxText {
		return
	}
	t := f.texts
	b := &t.buckets[bucket]
	w := &b.ways[b.next]
	b.next = (b.next + 1) % stackWays
	w.text, w.stack = append(w.text[:0], text...), s
	w.tail = binary.LittleEndian.Uint64(text[len(text)-8:])
}

// head keeps list in the arena of headers and points to it.
func (f *fast) head(list []string) *[]string { return arenaPtr(&f.heads, list, headsBlock) }

// headsBlock is how many slice headers one block of the arenas of stacks
// and metadata holds.
const headsBlock = 1 << 10

// owner returns the kept form of an owner id: the component's id when it
// is known.
func (f *fast) owner(s string) string {
	f.ownerPos = -1
	if !f.copy {
		return s
	}
	if f.comps != nil {
		if ci, ok := f.comps.find(s); ok {
			f.ownerPos = ci
			return f.comps.key(ci)
		}
	}
	return f.intern(s)
}
