package respscan

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sync"
)

var (
	hidingTriggers = [][]byte{[]byte("style"), []byte("hidden")}
	linkAttrs      = [][]byte{[]byte("src="), []byte("href="), []byte("srcset="), []byte("data-src=")}
	mdLink         = []byte("](")
	commentOpen    = []byte("<!--")
)

// index holds where each trigger literal of every rule occurs in one
// lower-cased view, found in one pass: the Teddy scan (teddy.go) marks
// the few positions whose first 3 bytes may start a literal, 32 bytes at
// a time, and a table of the literals' first two bytes says which to
// compare there. One pass instead of one bytes.Index per literal is most
// of the scanner's speed on ordinary text.
type index struct {
	pos  [][]int // by literal id; nil: no hit
	flat []int   // the storage of pos
}

// literals are all trigger literals, bucketed by their first two bytes.
var (
	pairBucket [1 << 16]uint8 // 1 + bucket number, 0: no literal starts so
	buckets    [][]literal
	literalID  = map[string]int{}
)

type literal struct {
	b  []byte
	id int
	// pre, mask: the literal's first up to 8 bytes as a little-endian
	// word and the mask of those bytes, so most candidates are settled
	// by one load and compare instead of a bytes.HasPrefix call.
	pre, mask uint64
	// wordStart: every rule that reads this literal skips it when a word
	// byte precedes it ("ai" in "main"), so the index does.
	wordStart bool
}

// at reports whether l starts at low[i:].
func (l *literal) at(low []byte, i int) bool {
	if i+8 > len(low) {
		return bytes.HasPrefix(low[i:], l.b)
	}
	if binary.LittleEndian.Uint64(low[i:])&l.mask != l.pre {
		return false
	}
	return len(l.b) <= 8 || bytes.HasPrefix(low[i+8:], l.b[8:])
}

func init() {
	var all [][]byte
	for _, set := range [][][]byte{overrideTriggers, intlVerbLiterals(), roleTriggers, authorityTriggers, hidingTriggers, linkAttrs, {mdLink, commentOpen}} {
		all = append(all, set...)
	}
	seen := map[string]bool{}
	var lits [][]byte
	for _, l := range all {
		if len(l) < 2 || seen[string(l)] {
			continue
		}
		seen[string(l)] = true
		literalID[string(l)] = len(literalID)
		k := uint16(l[0])<<8 | uint16(l[1])
		if pairBucket[k] == 0 {
			buckets = append(buckets, nil)
			pairBucket[k] = uint8(len(buckets))
		}
		buckets[pairBucket[k]-1] = append(buckets[pairBucket[k]-1], newLiteral(l, literalID[string(l)]))
		lits = append(lits, l)
	}
	for _, tr := range intlVerbTriggers {
		intlVerbIDs = append(intlVerbIDs, literalID[string(tr.lit)])
	}
	teddy, _ = buildTeddy(lits, teddyHint)
	for _, l := range lits {
		addQuad(l)
	}
	for _, bl := range buckets {
		for j := range bl {
			bl[j].wordStart = wordStartOnly(bl[j].b)
		}
	}
}

// quadFilter and pairFilter settle most candidates with one load each,
// before the pair table and the bucket's literals are looked at: a bit
// of quadFilter is set for the hash of the first 4 bytes of every literal
// (of a 3-byte literal followed by any byte), one of pairFilter for every
// 2-byte literal. Three of four candidates of the Teddy scan are not a
// literal, and most of those share the first two bytes with one ("for"
// of "forget", "you" of "your new"): the walk over the bucket they cost
// was most of the index's time. 12 KiB, where the 64 KiB pair table is
// looked up by every candidate that passes.
var (
	quadFilter [1 << quadBits / 64]uint64
	pairFilter [1 << 16 / 64]uint64
)

const quadBits = 15

func quadHash(q uint32) uint32 { return (q * 0x9e3779b1) >> (32 - quadBits) }

func addQuad(l []byte) {
	switch len(l) {
	case 2:
		k := uint32(l[0]) | uint32(l[1])<<8
		pairFilter[k>>6] |= 1 << (k & 63)
	case 3:
		for c := range 256 {
			h := quadHash(uint32(l[0]) | uint32(l[1])<<8 | uint32(l[2])<<16 | uint32(c)<<24)
			quadFilter[h>>6] |= 1 << (h & 63)
		}
	default:
		h := quadHash(binary.LittleEndian.Uint32(l))
		quadFilter[h>>6] |= 1 << (h & 63)
	}
}

// maybeLiteral: some literal may start with the 8 bytes v (little-endian),
// by quadFilter and pairFilter; false only when none does.
func maybeLiteral(v uint64) bool {
	h := quadHash(uint32(v))
	k := uint32(v) & 0xffff
	return quadFilter[h>>6]&(1<<(h&63)) != 0 || pairFilter[k>>6]&(1<<(k&63)) != 0
}

// wordStartOnly: l is a trigger of overrides or authorities only, which
// both skip a trigger that does not start a word (or an intlVerbTrigger
// that starts its verb).
func wordStartOnly(l []byte) bool {
	for _, tr := range intlVerbTriggers {
		if tr.head != "" && bytes.Equal(tr.lit, l) {
			return false // the verb starts len(head) bytes before it
		}
	}
	for _, set := range [][][]byte{roleTriggers, hidingTriggers, linkAttrs, {mdLink, commentOpen}} {
		for _, m := range set {
			if bytes.Equal(m, l) {
				return false
			}
		}
	}
	return true
}

