package respscan

import "bytes"

var (
	hidingTriggers = [][]byte{[]byte("style"), []byte("hidden")}
	linkAttrs      = [][]byte{[]byte("src="), []byte("href="), []byte("srcset="), []byte("data-src=")}
	mdLink         = []byte("](")
)

// index holds where each trigger literal of every rule occurs in one
// lower-cased view, found in one pass: a table of the literals' first two
// bytes says where to compare. One pass instead of one bytes.Index per
// literal is most of the scanner's speed on ordinary text.
type index struct {
	pos [][]int // by literal id
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
}

func init() {
	var all [][]byte
	for _, set := range [][][]byte{overrideTriggers, roleTriggers, authorityTriggers, hidingTriggers, linkAttrs, {mdLink}} {
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
		buckets[pairBucket[k]-1] = append(buckets[pairBucket[k]-1], literal{l, literalID[string(l)]})
		lits = append(lits, l)
	}
	teddy, _ = buildTeddy(lits, teddyHint)
}

func newIndex(low []byte) *index {
	ix := &index{pos: make([][]int, len(literalID))}
	for i := 0; i+1 < len(low); i++ {
		b := pairBucket[uint16(low[i])<<8|uint16(low[i+1])]
		if b == 0 {
			continue
		}
		for _, l := range buckets[b-1] {
			if bytes.HasPrefix(low[i:], l.b) {
				ix.pos[l.id] = append(ix.pos[l.id], i)
			}
		}
	}
	return ix
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
	for i := 0; i+1 < len(low); i++ {
		b := pairBucket[uint16(low[i])<<8|uint16(low[i+1])]
		if b == 0 {
			continue
		}
		for _, l := range buckets[b-1] {
			if bytes.HasPrefix(low[i:], l.b) {
				return true
			}
		}
	}
	return false
}
