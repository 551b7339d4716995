package respscan

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestTuneTeddy searches the bucket of each literal group that gives the
// fewest false candidates on the text files named in
// RESPSCAN_TEDDY_CORPUS (colon-separated; Go's doc/*.html and README
// files of the module cache were used, docsHTML and go_spec.html held
// out) and prints teddyHint. Not run unless asked.
func TestTuneTeddy(t *testing.T) {
	corpus := os.Getenv("RESPSCAN_TEDDY_CORPUS")
	if corpus == "" {
		t.Skip("RESPSCAN_TEDDY_CORPUS not set")
	}
	var text []byte
	for _, f := range strings.Split(corpus, ":") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, lowerASCII(b)...)
		text = append(text, '\n')
	}
	// False trigrams: where no literal starts.
	falseTri := map[[3]byte]int{}
	for i := 0; i+2 < len(text); i++ {
		hit := false
		for l := range literalID {
			if bytes.HasPrefix(text[i:], []byte(l)) {
				hit = true
				break
			}
		}
		if !hit {
			falseTri[[3]byte(text[i:i+3])]++
		}
	}
	type tri struct {
		b [3]byte
		n int
	}
	var tris []tri
	for b, n := range falseTri {
		tris = append(tris, tri{b, n})
	}
	var pres []string
	for _, l := range allLiterals() {
		p := l[:min(3, len(l))]
		if !slices.Contains(pres, p) {
			pres = append(pres, p)
		}
	}
	groups := make([]*teddyGroup, len(pres))
	for i, p := range pres {
		groups[i] = &teddyGroup{pre: p}
		groups[i].init()
	}
	bucketFalse := func(ms []int) int {
		var nib [6][16]bool
		for _, m := range ms {
			for k := range 3 {
				for c := range 256 {
					if groups[m].sets[k][c] {
						nib[2*k][c&15], nib[2*k+1][c>>4] = true, true
					}
				}
			}
		}
		n := 0
	next:
		for _, tr := range tris {
			for k, c := range tr.b {
				if !nib[2*k][c&15] || !nib[2*k+1][c>>4] {
					continue next
				}
			}
			n += tr.n
		}
		return n
	}
	floor := 0
	for _, tr := range tris {
		for _, p := range pres {
			if string(tr.b[:len(p)]) == p {
				floor += tr.n
				break
			}
		}
	}
	t.Logf("floor (a bucket per group): %d false of %d bytes", floor, len(text))
	var bestWhere []int
	bestTotal := -1
	for restart := range 12 {
		r := rand.New(rand.NewPCG(uint64(restart), 1))
		where := make([]int, len(groups))
		var members [8][]int
		order := r.Perm(len(groups))
		if restart == 0 {
			for i := range order {
				order[i] = i
			}
		}
		for _, gi := range order {
			best, bestAdd := 0, 0
			for b := range members {
				add := bucketFalse(append(slices.Clone(members[b]), gi)) - bucketFalse(members[b])
				if b == 0 || add < bestAdd {
					best, bestAdd = b, add
				}
			}
			members[best] = append(members[best], gi)
			where[gi] = best
		}
		total := func() (n int) {
			for b := range members {
				n += bucketFalse(members[b])
			}
			return n
		}
		for round := range 30 {
			moved := false
			for gi := range groups {
				from := where[gi]
				rest := slices.DeleteFunc(slices.Clone(members[from]), func(m int) bool { return m == gi })
				saved := bucketFalse(members[from]) - bucketFalse(rest)
				best, bestAdd := from, saved
				for b := range members {
					if b != from {
						if add := bucketFalse(append(slices.Clone(members[b]), gi)) - bucketFalse(members[b]); add < bestAdd {
							best, bestAdd = b, add
						}
					}
				}
				if best != from {
					members[from] = rest
					members[best] = append(members[best], gi)
					where[gi] = best
					moved = true
				}
			}
			t.Logf("restart %d round %d: %d false of %d bytes", restart, round, total(), len(text))
			if !moved {
				break
			}
		}
		if n := total(); bestTotal < 0 || n < bestTotal {
			bestTotal, bestWhere = n, where
		}
	}
	where := bestWhere
	// Annealing from the best local optimum: random moves and swaps.
	var members [8][]int
	for gi, b := range where {
		members[b] = append(members[b], gi)
	}
	var cost [8]int
	cur := 0
	for b := range members {
		cost[b] = bucketFalse(members[b])
		cur += cost[b]
	}
	best := cur
	bestW := slices.Clone(where)
	r := rand.New(rand.NewPCG(99, 1))
	const steps = 20000
	for step := range steps {
		temp := 400 * (1 - float64(step)/steps)
		gi := r.IntN(len(groups))
		from, to := where[gi], r.IntN(8)
		if to == from {
			continue
		}
		swap := -1
		if r.IntN(2) == 0 && len(members[to]) > 0 {
			swap = members[to][r.IntN(len(members[to]))]
		}
		nf := slices.DeleteFunc(slices.Clone(members[from]), func(m int) bool { return m == gi })
		nt := append(slices.Clone(members[to]), gi)
		if swap >= 0 {
			nt = slices.DeleteFunc(nt, func(m int) bool { return m == swap })
			nf = append(nf, swap)
		}
		cf, ct := bucketFalse(nf), bucketFalse(nt)
		delta := cf + ct - cost[from] - cost[to]
		if delta <= 0 || r.Float64() < math.Exp(-float64(delta)/temp) {
			members[from], members[to] = nf, nt
			cost[from], cost[to] = cf, ct
			where[gi] = to
			if swap >= 0 {
				where[swap] = from
			}
			cur += delta
			if cur < best {
				best = cur
				bestW = slices.Clone(where)
			}
		}
	}
	t.Logf("annealed: %d false of %d bytes", best, len(text))
	where = bestW
	var b strings.Builder
	b.WriteString("var teddyHint = map[string]int{\n")
	for gi, p := range pres {
		fmt.Fprintf(&b, "\t%q: %d,\n", p, where[gi])
	}
	b.WriteString("}\n")
	fmt.Print(b.String())
}

// allLiterals: every trigger literal, sorted.
func allLiterals() []string {
	var ls []string
	for l := range literalID {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}
