package egress

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// redactor replaces every occurrence of the injected tokens in responses
// with '*' of the same length. Keeping the length keeps Content-Length
// valid, so responses are redacted without re-framing them.
type redactor struct {
	tokens [][]byte
	maxLen int
	// shift drives a Wu-Manber search for all tokens in one pass (nil: one
	// bytes.Index pass per token). Egress masks ~10 forms of each token
	// (secretenc), and a pass per form over every response was ~25 % of
	// egress's CPU on a download.
	shift  *[1 << 16]uint8
	window int // the search window: the shortest token's length, at most 255
}

func newRedactor(tokens []string) *redactor {
	r := &redactor{}
	for _, t := range tokens {
		if t == "" {
			continue
		}
		r.tokens = append(r.tokens, []byte(t))
		r.maxLen = max(r.maxLen, len(t))
	}
	r.buildShift()
	return r
}

// buildShift prepares the one-pass search: for every 2-byte block, how far
// the window may move when the block ends the window (0: a token's first
// window bytes may end here, check). Tokens shorter than 3 bytes, or holding
// the mask byte (a mask could then complete a token, which only the
// per-token passes reproduce), keep the plain search.
func (r *redactor) buildShift() {
	if len(r.tokens) == 0 {
		return
	}
	w := 255
	for _, t := range r.tokens {
		if len(t) < 3 || bytes.IndexByte(t, '*') >= 0 {
			return
		}
		w = min(w, len(t))
	}
	sh := new([1 << 16]uint8)
	for i := range sh {
		sh[i] = uint8(w - 1)
	}
	for _, t := range r.tokens {
		for q := 0; q+2 <= w; q++ {
			blk := uint16(t[q])<<8 | uint16(t[q+1])
			sh[blk] = min(sh[blk], uint8(w-2-q))
		}
	}
	r.shift, r.window = sh, w
}

// occurrence is a token (index k) found at pos.
type occurrence struct{ pos, k int }

// find returns every occurrence of every token in b, overlapping ones
// included, in order of position.
func (r *redactor) find(b []byte) []occurrence {
	var out []occurrence
	w := r.window
	for pos := w - 2; pos+2 <= len(b); {
		if s := r.shift[uint16(b[pos])<<8|uint16(b[pos+1])]; s > 0 {
			pos += int(s)
			continue
		}
		start := pos - (w - 2)
		for k, tok := range r.tokens {
			if bytes.HasPrefix(b[start:], tok) {
				out = append(out, occurrence{start, k})
			}
		}
		pos++
	}
	return out
}

// inPlace masks every complete token occurrence in b and reports whether
// it changed anything. The result is the same as masking, token by token
// in order, each one's leftmost non-overlapping occurrences (inPlaceEach).
func (r *redactor) inPlace(b []byte) bool {
	if r.shift == nil {
		return r.inPlaceEach(b)
	}
	occ := r.find(b)
	if len(occ) == 0 {
		return false
	}
	changed := false
	for k, tok := range r.tokens {
		end := 0
		for _, o := range occ {
			// Skip overlaps with this token's previous mask, and
			// occurrences an earlier token's mask has broken (masks
			// only turn bytes into '*', which no token here holds).
			if o.k != k || o.pos < end || !bytes.Equal(b[o.pos:o.pos+len(tok)], tok) {
				continue
			}
			for i := o.pos; i < o.pos+len(tok); i++ {
				b[i] = '*'
			}
			end, changed = o.pos+len(tok), true
		}
	}
	return changed
}

// inPlaceEach is inPlace with one bytes.Index pass per token.
func (r *redactor) inPlaceEach(b []byte) bool {
	changed := false
	for _, tok := range r.tokens {
		for i := 0; i+len(tok) <= len(b); {
			j := bytes.Index(b[i:], tok)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(tok); k++ {
				b[k] = '*'
			}
			changed = true
			i += j + len(tok)
		}
	}
	return changed
}

// string masks tokens in s.
func (r *redactor) string(s string) string {
	for _, tok := range r.tokens {
		if strings.Contains(s, string(tok)) {
			b := []byte(s)
			r.inPlace(b)
			return string(b)
		}
	}
	return s
}

