package respscan

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"html"
	"math"
	"math/bits"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// isInvisible: zero-width, bidi-control and tag characters (and the BOM
// inside text), which render as nothing.
func isInvisible(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2064,
		r >= 0x2066 && r <= 0x2069, r == 0xfeff, r == 0x180e, r == 0x00ad,
		r >= 0xe0000 && r <= 0xe007f:
		return true
	}
	return false
}

// needsNormalizing: b holds an entity that can hide a letter or markup
// (numeric ones, &lt;, &gt;, &quot;, names not in harmlessEntities), a
// backslash escape, or an invisible character. Ordinary text and HTML
// (&amp;, &nbsp;, curly quotes, dashes) skip the decoded view. It jumps
// from one '&', '\\' or non-ASCII byte to the next (nextLead), since it
// reads every byte of every text body.
func needsNormalizing(b []byte, nonASCII bool) bool {
	lead := leadFinder{noHigh: !nonASCII}
	for i := lead.next(b, 0); i < len(b); i = lead.next(b, i+1) {
		switch b[i] {
		case '&':
			if i+1 < len(b) && b[i+1] == '#' {
				return true
			}
			k := i + 1
			for k < len(b) && k-i <= 32 && (b[k] >= 'a' && b[k] <= 'z' || b[k] >= 'A' && b[k] <= 'Z' || b[k] >= '0' && b[k] <= '9') {
				k++
			}
			if k > i+1 && !harmlessEntities[string(b[i+1:k])] {
				return true
			}
			// "word&nbsp;word": the view spells it with a space.
			if string(b[i+1:k]) == "nbsp" && k < len(b) && b[k] == ';' && i > 0 && isLetter(b[i-1]) && k+1 < len(b) && isLetter(b[k+1]) {
				return true
			}
		case '\\':
			if i+1 < len(b) && strings.IndexByte("nrtux\"'/\\", b[i+1]) >= 0 {
				return true
			}
		default:
			if normLead[b[i]] || foldLead[b[i]] {
				r, n := utf8.DecodeRune(b[i:])
				if isInvisible(r) || foldLead[b[i]] && needsFolding(b, i, r, n) {
					return true
				}
			}
		}
	}
	return false
}

// normLead are the non-ASCII bytes that may start an invisible character.
var normLead = [256]bool{0xe2: true, 0xef: true, 0xf3: true, 0xc2: true, 0xe1: true}

// leadFinder finds the next '&', '\\' or non-ASCII byte of a text, the
// bytes normalize may change. It remembers the next '&' and '\\' found by
// bytes.IndexByte (SIMD) so that each is searched once per occurrence,
// and skips ASCII eight bytes at a time for the rest.
type leadFinder struct {
	amp, bs int // next '&' / '\\' at or after the last query; -1 unknown, len(b) none
	hi      int // next byte >= 0x80, same convention
	init    bool
	noHigh  bool // the text is known to be ASCII
}

func (l *leadFinder) next(b []byte, i int) int {
	if !l.init {
		l.amp, l.bs, l.hi, l.init = -1, -1, -1, true
	}
	if l.amp < i {
		l.amp = indexFrom(b, i, '&')
	}
	if l.bs < i {
		l.bs = indexFrom(b, i, '\\')
	}
	if l.hi < i {
		l.hi = len(b)
		if !l.noHigh {
			l.hi = nextNonASCII(b, i)
		}
	}
	return min(l.amp, l.bs, l.hi)
}

// indexFrom is the index of the first c in b[i:] (as an offset in b), or
// len(b).
func indexFrom(b []byte, i int, c byte) int {
	if i >= len(b) {
		return len(b)
	}
	if k := bytes.IndexByte(b[i:], c); k >= 0 {
		return i + k
	}
	return len(b)
}

// nextNonASCII is the index of the first byte >= 0x80 in b[i:], or
// len(b): eight bytes at a time.
func nextNonASCII(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if v := binary.LittleEndian.Uint64(b[i:]) & 0x8080808080808080; v != 0 {
			return i + bits.TrailingZeros64(v)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return i
		}
	}
	return len(b)
}

// harmlessEntities decode to punctuation or spaces only.
var harmlessEntities = map[string]bool{
	"amp": true, "nbsp": true, "copy": true, "reg": true, "trade": true, "mdash": true, "ndash": true,
	"hellip": true, "rsquo": true, "lsquo": true, "ldquo": true, "rdquo": true, "middot": true,
	"raquo": true, "laquo": true, "bull": true, "times": true, "deg": true, "rarr": true, "larr": true,
}

func hasInvisible(b []byte) bool {
	for i := nextNonASCII(b, 0); i < len(b); i = nextNonASCII(b, i) {
		r, n := utf8.DecodeRune(b[i:])
		if isInvisible(r) {
			return true
		}
		i += n
	}
	return false
}

