package dlp

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/secretenc"
)

// RuleKnownFragment: a piece of one of the bottle's known secrets, long
// enough that it cannot be there by chance, in one request; or pieces of
// one secret spread over several requests (or several parts of one) to
// one host within FragmentWindow.
const RuleKnownFragment = "dlp.known-fragment"

// Fragment matching works on a lower-cased copy of each known secret in
// three forms (as is, reversed, ROT13), so case changes, reversal and
// ROT13 of a piece are caught too; every decoded layer is searched, so a
// piece under base64, hex or percent-encoding is caught like a plain one.
//
// The floor: a piece of a secret whose characters carry h bits each
// (Shannon entropy of the secret, at most log2 of its alphabet) carries
// h*len bits; fragmentBits of them make a chance match in benign traffic
// negligible (2^-44 per position per piece). The floor is never below
// minFragment, so a word-like secret (low entropy per character) needs a
// longer piece. gramLen-byte grams find candidates; every piece of at
// least minFragment characters contains a gram at a position that is a
// multiple of bigStep, so large inputs are sampled, not scanned per byte.
const (
	fragmentBits   = 44
	gramLen        = 8
	minFragment    = gramLen + bigStep - 1 // 11
	bigStep        = 4
	smallInput     = 16 << 10 // inputs up to this are searched at every position
	FragmentWindow = 10 * time.Minute
	maxTrackedHost = 4096
)

type fragForm struct {
	secret int
	s      []byte // lower-cased form of the secret
	form   string // "plain", "reversed", "rot13"
}

// fragmentIndex maps gram hashes to the forms and positions they occur at.
type fragmentIndex struct {
	bits   [1 << 16 / 64]uint64
	grams  map[uint64][]gramRef
	forms  []fragForm
	floors []int // per secret: shortest piece blocked on its own
	lens   []int
}

type gramRef struct {
	form int
	pos  int
}

// gramMask lower-cases ASCII letters in a loaded 8-byte word (other bytes
// may collide; candidates are verified byte by byte).
const gramMask = 0x2020202020202020

func gramHash(w uint64) uint64 { return (w | gramMask) * 0x9e3779b97f4a7c15 }

func newFragmentIndex(ks []KnownSecret) *fragmentIndex {
	x := &fragmentIndex{grams: map[uint64][]gramRef{}}
	for i := range ks {
		v := []byte(ks[i].value)
		x.floors = append(x.floors, FragmentFloor(ks[i].value))
		x.lens = append(x.lens, len(v))
		low := lowerASCII(v)
		for _, f := range []fragForm{{i, low, "plain"}, {i, []byte(secretenc.Reverse(string(low))), "reversed"}, {i, []byte(secretenc.ROT13(string(low))), "rot13"}} {
			fi := len(x.forms)
			x.forms = append(x.forms, f)
			for p := 0; p+gramLen <= len(f.s); p++ {
				h := gramHash(binary.LittleEndian.Uint64(f.s[p:]))
				x.grams[h] = append(x.grams[h], gramRef{fi, p})
				k := h >> 48
				x.bits[k>>6] |= 1 << (k & 63)
			}
		}
	}
	return x
}

// FragmentFloor is the shortest piece of secret that is blocked on its own
// (the whole secret if no shorter piece is safe).
func FragmentFloor(secret string) int {
	h := entropy(secret)
	// Estimated alphabet: the classes present (a random secret over
	// [A-Za-z0-9] shows most of them only when long).
	h = math.Min(h, math.Log2(float64(classAlphabet(secret))))
	if h <= 0 {
		return len(secret)
	}
	f := max(minFragment, int(math.Ceil(fragmentBits/h)))
	return min(f, len(secret))
}

// classAlphabet is the size of the alphabet made of the character classes
// secret uses (upper 26, lower 26, digit 10, other 32).
func classAlphabet(s string) int {
	var up, lo, dg, ot bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			lo = true
		case c >= '0' && c <= '9':
			dg = true
		default:
			ot = true
		}
	}
	n := 0
	if up {
		n += 26
	}
	if lo {
		n += 26
	}
	if dg {
		n += 10
	}
	if ot {
		n += 32
	}
	return max(n, 2)
}

// piece is a match of part of a known secret: positions [lo, hi) of it.
type piece struct {
	secret, lo, hi int
	form           string
}

