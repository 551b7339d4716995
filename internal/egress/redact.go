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
	return r
}

// inPlace masks every complete token occurrence in b and reports whether
// it changed anything.
func (r *redactor) inPlace(b []byte) bool {
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
		nk := r.string(k)
		for i, v := range vs {
			vs[i] = r.string(v)
		}
		if nk != k {
			delete(h, k)
			h[nk] = append(h[nk], vs...)
		}
	}
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
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		n := copy(r.buf, r.hold) // memmove: hold is a tail of buf
		m, err := r.src.Read(r.buf[n:])
		data := r.buf[:n+m]
		r.red.inPlace(data)
		h := 0
		if err == nil {
			h = r.red.holdLen(data)
		} else {
			r.err = err
			if r.trailer != nil {
				r.red.header(r.trailer)
			}
		}
		r.out, r.hold = data[:len(data)-h], data[len(data)-h:]
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *redactReader) Close() error { return r.src.Close() }
