package respscan

import (
	"bytes"
	"slices"
	"sync"
)

// Text cut into pieces. A sender that streams text (SSE deltas, an MCP
// server's content blocks, JSON-lines) hands the agent's client string
// values that it concatenates: "Ignore all prev" in one event and "ious
// instructions" in the next read as one order once joined, and neither
// window of the body holds the phrase. The joined view is the string
// values of one key (and the payloads of SSE data lines that are not
// JSON) put end to end, as the client puts them; what it finds counts
// where the plain views of the window found nothing.

// piece is one string value's content, [start, end) in the window, and
// the key it is a value of (an index into joiner.keys). cont: it goes on
// from a string a read cut, so it starts no new value.
type piece struct {
	start, end, key int
	cont            bool
}

const (
	// joinBefore and joinAfter: how much of the joined view around a join
	// is scanned. A phrase is far shorter; the context keeps the rules'
	// look-back guards (quoted, discussed: 400 bytes) as they are in one
	// piece of text, and a marker's order (300 bytes on) in reach.
	joinBefore = 512
	joinAfter  = 384
	// joinNear: a finding further than this from every join lies inside
	// one value, where the plain views read it with all its context. A
	// marker's order is looked for up to 300 bytes on (followedByDirective).
	joinNear = 320
	// maxKeyLen: a longer "string": is taken for a value, not a key.
	maxKeyLen = 64
	// tailLen is how much of a key's joined text a stream keeps for its
	// next window; maxTails how many keys it keeps (the least recently
	// continued goes first).
	tailLen  = 1 << 10
	maxTails = 64
)

// dataKey groups the payloads of SSE data lines that are not JSON.
const dataKey = "\x00data"

// lexState is where a body's JSON lexing stands between two windows. A
// body is lexed from its first byte, so a quote's parity is known: a
// string is never mistaken for what lies between two strings.
type lexState struct {
	decided, on bool // the body is JSON or SSE (lexed at all)
	head        []byte
	sse         bool
	inStr, esc  bool // a read cut a string (after a lone backslash)
	short       bool // ... one short enough to be a key, so far in partial
	partial     []byte
	cur         []byte // the key the next value belongs to (empty at the root)
	// pending: a short string closed at the end of a window; the next
	// byte that is not a space says whether it was a key.
	pending    []byte
	hasPending bool
}

// jsonStart: the body starts as JSON does (an object or array), or as
// an SSE stream (sse).
func jsonStart(b []byte) (decided, on, sse bool) {
	k := afterSpace(b, 0)
	if k == len(b) {
		return false, false, false
	}
	if b[k] == '{' || b[k] == '[' {
		return true, true, false
	}
	for _, f := range []string{"data:", "event:", "id:", "retry:", ":"} {
		if bytes.HasPrefix(b[k:], []byte(f)) {
			return true, true, true
		}
		if bytes.HasPrefix([]byte(f), b[k:]) {
			return false, false, false // too little yet to tell
		}
	}
	return true, false, false
}

// joiner holds one window's pieces. Its storage is reused from window
// to window: a key costs an allocation the first time a joiner sees it.
type joiner struct {
	keys   [][]byte // keys[:nkeys] are this window's
	nkeys  int
	keyIx  map[string]*keySlot
	gen    uint32
	pieces []piece
	// carried is the value a window's start settled (the rest of a
	// string a read cut, or a pending string that was not a key), for key
	// carriedKey (-1: none), to join before this window's pieces. A
	// window starts inside a string or after one, never both: one at most.
	carried    []byte
	carriedKey int
}

type keySlot struct {
	gen uint32 // the window it was last used in
	idx int
}

// maxKeyIx bounds the keys a pooled joiner remembers across bodies.
const maxKeyIx = 4096

func (j *joiner) reset() {
	j.gen++
	j.nkeys = 0
	j.pieces = j.pieces[:0]
	j.carried, j.carriedKey = j.carried[:0], -1
	if len(j.keyIx) > maxKeyIx {
		j.keyIx = nil
	}
}

func (j *joiner) key(k []byte) int {
	if j.keyIx == nil {
		j.keyIx = map[string]*keySlot{}
	}
	sl := j.keyIx[string(k)]
	if sl != nil && sl.gen == j.gen {
		return sl.idx
	}
	if sl == nil {
		sl = &keySlot{}
		j.keyIx[string(k)] = sl
	}
	if j.nkeys == len(j.keys) {
		j.keys = append(j.keys, nil)
	}
	j.keys[j.nkeys] = append(j.keys[j.nkeys][:0], k...)
	*sl = keySlot{j.gen, j.nkeys}
	j.nkeys++
	return j.nkeys - 1
}