// find returns the longest piece per secret found in b (at least gramLen
// characters).
func (x *fragmentIndex) find(b []byte, visit func(piece)) {
	if len(x.forms) == 0 || len(b) < gramLen {
		return
	}
	step := 1
	if len(b) > smallInput {
		step = bigStep
	}
	for i := 0; i+gramLen <= len(b); i += step {
		h := gramHash(binary.LittleEndian.Uint64(b[i:]))
		k := h >> 48
		if x.bits[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, g := range x.grams[h] {
			f := &x.forms[g.form]
			// Extend the match both ways, case-insensitively.
			lo, p := i, g.pos
			for lo > 0 && p > 0 && lowerTable[b[lo-1]] == f.s[p-1] {
				lo--
				p--
			}
			hi, q := i, g.pos
			for hi < len(b) && q < len(f.s) && lowerTable[b[hi]] == f.s[q] {
				hi++
				q++
			}
			if hi-lo < gramLen {
				continue // a hash collision
			}
			n := len(f.s)
			pc := piece{secret: f.secret, lo: p, hi: q, form: f.form}
			if f.form == "reversed" {
				pc.lo, pc.hi = n-q, n-p
			}
			visit(pc)
		}
	}
}

// fragmentTracker remembers, per host and known secret, which positions of
// the secret have left in pieces recently. It stores positions, never the
// bytes.
type fragmentTracker struct {
	mu    sync.Mutex
	hosts map[string]map[int]*coverage
	now   func() time.Time
}

type coverage struct {
	bits   []uint64
	pieces int
	last   time.Time
}

func newFragmentTracker() *fragmentTracker {
	return &fragmentTracker{hosts: map[string]map[int]*coverage{}, now: time.Now}
}

// add records a piece sent to host and returns how many positions of the
// secret have been covered there within the window, and by how many pieces.
func (t *fragmentTracker) add(host string, secretLen int, p piece) (covered, pieces int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	m := t.hosts[host]
	if m == nil {
		if len(t.hosts) >= maxTrackedHost {
			t.evict(now)
		}
		m = map[int]*coverage{}
		t.hosts[host] = m
	}
	c := m[p.secret]
	if c == nil || now.Sub(c.last) > FragmentWindow {
		c = &coverage{bits: make([]uint64, (secretLen+63)/64)}
		m[p.secret] = c
	}
	c.last = now
	added := false
	for i := p.lo; i < p.hi; i++ {
		if c.bits[i/64]&(1<<(i%64)) == 0 {
			c.bits[i/64] |= 1 << (i % 64)
			added = true
		}
	}
	if added {
		c.pieces++
	}
	for _, w := range c.bits {
		covered += bits.OnesCount64(w)
	}
	return covered, c.pieces
}

// evict drops hosts with nothing inside the window, or else the stalest.
func (t *fragmentTracker) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for h, m := range t.hosts {
		newest := time.Time{}
		for _, c := range m {
			if c.last.After(newest) {
				newest = c.last
			}
		}
		if now.Sub(newest) > FragmentWindow {
			delete(t.hosts, h)
			continue
		}
		if oldest == "" || newest.Before(oldestAt) {
			oldest, oldestAt = h, newest
		}
	}
	if len(t.hosts) >= maxTrackedHost && oldest != "" {
		delete(t.hosts, oldest)
	}
}

// matchFragments looks for pieces of known secrets in the text layers of
// one part of a request to sc.host: a piece at or over the secret's floor
// blocks at once; shorter pieces are recorded, and block once the pieces
// sent to that host within the window cover the floor.
func (in *Inspector) matchFragments(sc *scan, layers [][]byte, where string) *Verdict {
	if in.frags == nil || len(in.frags.forms) == 0 {
		return nil
	}
	var v *Verdict
	for _, l := range layers {
		in.frags.find(l, func(p piece) {
			if v != nil {
				return
			}
			name := in.known[p.secret].Name
			floor := in.frags.floors[p.secret]
			if p.hi-p.lo >= floor {
				v = &Verdict{Rule: RuleKnownFragment, Reason: "a " + itoa(p.hi-p.lo) + "-character piece of known secret " + name + " (" + p.form + ") in " + where}
				return
			}
			covered, pieces := in.tracker.add(sc.host, in.frags.lens[p.secret], p)
			if pieces >= 2 && covered >= floor {
				v = &Verdict{Rule: RuleKnownFragment, Reason: itoa(pieces) + " pieces covering " + itoa(covered) + " characters of known secret " + name + " sent to " + hostOrUnknown(sc.host) + " (last in " + where + ")"}
			}
		})
		if v != nil {
			return v
		}
	}
	return nil
}

func hostOrUnknown(h string) string {
	if h == "" {
		return "this host"
	}
	return h
}

func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lowerTable[c]
	}
	return out
}