// entityLen is the length of the character reference at the start of b
// (b[0] is '&'), or 0: what ^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|
// [a-zA-Z][a-zA-Z0-9]{1,31});? matches, without a regexp run per '&'.
func entityLen(b []byte) int {
	k := 1
	run := func(max int, ok func(byte) bool) int {
		n := 0
		for k+n < len(b) && n < max && ok(b[k+n]) {
			n++
		}
		return n
	}
	switch {
	case k+1 < len(b) && b[k] == '#' && isDigit(b[k+1]):
		k++
		k += run(7, isDigit)
	case k+2 < len(b) && b[k] == '#' && (b[k+1] == 'x' || b[k+1] == 'X') && isHex(b[k+2]):
		k += 2
		k += run(6, isHex)
	case k+1 < len(b) && isLetter(b[k]) && isAlnum(b[k+1]):
		k++
		k += run(31, isAlnum)
	default:
		return 0
	}
	if k < len(b) && b[k] == ';' {
		k++
	}
	return k
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isHex(c byte) bool    { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// normalizeInto decodes HTML entities and JSON/JS string escapes and drops
// invisible characters. The map says which bytes of b each byte of norm
// came from. Text between the bytes it may change ('&', '\\', non-ASCII)
// is copied whole: a page of prose with a few entities costs a copy.
// It writes into buf's storage and m (reset), so Scan reuses a window's
// decoded view and map across windows instead of 64 KiB a window.
func normalizeInto(buf []byte, m *normMap, b []byte) ([]byte, *normMap) {
	norm := buf[:0]
	if cap(norm) < len(b) {
		norm = make([]byte, 0, len(b))
	}
	*m = normMap{segs: m.segs[:0], srcLen: len(b)}
	var lead leadFinder
	var tmp [utf8.UTFMax]byte
	i := 0
	for i < len(b) {
		j := lead.next(b, i)
		if j > i { // plain ASCII run
			m.add(len(norm), i, true)
			norm = append(norm, b[i:j]...)
			i = j
			if i == len(b) {
				break
			}
		}
		c := b[i]
		var out []byte // what b[i:i+n] decodes to
		n := 0
		switch {
		case c == '&':
			if el := entityLen(b[i:]); el > 0 {
				e := b[i : i+el]
				if d := html.UnescapeString(string(e)); d != string(e) {
					if r, _ := utf8.DecodeRuneInString(d); !isInvisible(r) {
						out = []byte(d)
						if f := foldRune(r, false); f != 0 && len(d) == utf8.RuneLen(r) {
							tmp[0] = f
							out = tmp[:1]
						}
					}
					n = len(e)
				}
			}
		case c == '\\' && i+1 < len(b):
			if d, k := jsEscape(b[i:], &tmp); k > 0 {
				if r, _ := utf8.DecodeRune(d); !isInvisible(r) {
					out = d
				}
				n = k
			}
		case c >= 0x80:
			r, k := utf8.DecodeRune(b[i:])
			n = k
			if !isInvisible(r) {
				latin := len(norm) > 0 && isLetter(norm[len(norm)-1]) || i+k < len(b) && isLetter(b[i+k])
				w := utf8.EncodeRune(tmp[:], r)
				if r == utf8.RuneError {
					w = copy(tmp[:], b[i:i+k])
				} else if f := foldRune(r, latin); f != 0 {
					tmp[0], w = f, 1
				}
				out = tmp[:w]
			}
		}
		if n == 0 { // an '&' or '\\' that starts nothing: itself
			m.add(len(norm), i, true)
			norm = append(norm, c)
			i++
			continue
		}
		if len(out) > 0 {
			m.add(len(norm), i, false)
			norm = append(norm, out...)
		}
		i += n
	}
	m.viewLen = len(norm)
	return norm, m
}

// normMap maps offsets of the normalized view back to the text. Segment
// k covers view bytes [segs[k].v, segs[k+1].v) (the last one to the
// view's end): an identity segment maps view byte v to src+(v-seg.v), a
// decoded one (an entity, an escape, a non-ASCII character) maps all its
// bytes to src, where what it decodes starts.
type normMap struct {
	segs            []normSeg
	srcLen, viewLen int
}

type normSeg struct {
	v, src int
	ident  bool
}

func (m *normMap) add(v, src int, ident bool) {
	if k := len(m.segs) - 1; ident && k >= 0 && m.segs[k].ident && m.segs[k].src+(v-m.segs[k].v) == src {
		return // continues the identity segment before it
	}
	m.segs = append(m.segs, normSeg{v: v, src: src, ident: ident})
}

// seg is the index of the segment holding view byte v.
func (m *normMap) seg(v int) int {
	k, _ := slices.BinarySearchFunc(m.segs, v, func(s normSeg, v int) int { return cmp.Compare(s.v, v+1) })
	return k - 1
}

func (m *normMap) src(v int) int {
	if v >= m.viewLen {
		return m.srcLen
	}
	s := m.segs[m.seg(v)]
	if s.ident {
		return s.src + (v - s.v)
	}
	return s.src
}

// span maps a span of the view back to the text: from the source of its
// first byte to the source after its last (an entity decoded to several
// bytes ends where the entity does; an invisible character dropped right
// after the span is inside it).
func (m *normMap) span(start, end int) (int, int) {
	k := end
	if k < m.viewLen && m.src(k) == m.src(end-1) { // inside one decoded segment
		if sk := m.seg(end - 1); sk+1 < len(m.segs) {
			k = m.segs[sk+1].v
		} else {
			k = m.viewLen
		}
	}
	return m.src(start), m.src(k)
}

// jsEscape decodes one JSON/JS escape at the start of b (\n, \", \uXXXX
// with surrogate pairs, \xXX) and returns its bytes and length.
func jsEscape(b []byte, tmp *[utf8.UTFMax]byte) ([]byte, int) {
	one := func(c byte) []byte { tmp[0] = c; return tmp[:1] }
	switch b[1] {
	case 'n':
		return one('\n'), 2
	case 'r':
		return one('\r'), 2
	case 't':
		return one('\t'), 2
	case '"', '\\', '/', '\'':
		return b[1:2], 2
	case 'x':
		if v, ok := hexValue(b, 2, 4); ok {
			return tmp[:utf8.EncodeRune(tmp[:], rune(v))], 4
		}
	case 'u':
		v, ok := hexValue(b, 2, 6)
		if !ok {
			return nil, 0
		}
		r := rune(v)
		if r >= 0xd800 && r < 0xdc00 && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
			if lo, ok := hexValue(b, 8, 12); ok && lo >= 0xdc00 && lo < 0xe000 {
				return tmp[:utf8.EncodeRune(tmp[:], 0x10000+(r-0xd800)<<10+(rune(lo)-0xdc00))], 12
			}
		}
		return tmp[:utf8.EncodeRune(tmp[:], r)], 6
	}
	return nil, 0
}

// hexValue reads b[from:to] as hex digits, all of them there.
func hexValue(b []byte, from, to int) (uint32, bool) {
	if len(b) < to {
		return 0, false
	}
	var v uint32
	for _, c := range b[from:to] {
		if !isHex(c) {
			return 0, false
		}
		d := c - '0'
		if c > '9' {
			d = c | 0x20 - 'a' + 10
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// invisibleRuns finds hidden characters that carry text: a run of tag
// characters (ASCII smuggled as U+E0020..U+E007E) that is not an emoji
// subdivision flag, four or more zero-width characters in a row (binary
// steganography), and bidi override controls.
func invisibleRuns(b []byte) []Finding {
	if bytes.IndexByte(b, 0xe2) < 0 && bytes.IndexByte(b, 0xf3) < 0 && bytes.IndexByte(b, 0xef) < 0 && bytes.IndexByte(b, 0xe1) < 0 {
		return nil
	}
	var out []Finding
	add := func(s, e int) {
		out = append(out, Finding{Rule: RulePrefix + "invisible", Start: s, End: e, Excerpt: excerpt(b[s:e])})
	}
	for i := nextNonASCII(b, 0); i < len(b); i = nextNonASCII(b, i) {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r >= 0xe0000 && r <= 0xe007f:
			s, tags := i, 0
			for i < len(b) {
				r2, n2 := utf8.DecodeRune(b[i:])
				if r2 < 0xe0000 || r2 > 0xe007f {
					break
				}
				tags++
				i += n2
			}
			if tags >= 3 && !emojiFlag(b, s, i) {
				add(s, i)
			}
			continue
		case r == 0x202d || r == 0x202e:
			add(i, i+n)
		case isZeroWidth(r):
			s, k := i, 0
			for i < len(b) {
				r2, n2 := utf8.DecodeRune(b[i:])
				if !isZeroWidth(r2) {
					break
				}
				k++
				i += n2
			}
			if k >= 4 {
				add(s, i)
			}
			continue
		}
		i += n
	}
	return out
}

func isZeroWidth(r rune) bool {
	return r >= 0x200b && r <= 0x200d || r >= 0x2060 && r <= 0x2064 || r == 0xfeff || r == 0x180e
}

// emojiFlag: the tag run [s,e) follows U+1F3F4 (black flag), spells up to
// seven lower-case letters or digits and ends with CANCEL TAG, as the
// subdivision flags (England, Scotland, Wales) do.
func emojiFlag(b []byte, s, e int) bool {
	if s < 4 || string(b[s-4:s]) != "\U0001F3F4" {
		return false
	}
	t := string(b[s:e])
	rs := []rune(t)
	if len(rs) < 2 || len(rs) > 8 || rs[len(rs)-1] != 0xe007f {
		return false
	}
	for _, r := range rs[:len(rs)-1] {
		c := r - 0xe0000
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// signingParams are query names that carry signatures and ids of
// ordinary signed or tracked URLs, not data the agent was asked to add.
var signingParams = map[string]bool{
	"signature": true, "sig": true, "x-amz-signature": true, "x-amz-credential": true, "x-amz-security-token": true,
	"x-goog-signature": true, "x-goog-credential": true, "se": true, "sv": true, "sp": true, "sr": true, "skoid": true,
	"sktid": true, "policy": true, "key-pair-id": true, "expires": true, "ixid": true, "ixlib": true, "integrity": true,
	"v": true, "ver": true, "hash": true, "etag": true, "token": false,
}

// exfilURL: an image or link target that carries data out, a
// placeholder for the agent to fill in, or a long random value in the
// query (the data itself).
func exfilURL(raw []byte) bool {
	// The fragment never leaves: no client sends it, so a slot there
	// ("configuration/#<kubernetes_sd_config>") carries nothing out.
	if i := bytes.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	s := string(raw)
	dec, err := url.PathUnescape(s)
	if err != nil {
		dec = s
	}
	ldec := strings.ToLower(dec)
	if q := strings.IndexAny(ldec, "?#"); q >= 0 {
		if rePlaceholder.MatchString(ldec[q:]) {
			return true
		}
	} else if i := strings.Index(ldec[min(len(ldec), 8):], "/"); i >= 0 {
		// A placeholder in the path (https://x.test/log/{secret}).
		if p := ldec[8+i:]; strings.ContainsAny(p, "{$<[") {
			if m := rePlaceholder.FindString(p); m != "" && reDataSlot.MatchString(m) {
				return true
			}
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	for k, vs := range u.Query() {
		if signingParams[strings.ToLower(k)] {
			continue
		}
		for _, v := range vs {
			if randomValue(v) {
				return true
			}
		}
	}
	return false
}

// mightExfil is the cheap test in front of exfilURL, on the lower-cased
// URL: a template or escape mark, a slot word, or a run of 64+ characters
// between separators.
//
// One pass over u: it runs at every link of a page, and the search for
// the marks and each slot word was a pass each.
func mightExfil(u []byte) bool {
	run := 0
	for i, c := range u {
		switch exfilClass[c] {
		case exfilMark:
			return true
		case exfilSep:
			run = 0
			continue
		case exfilWord:
			if slotWordAt(u[i:]) {
				return true
			}
		}
		if run++; run >= 64 {
			return true
		}
	}
	return false
}

const (
	exfilMark = 1 + iota // a template or escape mark
	exfilSep             // ends a run
	exfilWord            // may start a slot word
)

// slotWords may name a slot for data in a URL; slotWordAt knows them.
var slotWords = []string{"insert", "paste", "append", "add", "put", "your", "user"}

// slotWordAt: r starts with a slot word. By its first byte, so a URL's
// many a, p and u cost one or two compares of a constant each.
func slotWordAt(r []byte) bool {
	switch r[0] {
	case 'i':
		return hasWord(r, "insert")
	case 'p':
		return hasWord(r, "paste") || hasWord(r, "put")
	case 'a':
		return hasWord(r, "append") || hasWord(r, "add")
	case 'y':
		return hasWord(r, "your")
	case 'u':
		return hasWord(r, "user")
	}
	return false
}

func hasWord(r []byte, w string) bool { return len(r) >= len(w) && string(r[:len(w)]) == w }

var exfilClass = func() (t [256]uint8) {
	for _, c := range []byte("{$<[%") {
		t[c] = exfilMark
	}
	for _, c := range []byte("&=?#/;") {
		t[c] = exfilSep
	}
	for _, w := range slotWords {
		t[w[0]] = exfilWord
	}
	return t
}()

// randomValue: 64+ characters of a base64/base32 alphabet, not only hex
// digits (digests), with 4.5+ bits of entropy per character.
func randomValue(v string) bool {
	if len(v) < 64 {
		return false
	}
	hex := true
	var counts [256]int
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_'
		if !ok {
			return false
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			hex = false
		}
		counts[c]++
	}
	if hex {
		return false
	}
	var h float64
	for _, n := range counts {
		if n > 0 {
			p := float64(n) / float64(len(v))
			h -= p * math.Log2(p)
		}
	}
	return h >= 4.5
}
