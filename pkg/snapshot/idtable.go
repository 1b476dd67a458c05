package snapshot

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/rescoord/rescoord/internal/hugemem"
)

// idTable maps ids to positions in a slice (of components or resources).
// It is an open-addressing hash table of 8-byte slots — the high 32 bits
// of the id's hash and the position + 1 — so a lookup touches one cache
// line and compares the id itself only when the hash bits agree. A Go map
// of a million strings is about three times larger and slower to fill, and
// this table can be filled by several goroutines at once (compare-and-swap
// on the slots), which lets the decoder's workers index ids as they go.
//
// The ids are not stored: key(pos) returns the id at pos.
type idTable struct {
	seed  maphash.Seed
	slots []uint64
	mask  uint64
	key   func(pos int32) string
	tune  tuning
}

// newIDTable returns a table for n ids, at most half full.
func newIDTable(n int, key func(pos int32) string, tune tuning) *idTable {
	size := 1 << max(bits.Len(uint(2*n)), 3)
	slots := hugemem.Make[uint64](size)
	return &idTable{seed: maphash.MakeSeed(), slots: slots, mask: uint64(size - 1), key: key, tune: tune}
}

// hash returns the hash of id the table files it under.
func (t *idTable) hash(id string) uint64 { return maphash.String(t.seed, id) }

// insert adds id at pos. It reports false, and changes nothing, when the
// id is already there. It is safe for concurrent use.
func (t *idTable) insert(id string, pos int) bool {
	return t.insertHashed(t.hash(id), pos)
}

// insertHashed is insert for the id at pos, whose hash is h.
func (t *idTable) insertHashed(h uint64, pos int) bool {
	tag := h &^ 0xffffffff
	v := tag | uint64(uint32(pos+1))
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		cur := atomic.LoadUint64(&t.slots[j])
		if cur == 0 {
			if atomic.CompareAndSwapUint64(&t.slots[j], 0, v) {
				return true
			}
			cur = atomic.LoadUint64(&t.slots[j])
		}
		if cur&^0xffffffff == tag && t.key(int32(uint32(cur))-1) == t.key(int32(pos)) {
			return false
		}
	}
}

// bucketSlots is how many slots fill inserts into at a time: 32 KB, which
// stays in the core's cache.
const bucketSlots = 4096

// fill inserts positions 0 to len(hashes)-1, whose ids have the hashes
// given (from hash). Inserting in id order would touch a random slot of a
// 16 MB table each time, a cache miss (and on a virtual machine a costly
// TLB miss); fill sorts the positions by slot range first (a counting
// sort), then inserts range by range, the ranges split between the
// available cores. It reports false when two ids are equal.
func (t *idTable) fill(hashes []uint64) bool {
	n := len(hashes)
	shift := min(bits.Len64(t.mask), bits.Len(bucketSlots-1))
	buckets := int(t.mask>>shift) + 1
	start := make([]int32, buckets+1)
	for _, h := range hashes {
		start[(h&t.mask)>>shift+1]++
	}
	for b := range buckets {
		start[b+1] += start[b]
	}
	next := append([]int32(nil), start[:buckets]...)
	order := hugemem.Make[int32](n)
	for i, h := range hashes {
		b := (h & t.mask) >> shift
		order[next[b]] = int32(i)
		next[b]++
	}
	workers := min(t.tune.parallelism(n), buckets)
	ok := make([]bool, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, i := range order[start[buckets*w/workers]:start[buckets*(w+1)/workers]] {
				if !t.insertHashed(hashes[i], int(i)) {
					return
				}
			}
			ok[w] = true
		})
	}
	wg.Wait()
	hugemem.Release(order)
	for _, good := range ok {
		if !good {
			return false
		}
	}
	return true
}

// find returns the position of id.
func (t *idTable) find(id string) (int32, bool) {
	h := maphash.String(t.seed, id)
	tag := h &^ 0xffffffff
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		cur := t.slots[j]
		if cur == 0 {
			return -1, false
		}
		if cur&^0xffffffff == tag {
			if pos := int32(uint32(cur)) - 1; t.key(pos) == id {
				return pos, true
			}
		}
	}
}

// rebind returns the table reading its ids through key.
func (t *idTable) rebind(key func(pos int32) string) *idTable {
	c := *t
	c.key = key
	return &c
}

// buildIDTable indexes the ids of n elements. ok is false when two are equal.
func buildIDTable(n int, key func(pos int32) string, tune tuning) (t *idTable, ok bool) {
	t = newIDTable(n, key, tune)
	hashes := t.hashAll(n)
	ok = t.fill(hashes)
	hugemem.Release(hashes)
	return t, ok
}

// hashAll hashes the ids of n elements, on several goroutines when n is large.
func (t *idTable) hashAll(n int) []uint64 {
	hashes := hugemem.Make[uint64](n)
	workers := t.tune.parallelism(n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := n * w / workers; i < n*(w+1)/workers; i++ {
				hashes[i] = t.hash(t.key(int32(i)))
			}
		})
	}
	wg.Wait()
	return hashes
}

// tables are the id tables a decoder built while it read a snapshot,
// handed to newIndex with the snapshot (LoadIndex, DecodeIndex) instead of
// being rebuilt.
type tables struct {
	comps, res *idTable // either may be nil
	// owners holds, per resource, the position of the component the
	// decoder found its owner to be (-1 for none), or is nil.
	owners []int32
}

// mix64 is the finalizer of SplitMix64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