func (j *joiner) add(start, end int, key []byte, cont bool) {
	if end > start {
		j.pieces = append(j.pieces, piece{start, end, j.key(key), cont})
	}
}

// lex collects the string values in b[from:] (the bytes not lexed
// before; st says where the body's lexing stood at from) and, in an SSE
// stream, the payloads of data lines that are not JSON.
func (j *joiner) lex(b []byte, from int, st *lexState) {
	j.reset()
	if !st.decided {
		// The body's first bytes that are not spaces, kept while too
		// few to tell (at most a few bytes: a prefix of "retry:").
		at := from
		if len(st.head) == 0 {
			at = afterSpace(b, from)
		}
		st.head = append(st.head, b[at:min(len(b), at+8)]...) // "retry:" decides
		var sse bool
		st.decided, st.on, sse = jsonStart(st.head)
		st.sse = st.sse || sse
		st.on = st.on || st.sse
		if st.decided {
			st.head = nil
		}
	}
	if !st.on {
		return
	}
	j.lexJSON(b, from, st)
	if st.sse && bytes.Contains(b[from:], []byte("data:")) {
		j.lexData(b, from)
	}
}

// lexJSON reads strings: a string followed by a colon is a key (if
// short), any other is a value of the last key. A raw line end inside a
// string is not JSON: the string ends there and the next line is read
// afresh (JSON lines, SSE events), so a stray quote costs one line.
func (j *joiner) lexJSON(b []byte, i int, st *lexState) {
	if st.hasPending {
		k := afterSpace(b, i)
		if k == len(b) {
			return
		}
		st.hasPending = false
		if b[k] == ':' {
			st.cur = append(st.cur[:0], st.pending...)
			i = k + 1
		} else {
			j.carry(st.cur, st.pending)
		}
	}
	if st.inStr {
		if i = j.goOn(b, i, st); i < 0 {
			return
		}
	}
	for i < len(b) {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return
		}
		q += i
		e, nl := closeQuote(b, q+1, false)
		switch {
		case nl >= 0:
			// Not JSON, but a value to a lenient reader: read as one.
			j.add(q+1, nl, st.cur, false)
			i = nl + 1
		case e < 0:
			// A read cut the string. A short one may yet be a key:
			// kept until it closes.
			st.inStr, st.esc = true, endsEscaping(b, q+1, false)
			st.partial = st.partial[:0]
			if st.short = len(b)-q-1 <= maxKeyLen; st.short {
				st.partial = append(st.partial, b[q+1:]...)
			} else {
				j.add(q+1, len(b), st.cur, false)
			}
			return
		default:
			if i = j.closed(b, e, e-q-1, st, func() { j.add(q+1, e, st.cur, false) }, nil); i < 0 {
				return
			}
		}
	}
}

// goOn reads on in a string that a read cut, from i; it returns where
// lexing goes on after it, or -1 if b ends first.
func (j *joiner) goOn(b []byte, i int, st *lexState) int {
	e, nl := closeQuote(b, i, st.esc)
	// cont: the bytes from i go on from a piece or carried text; a short
	// string with nothing kept yet starts at i.
	cont := !st.short || len(st.partial) > 0
	switch {
	case nl >= 0:
		// Not JSON, but a value to a lenient reader: read as one.
		st.inStr = false
		if st.short {
			j.carry(st.cur, st.partial)
		}
		j.add(i, nl, st.cur, cont)
		return nl + 1
	case e < 0:
		st.esc = endsEscaping(b, i, st.esc)
		if st.short && len(st.partial)+len(b)-i <= maxKeyLen {
			st.partial = append(st.partial, b[i:]...)
			return -1
		}
		if st.short { // too long for a key now: a value
			j.carry(st.cur, st.partial)
			st.short = false
		}
		j.add(i, len(b), st.cur, cont)
		st.partial = st.partial[:0]
		return -1
	}
	st.inStr = false
	if !st.short {
		j.add(i, e, st.cur, true)
		return e + 1
	}
	n := len(st.partial) + e - i
	key := append(st.partial, b[i:e]...)
	st.partial = key[:0]
	return j.closed(b, e, n, st, func() {
		j.carry(st.cur, key[:len(key)-(e-i)])
		j.add(i, e, st.cur, cont)
	}, key)
}