// header masks tokens in every header name and value.
func (r *redactor) header(h http.Header) {
	for k, vs := range h {
		if r.inName(k) {
			// A header name is case-folded on the way (Go's client
			// canonicalises it: "X-Esctoken-Z9y8x7..."), so exact masking
			// misses a token folded into one. Such a header goes.
			delete(h, k)
			continue
		}
		for i, v := range vs {
			vs[i] = r.string(v)
		}
	}
}

// inName reports whether a header name holds a token form in any case.
func (r *redactor) inName(name string) bool {
	ln := strings.ToLower(name)
	for _, t := range r.tokens {
		if len(t) <= len(ln) && strings.Contains(ln, strings.ToLower(string(t))) {
			return true
		}
	}
	return false
}

// holdLen is the length of the longest suffix of b that is a proper prefix
// of some token: those bytes may be the start of a token that the next read
// completes, so they are held back. Only a real partial match is held, so a
// stream that does not end in a token prefix (an SSE event ending "\n\n")
// is passed on at once.
func (r *redactor) holdLen(b []byte) int {
	hold := 0
	for _, tok := range r.tokens {
		for i := max(len(b)-(len(tok)-1), 0); i < len(b) && len(b)-i > hold; i++ {
			if b[i] == tok[0] && bytes.HasPrefix(tok, b[i:]) {
				hold = len(b) - i
				break
			}
		}
	}
	return hold
}

// redactReader masks tokens in a body as it streams, also across reads:
// a token split between two reads is caught because the possible start of
// a token is held until the next read decides it.
type redactReader struct {
	red     *redactor
	src     io.ReadCloser
	buf     []byte
	out     []byte // redacted, ready for the caller
	hold    []byte // redacted so far, but may start a token
	err     error
	trailer http.Header // masked once the body ends (trailers arrive then)
}

// newRedactReader wraps src; size is the body's length if known, else -1.
// Small bodies get a small buffer: most API replies are a few KiB.
func newRedactReader(red *redactor, src io.ReadCloser, size int64, trailer http.Header) *redactReader {
	n := 32 * 1024
	if size >= 0 && size < int64(n) {
		n = int(size) + 1 // room to see EOF without another round
	}
	return &redactReader{red: red, src: src, buf: make([]byte, n+red.maxLen), trailer: trailer}
}

func (r *redactReader) Read(p []byte) (int, error) {
	if len(r.out) == 0 && r.err == nil && len(p) >= 2*r.red.maxLen+512 {
		return r.readInPlace(p)
	}
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		n := copy(r.buf, r.hold) // memmove: hold is a tail of buf
		m, err := r.src.Read(r.buf[n:])
		data := r.buf[:n+m]
		k := r.settle(data, err)
		r.out, r.hold = data[:k], data[k:]
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// settle masks data (the held bytes and a fresh read that ended with err)
// and returns how many of its leading bytes are final; the rest may start a
// token the next read completes, and is held. At the end of the body the
// trailers are masked too.
func (r *redactReader) settle(data []byte, err error) int {
	r.red.inPlace(data)
	if err == nil {
		return len(data) - r.red.holdLen(data)
	}
	r.err = err
	if r.trailer != nil {
		r.red.header(r.trailer)
	}
	return len(data)
}

// readInPlace is Read when the caller's buffer has room for the held bytes
// and a useful read: the body is read, masked and held back in p itself,
// saving a copy of every byte through r.buf (~10 % of egress's CPU on a
// download). The held tail is kept in r.buf: p is the caller's once we
// return.
func (r *redactReader) readInPlace(p []byte) (int, error) {
	for {
		n := copy(p, r.hold)
		m, err := r.src.Read(p[n:])
		data := p[:n+m]
		k := r.settle(data, err)
		r.hold = append(r.buf[:0], data[k:]...)
		switch {
		case k > 0:
			return k, nil // an error comes with the next call
		case r.err != nil:
			return 0, r.err
		}
	}
}

func (r *redactReader) Close() error { return r.src.Close() }
