package respscan

import "slices"

// A Teddy fingerprint of the trigger literals: each literal sits in one
// of 8 buckets; for each of its first 3 bytes, the tables of that offset
// hold the literal's bucket bit at the byte's low and high nibble. The
// bucket mask of byte c at offset k is lo[k][c&15] & hi[k][c>>4], and a
// position i is a candidate iff m_0(d[i]) & m_1(d[i+1]) & m_2(d[i+2]) != 0.
// Sixteen-entry tables are what VPSHUFB looks up, 32 bytes at a time, so
// the scan finds the few places worth comparing literals at without a
// table load per byte. A byte beyond the end of the window matches every
// bucket, and a literal shorter than 3 bytes matches any byte at the
// offsets it lacks: no occurrence is ever missed; a candidate may be
// false (nibble tables accept the product of the nibble sets, and 3 bytes
// are not the whole literal), which the exact check drops.
type teddyTables struct {
	// nib: lo0, hi0, lo1, hi1, lo2, hi2 (the layout the asm loads).
	nib [6][16]uint8
	// mask[k][c] = lo[k][c&15] & hi[k][c>>4]: the portable scan's table.
	mask [3][256]uint8
}

var teddy teddyTables

// teddyGroup: the literals sharing their first 3 bytes (or first 2, for
// a 2-byte literal) go in one bucket together; splitting them would
// only add a bucket's worth of false candidates for nothing.
type teddyGroup struct {
	pre  string // first min(3, len) bytes
	sets [3][256]bool
}

func (g *teddyGroup) init() {
	for k := range 3 {
		if k < len(g.pre) {
			g.sets[k][g.pre[k]] = true
		} else {
			for c := range 256 {
				g.sets[k][c] = true
			}
		}
	}
}

// byteWeight is about how often each lower-cased byte occurs in English
// prose and HTML: what the bucketing minimises the false candidates of.
// Only the ranking matters, so rough figures do.
var byteWeight = func() (w [256]float64) {
	for c := range 256 {
		w[c] = 0.001
	}
	for _, c := range []byte("<>/\"=.,\n-_:;()'0123456789#&") {
		w[c] = 0.006
	}
	w[' '] = 0.15
	freq := [26]float64{8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.8, 4.0, 2.4, 6.7, 7.5, 1.9, 0.1, 6.0, 6.3, 9.1, 2.8, 1.0, 2.4, 0.15, 2.0, 0.07}
	for i, f := range freq {
		w['a'+i] = f / 100 * 0.7
	}
	return w
}()

// bucketCost estimates the share of positions a bucket holding sets
// accepts: the nibble tables accept, at each offset, every byte whose low
// and high nibbles both occur in the set.
func bucketCost(sets *[3][256]bool) float64 {
	cost := 1.0
	for k := range 3 {
		var lo, hi [16]bool
		for c := range 256 {
			if sets[k][c] {
				lo[c&15], hi[c>>4] = true, true
			}
		}
		s := 0.0
		for c := range 256 {
			if lo[c&15] && hi[c>>4] {
				s += byteWeight[c]
			}
		}
		cost *= s
	}
	return cost
}

func unionCost(groups []*teddyGroup, members []int, extra int) float64 {
	var sets [3][256]bool
	add := func(g *teddyGroup) {
		for k := range 3 {
			for c := range 256 {
				sets[k][c] = sets[k][c] || g.sets[k][c]
			}
		}
	}
	for _, m := range members {
		add(groups[m])
	}
	if extra >= 0 {
		add(groups[extra])
	}
	if len(members) == 0 && extra < 0 {
		return 0
	}
	return bucketCost(&sets)
}

// buildTeddy puts lits in 8 buckets: a group (the literals sharing
// their first 3 bytes) named in hint goes in the bucket it names; the
// rest greedily, most expensive first, each into the bucket it adds the
// least estimated cost to. Deterministic: the same literals give the same
// tables.
func buildTeddy(lits [][]byte, hint map[string]int) (t teddyTables, bucketOf map[string]int) {
	idx := map[string]int{}
	var groups []*teddyGroup
	for _, l := range lits {
		pre := string(l[:min(3, len(l))])
		if _, ok := idx[pre]; ok {
			continue
		}
		g := &teddyGroup{pre: pre}
		g.init()
		idx[pre] = len(groups)
		groups = append(groups, g)
	}
	order := make([]int, len(groups))
	own := make([]float64, len(groups))
	for i, g := range groups {
		order[i] = i
		own[i] = bucketCost(&g.sets)
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case own[a] > own[b]:
			return -1
		case own[a] < own[b]:
			return 1
		}
		return 0
	})
	// Tuned groups keep their bucket; the others (literals added since
	// the tuning) go where the estimate says they cost least.
	var members [8][]int
	where := make([]int, len(groups))
	for _, gi := range order {
		if b, ok := hint[groups[gi].pre]; ok {
			members[b] = append(members[b], gi)
			where[gi] = b
		}
	}
	for _, gi := range order {
		if _, ok := hint[groups[gi].pre]; ok {
			continue
		}
		best, bestAdd := 0, 0.0
		for b := range members {
			add := unionCost(groups, members[b], gi) - unionCost(groups, members[b], -1)
			if b == 0 || add < bestAdd {
				best, bestAdd = b, add
			}
		}
		members[best] = append(members[best], gi)
		where[gi] = best
	}
	bucketOf = map[string]int{}
	for pre, gi := range idx {
		b := where[gi]
		bucketOf[pre] = b
		for k := range 3 {
			for c := range 256 {
				if groups[gi].sets[k][c] {
					t.nib[2*k][c&15] |= 1 << b
					t.nib[2*k+1][c>>4] |= 1 << b
				}
			}
		}
	}
	for k := range 3 {
		for c := range 256 {
			t.mask[k][c] = t.nib[2*k][c&15] & t.nib[2*k+1][c>>4]
		}
	}
	return t, bucketOf
}

// teddyHint is the bucket of each literal group that TestTuneTeddy found
// to give the fewest false candidates on English documentation (Go's
// doc/*.html but the spec, and READMEs of the module cache), printed by
//
//	RESPSCAN_TEDDY_CORPUS=a.html:b.md go test -run TestTuneTeddy -v
//
// Re-run it when the trigger literals change much; a group it does not
// name is still bucketed, only by the rougher byte-frequency estimate.
var teddyHint = map[string]int{
	"<<":  5,
	"<|":  5,
	"[/i": 6,
	"[in": 5,
	"](":  5,
	"aba": 4,
	"act": 1,
	"adm": 4,
	"age": 0,
	"ai":  0,
	"ant": 1,
	"ass": 1,
	"byp": 7,
	"cha": 4,
	"cla": 4,
	"cop": 1,
	"cre": 7,
	"dat": 0,
	"dev": 2,
	"dis": 1,
	"do ": 0,
	"don": 0,
	"for": 1,
	"fro": 7,
	"gpt": 2,
	"hid": 3,
	"hre": 7,
	"hum": 7,
	"if ": 3,
	"ign": 4,
	"lan": 4,
	"llm": 4,
	"mod": 3,
	"new": 2,
	"no ": 3,
	"ope": 7,
	"ove": 7,
	"pay": 6,
	"rea": 6,
	"rev": 6,
	"set": 2,
	"sit": 1,
	"src": 4,
	"sto": 4,
	"sty": 2,
	"sys": 1,
	"thr": 1,
	"upd": 3,
	"you": 6,
}