// closed handles a string whose closing quote is at e (n bytes long):
// a key if a colon follows and it is short (its bytes are key, or
// b[e-n:e]), else a value (value adds it). It returns where lexing goes
// on, or -1 if only spaces follow in b (the next window decides).
func (j *joiner) closed(b []byte, e, n int, st *lexState, value func(), key []byte) int {
	if key == nil {
		key = b[e-n : e]
	}
	k := afterSpace(b, e+1)
	switch {
	case k == len(b) && n <= maxKeyLen:
		st.pending = append(st.pending[:0], key...)
		st.hasPending = true
		return -1
	case k < len(b) && b[k] == ':' && n <= maxKeyLen:
		st.cur = append(st.cur[:0], key...)
		return k + 1
	}
	value()
	return e + 1
}

// carry adds text with no place in this window (it went by in an
// earlier one) to key's values, before this window's.
func (j *joiner) carry(key, text []byte) {
	if len(text) > 0 {
		j.carriedKey = j.key(key)
		j.carried = append(j.carried[:0], text...)
	}
}

// closeQuote finds the quote that closes a string whose content goes on
// at from (esc: the byte before from was a lone backslash): its index,
// or -1 if b ends first; or the index of a raw line end before it (nl).
func closeQuote(b []byte, from int, esc bool) (e, nl int) {
	for i := from; ; {
		q := bytes.IndexByte(b[i:], '"')
		end := len(b)
		if q >= 0 {
			end = i + q
		}
		if n := bytes.IndexByte(b[i:end], '\n'); n >= 0 {
			return -1, i + n
		}
		if q < 0 {
			return -1, -1
		}
		if !escapedFrom(b, from, end, esc) {
			return end, -1
		}
		i = end + 1
	}
}

// escapedFrom: the byte at q follows an odd number of backslashes, those
// before from counted by esc (one pending backslash).
func escapedFrom(b []byte, from, q int, esc bool) bool {
	n := 0
	k := q - 1
	for k >= from && b[k] == '\\' {
		n++
		k--
	}
	if k < from && esc {
		n++
	}
	return n%2 == 1
}

// endsEscaping: a string cut at the end of b ends in a lone backslash.
func endsEscaping(b []byte, from int, esc bool) bool {
	return len(b) > from && escapedFrom(b, from, len(b), esc) || len(b) == from && esc
}

// lexData adds the payload of every SSE data line that does not hold
// JSON (an object, array or string, which lexJSON reads).
func (j *joiner) lexData(b []byte, from int) {
	for i := from; i < len(b); {
		d := bytes.Index(b[i:], []byte("data:"))
		if d < 0 {
			return
		}
		d += i
		i = d + 5
		if d > from && b[d-1] != '\n' && b[d-1] != '\r' {
			continue
		}
		s := i
		if s < len(b) && b[s] == ' ' {
			s++
		}
		e := s
		for e < len(b) && b[e] != '\n' && b[e] != '\r' {
			e++
		}
		if e == s || b[s] == '{' || b[s] == '[' || b[s] == '"' {
			continue
		}
		j.add(s, e, []byte(dataKey), false)
		i = e
	}
}

func afterSpace(b []byte, k int) int {
	for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n') {
		k++
	}
	return k
}

// joinTails carries each key's last joined text from one SSE event to
// the next. The zero value is ready.
type joinTails struct {
	m    map[string]*tail
	tick int
}

type tail struct {
	b     []byte
	used  int
	total int // bytes joined so far
}

func (t *joinTails) get(key []byte) []byte {
	if tl := t.m[string(key)]; tl != nil {
		return tl.b
	}
	return nil
}

// put sets key's tail to the end of joined, added bytes of it new.
func (t *joinTails) put(key, joined []byte, added int) {
	tl := t.slot(key)
	tl.b = append(tl.b[:0], joined[max(0, len(joined)-tailLen):]...)
	tl.total += added
}

// extend adds carried and b's pieces ps to key's tail without a view.
func (t *joinTails) extend(key, carried, b []byte, ps []piece) {
	tl := t.slot(key)
	tl.b = append(tl.b, carried...)
	tl.total += len(carried)
	for _, p := range ps {
		tl.b = append(tl.b, b[p.start:p.end]...)
		tl.total += p.end - p.start
	}
	if n := len(tl.b); n > tailLen {
		tl.b = tl.b[:copy(tl.b, tl.b[n-tailLen:])]
	}
}

func (t *joinTails) total(key []byte) int {
	if tl := t.m[string(key)]; tl != nil {
		return tl.total
	}
	return 0
}