// newIndex indexes low, which is lower-cased already.
func newIndex(low []byte) *index {
	sc := scratchPool.Get().(*indexScratch)
	defer scratchPool.Put(sc)
	lowerMark(nil, low, sc.marksFor(len(low)))
	return sc.indexInto(new(index), low)
}

// lowerIndex lower-cases src into dst's storage when it is large enough
// (ASCII letters only, as lowerASCII in the tests) and indexes the lower-cased view in the same pass.
// nonASCII: src holds a byte >= 0x80.
func lowerIndex(dst, src []byte) (low []byte, ix *index, nonASCII bool) {
	return lowerIndexInto(dst, src, new(index))
}

// lowerIndexInto is lowerIndex filling ix, whose storage it reuses:
// Scan keeps one per view across windows instead of a position table
// and a slice of every hit per window.
func lowerIndexInto(dst, src []byte, ix *index) (low []byte, _ *index, nonASCII bool) {
	low = dst[:0]
	if cap(low) >= len(src) {
		low = low[:len(src)]
	} else {
		low = make([]byte, len(src))
	}
	sc := scratchPool.Get().(*indexScratch)
	defer scratchPool.Put(sc)
	nonASCII = lowerMark(low, src, sc.marksFor(len(src)))
	return low, sc.indexInto(ix, low), nonASCII
}

// indexScratch: the candidate marks and the verified hits of one index,
// kept across calls (8 KB of marks per 64 KiB window).
type indexScratch struct {
	marks []uint64
	hits  []hit
	count []int
}

type hit struct{ at, id int }

var scratchPool = sync.Pool{New: func() any { return new(indexScratch) }}

func (sc *indexScratch) marksFor(n int) []uint64 {
	nw := (n + 63) / 64
	if cap(sc.marks) < nw {
		sc.marks = make([]uint64, nw)
	}
	sc.marks = sc.marks[:nw]
	return sc.marks
}

// index checks every candidate of sc.marks against the literals sharing
// its first two bytes, then lays the positions out by literal in one
// allocation: the same positions in the same order as comparing at every
// byte would give.
func (sc *indexScratch) indexInto(ix *index, low []byte) *index {
	hits := sc.hits[:0]
	for w, m := range sc.marks {
		for m != 0 {
			i := w*64 + bits.TrailingZeros64(m)
			m &= m - 1
			if i+8 <= len(low) && !maybeLiteral(binary.LittleEndian.Uint64(low[i:])) {
				continue
			}
			bl := bucketAt(low, i)
			if bl == nil {
				continue
			}
			inWord := i > 0 && isWordByte(low[i-1])
			if i+8 > len(low) {
				for j := range bl {
					if bytes.HasPrefix(low[i:], bl[j].b) && !(inWord && bl[j].wordStart) {
						hits = append(hits, hit{i, bl[j].id})
					}
				}
				continue
			}
			v := binary.LittleEndian.Uint64(low[i:])
			for j := range bl {
				l := &bl[j]
				if v&l.mask == l.pre && (len(l.b) <= 8 || bytes.HasPrefix(low[i+8:], l.b[8:])) && !(inWord && l.wordStart) {
					hits = append(hits, hit{i, l.id})
				}
			}
		}
	}
	sc.hits = hits
	if cap(ix.pos) < len(literalID) {
		ix.pos = make([][]int, len(literalID))
	}
	ix.pos = ix.pos[:len(literalID)]
	clear(ix.pos)
	if len(hits) == 0 {
		return ix
	}
	if cap(sc.count) < len(literalID) {
		sc.count = make([]int, len(literalID))
	}
	count := sc.count[:len(literalID)]
	clear(count)
	for _, h := range hits {
		count[h.id]++
	}
	if cap(ix.flat) < len(hits) {
		ix.flat = make([]int, len(hits))
	}
	flat := ix.flat[:len(hits)]
	off := 0
	for id, c := range count {
		if c > 0 {
			ix.pos[id] = flat[off : off : off+c]
			off += c
		}
	}
	for _, h := range hits {
		ix.pos[h.id] = append(ix.pos[h.id], h.at)
	}
	return ix
}

// bucketAt is the literals that share low[i:i+2], the first two bytes of
// a candidate, or nil.
func bucketAt(low []byte, i int) []literal {
	if i+1 >= len(low) {
		return nil
	}
	if b := pairBucket[uint16(low[i])<<8|uint16(low[i+1])]; b != 0 {
		return buckets[b-1]
	}
	return nil
}

func newLiteral(b []byte, id int) literal {
	l := literal{b: b, id: id}
	for j := range min(8, len(b)) {
		l.pre |= uint64(b[j]) << (8 * j)
		l.mask |= 0xff << (8 * j)
	}
	return l
}

// at lists where literal l starts, in order.
func (ix *index) at(l []byte) []int {
	id, ok := literalID[string(l)]
	if !ok {
		return nil
	}
	return ix.pos[id]
}

// anyTrigger: some literal occurs in low (newIndex without the index).
func anyTrigger(low []byte) bool {
	sc := scratchPool.Get().(*indexScratch)
	defer scratchPool.Put(sc)
	marks := sc.marksFor(len(low))
	lowerMark(nil, low, marks)
	for w, m := range marks {
		for m != 0 {
			i := w*64 + bits.TrailingZeros64(m)
			m &= m - 1
			bl := bucketAt(low, i)
			for j := range bl {
				if bl[j].at(low, i) {
					return true
				}
			}
		}
	}
	return false
}
