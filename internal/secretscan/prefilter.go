package secretscan

import "bytes"

// The prefilter makes body scanning cheap. Almost every gitleaks rule needs a
// run of at least 16 token characters with mixed character classes; clean
// traffic (prose, JSON keys, UUIDs, hex digests) has few. So one byte loop
// finds such runs, and gitleaks runs only on small windows around them.
// A PEM "-----BEGIN" opens a larger window (the key body spans lines).

const (
	minTokenLen = 16
	windowPad   = 128     // bytes of context each side of a candidate
	pemWindow   = 8 << 10 // a PEM private key fits in this
)

// Byte classes for the candidate scan: one table load and one OR per byte.
// Only letters past 'f' make a token "not hex": a digest followed by a full
// stop, or a path of digests, stays skipped.
const (
	cTok    = 1 << iota // a byte secrets are made of ('=' is not: "key=value" splits)
	cUpper              // A-Z
	cLower              // a-z
	cDigit              // 0-9
	cNonHex             // a letter past f / F
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cTok | cDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cTok | cLower
		t[c-32] = cTok | cUpper
		if c > 'f' {
			t[c] |= cNonHex
			t[c-32] |= cNonHex
		}
	}
	for _, c := range "_-+/.~" {
		t[c] = cTok
	}
	return t
}()

// Span is a half-open byte range [Lo, Hi).
type Span struct{ Lo, Hi int }

// Candidates returns the merged windows of b worth handing to gitleaks.
func Candidates(b []byte) []Span {
	var out []Span
	add := func(lo, hi int) {
		lo, hi = max(lo, 0), min(hi, len(b))
		if n := len(out); n > 0 && lo <= out[n-1].Hi+windowPad {
			out[n-1].Hi = max(out[n-1].Hi, hi)
			return
		}
		out = append(out, Span{lo, hi})
	}
	for i := 0; i < len(b); {
		s, j := nextLongToken(b, i)
		if s >= len(b) {
			break
		}
		var acc uint8
		for _, c := range b[s:j] {
			acc |= class[c]
		}
		if acc&cNonHex != 0 {
			up, lo, dg := acc&cUpper != 0, acc&cLower != 0, acc&cDigit != 0
			if (up && (lo || dg)) || (lo && dg) {
				add(s-windowPad, j+windowPad)
			}
		}
		i = j + 1 // b[j] is not a token byte
	}
	// PEM blocks: "-----BEGIN" splits into short tokens, so look for it.
	for off := 0; ; {
		k := bytes.Index(b[off:], []byte("-----BEGIN"))
		if k < 0 {
			break
		}
		p := off + k
		out = mergeInto(out, Span{max(p-windowPad, 0), min(p+pemWindow, len(b))})
		off = p + 10
	}
	return out
}

// nextLongToken returns the first maximal token [s, e) of at least
// minTokenLen bytes starting at or after from (b[from-1], if any, is not a
// token byte); s = e = len(b) if there is none. A token that long holds one
// of every minTokenLen consecutive positions, so only every minTokenLen-th
// byte is probed: a probe that lands in a short word costs that word, and
// the rest of prose is not read.
func nextLongToken(b []byte, from int) (s, e int) {
	for p := from + minTokenLen - 1; p < len(b); {
		if class[b[p]]&cTok == 0 {
			p += minTokenLen
			continue
		}
		s = p
		for s > from && class[b[s-1]]&cTok != 0 {
			s--
		}
		e = p + 1
		for e < len(b) && class[b[e]]&cTok != 0 {
			e++
		}
		if e-s >= minTokenLen {
			return s, e
		}
		from = e + 1
		p = from + minTokenLen - 1
	}
	return len(b), len(b)
}

// mergeInto inserts s into the sorted, disjoint list and merges overlaps.
func mergeInto(list []Span, s Span) []Span {
	res := make([]Span, 0, len(list)+1)
	placed := false
	for _, x := range list {
		if !placed && s.Lo < x.Lo {
			res = appendMerge(res, s)
			placed = true
		}
		res = appendMerge(res, x)
	}
	if !placed {
		res = appendMerge(res, s)
	}
	return res
}

func appendMerge(res []Span, s Span) []Span {
	if n := len(res); n > 0 && s.Lo <= res[n-1].Hi {
		res[n-1].Hi = max(res[n-1].Hi, s.Hi)
		return res
	}
	return append(res, s)
}

// ScanBody is the fast path for request bodies and other bulk text: the
// prefilter picks candidate windows and only those go through gitleaks'
// rules (generic-api-key excluded, no decoding: see ScanBulk). When
// candidates cover most of the input it is scanned whole, in chunks.
func (s *Scanner) ScanBody(b []byte) []Finding { return s.ScanWindows(b, Candidates(b)) }

// ScanWindows is ScanBody with the candidate windows already computed (by
// Candidates on the same b), for callers that use them for more checks.
func (s *Scanner) ScanWindows(b []byte, cands []Span) []Finding {
	if len(cands) == 0 {
		return nil
	}
	total := 0
	for _, c := range cands {
		total += c.Hi - c.Lo
	}
	if total*2 > len(b) {
		return scan(s.bulk, string(b))
	}
	var out []Finding
	seen := map[string]bool{}
	line, prev := 0, 0
	for _, c := range cands {
		line += bytes.Count(b[prev:c.Lo], []byte{'\n'})
		prev = c.Lo
		// Columns are relative to the window start on its first line.
		out = append(out, scanFrom(s.bulk, string(b[c.Lo:c.Hi]), line, seen)...)
	}
	return out
}