// slot is key's tail, made (and the least recently used one dropped
// if maxTails are kept) when new.
func (t *joinTails) slot(key []byte) *tail {
	if t.m == nil {
		t.m = map[string]*tail{}
	}
	t.tick++
	tl := t.m[string(key)]
	if tl == nil {
		if len(t.m) >= maxTails {
			t.evict()
		}
		tl = &tail{}
		t.m[string(key)] = tl
	}
	tl.used = t.tick
	return tl
}

func (t *joinTails) evict() {
	oldest, at := "", t.tick+1
	for k, tl := range t.m {
		if tl.used < at {
			oldest, at = k, tl.used
		}
	}
	delete(t.m, oldest)
}

// seg is one stretch of the joined view: [v, v+end-start) of it is
// b[start:end], or text with no place in b (a carried tail, a value a
// window's start settled) when start < 0, up to the next seg. join: it
// starts a value (not the rest of one a read cut).
type seg struct {
	v, start, end int
	join          bool
}

// scanJoined runs the text rules on each key's joined values in b[from:]
// (after the key's tail from earlier windows, if tails is set) and adds
// to plain, the findings of b's own views, those it lacks: a phrase cut
// across values, or one whose order or marker lies in the next value.
// They are mapped back to b: Start and End span the finding's bytes in b
// and Parts lists them piece by piece, since between two pieces lie the
// quotes and keys that a strip must keep.
func (s *Scanner) scanJoined(plain []Finding, b []byte, from int, st *lexState, tails *joinTails) []Finding {
	if st.decided && !st.on {
		return plain // HTML, text: every window after the first
	}
	js := joinBufs.Get().(*joinScratch)
	defer joinBufs.Put(js)
	j := &js.j
	j.lex(b, from, st)
	if len(j.pieces) == 0 && j.carriedKey < 0 {
		return plain
	}
	out := plain
	js.byKey(j)
	budget := joinBudgetBase + joinBudgetPerByte*(len(b)-from)
	for _, k := range js.order(j, tails) {
		key := j.keys[k]
		mine := js.run(k)
		if budget <= 0 {
			// Over budget: the text is carried on unread (see
			// joinBudgetBase).
			if tails != nil {
				tails.extend(key, j.carriedOf(k), b, mine)
			}
			continue
		}
		js.view, js.segs = js.view[:0], js.segs[:0]
		if tails != nil {
			if t := tails.get(key); len(t) > 0 {
				js.view = append(js.view, t...)
				js.segs = append(js.segs, seg{0, -1, -1, false})
			}
		}
		if c := j.carriedOf(k); len(c) > 0 {
			js.segs = append(js.segs, seg{len(js.view), -1, -1, true})
			js.view = append(js.view, c...)
		}
		for _, p := range mine {
			js.segs = append(js.segs, seg{len(js.view), p.start, p.end, !p.cont})
			js.view = append(js.view, b[p.start:p.end]...)
		}
		if tails != nil {
			tails.put(key, js.view, len(js.view)-len(tails.get(key)))
		}
		for _, g := range s.scanJoins(js.view, js.segs, &budget) {
			if !overlapsAny(g, plain) {
				out = append(out, g)
			}
		}
	}
	return out
}

const (
	// joinBudgetBase and joinBudgetPerByte bound the joined view's
	// scanning in one window to 1 KiB plus 4 bytes per new byte, so a
	// sender cannot make pipelock scan far more than it sends (an SSE
	// event of 64 short prose values would otherwise rescan 64 contexts
	// of 900 bytes: 20 times its size). A delta event (one key, 150
	// bytes) needs about 530. Keys go in order of the text they carried
	// so far, this window's included: the stream's own text first. Past
	// the budget the rest is carried on unread.
	joinBudgetBase    = 1 << 10
	joinBudgetPerByte = 4
)

// order is this window's keys, the one with the most text joined so far
// (with this window's) first.
func (js *joinScratch) order(j *joiner, tails *joinTails) []int {
	js.ord = js.ord[:0]
	js.weight = js.weight[:0]
	for k := range j.nkeys {
		w := 0
		for _, p := range js.run(k) {
			w += p.end - p.start
		}
		if tails != nil {
			w += tails.total(j.keys[k])
		}
		js.ord = append(js.ord, k)
		js.weight = append(js.weight, w)
	}
	slices.SortStableFunc(js.ord, func(a, b int) int { return js.weight[b] - js.weight[a] })
	return js.ord
}

// carriedOf is the text carried into key k at this window's start.
func (j *joiner) carriedOf(k int) []byte {
	if k == j.carriedKey {
		return j.carried
	}
	return nil
}

// scanJoins scans the stretches of view around its joins and returns
// what it finds near one (within joinNear), mapped to b. A join between
// two bare values (no space, no markup: ids, URLs, dates) is none: a
// phrase has a space in every word gap, and a join next to it is read
// with joinBefore of context anyway.
func (s *Scanner) scanJoins(view []byte, segs []seg, budget *int) []Finding {
	var out []Finding
	end := func(i int) int {
		if i+1 < len(segs) {
			return segs[i+1].v
		}
		return len(view)
	}
	live := func(i int) bool {
		return segs[i].join && segs[i].v > 0 && !(bare(view[segs[i-1].v:segs[i].v]) && bare(view[segs[i].v:end(i)]))
	}
	for i := 1; i < len(segs); {
		if !live(i) {
			i++
			continue
		}
		joins := []int{segs[i].v}
		lo := max(0, segs[i].v-joinBefore)
		hi := min(len(view), segs[i].v+joinAfter)
		k := i + 1
		for ; k < len(segs) && segs[k].v-joinBefore <= hi; k++ {
			if live(k) {
				joins = append(joins, segs[k].v)
				hi = min(len(view), segs[k].v+joinAfter)
			}
		}
		if *budget <= 0 {
			return out
		}
		*budget -= hi - lo
		for _, f := range s.scanText(view[lo:hi]) {
			f.Start, f.End = f.Start+lo, f.End+lo
			if !nearAny(f, joins) {
				continue // inside one value: the plain views read it whole
			}
			if g, ok := mapJoined(f, view, segs); ok {
				out = append(out, g)
			}
		}
		i = k
	}
	return out
}

// nearAny: f lies within joinNear of one of the joins.
func nearAny(f Finding, joins []int) bool {
	for _, v := range joins {
		if f.End > v-joinNear && f.Start < v+joinNear {
			return true
		}
	}
	return false
}

// bare: b has no space and none of the bytes markup and prose need.
func bare(b []byte) bool {
	for _, c := range b {
		if notBare[c] {
			return false
		}
	}
	return true
}

var notBare = func() (t [256]bool) {
	for _, c := range []byte(" \t\r\n<>[](){}|!:;,*#") {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true // a no-break space, a fullwidth letter, ...
	}
	return t
}()

// mapJoined maps a finding in the joined view back to b: its Parts are
// its bytes in each piece it touches. Text with no place in b (a carried
// tail: it went out with an earlier window) has none, and a finding
// with no part at all is not reported again.
func mapJoined(f Finding, view []byte, segs []seg) (Finding, bool) {
	g := Finding{Rule: f.Rule, Excerpt: f.Excerpt, Start: -1}
	for i, sg := range segs {
		ve := len(view)
		if i+1 < len(segs) {
			ve = segs[i+1].v
		}
		lo, hi := max(f.Start, sg.v), min(f.End, ve)
		if lo >= hi || sg.start < 0 {
			continue
		}
		a, z := sg.start+lo-sg.v, sg.start+hi-sg.v
		if g.Start < 0 {
			g.Start = a
		}
		g.End = z
		g.Parts = append(g.Parts, [2]int{a, z})
	}
	return g, g.Start >= 0
}

// overlapsAny: a part of g lies in one of fs's spans.
func overlapsAny(g Finding, fs []Finding) bool {
	for _, f := range fs {
		for _, p := range g.Parts {
			if p[0] < f.End && f.Start < p[1] {
				return true
			}
		}
	}
	return false
}

type joinScratch struct {
	j      joiner
	view   []byte
	segs   []seg
	count  []int // after byKey: count[k] is where key k's pieces end in by
	by     []piece
	ord    []int
	weight []int
}

// run is key k's pieces, in order (after byKey).
func (js *joinScratch) run(k int) []piece {
	from := 0
	if k > 0 {
		from = js.count[k-1]
	}
	return js.by[from:js.count[k]]
}

// byKey is j's pieces grouped by key, each key's in order (a counting
// sort: a window may hold thousands of values).
func (js *joinScratch) byKey(j *joiner) []piece {
	js.count = append(js.count[:0], make([]int, j.nkeys+1)...)
	for _, p := range j.pieces {
		js.count[p.key+1]++
	}
	for k := 1; k <= j.nkeys; k++ {
		js.count[k] += js.count[k-1]
	}
	js.by = append(js.by[:0], j.pieces...)
	for _, p := range j.pieces {
		js.by[js.count[p.key]] = p
		js.count[p.key]++
	}
	return js.by
}

var joinBufs = sync.Pool{New: func() any { return new(joinScratch) }}
