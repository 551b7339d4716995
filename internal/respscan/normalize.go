package respscan

import (
	"bytes"
	"html"
	"math"
	"net/url"
	"regexp"
	"strconv"
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
// (&amp;, &nbsp;, curly quotes, dashes) skip the decoded view.
func needsNormalizing(b []byte) bool {
	for i := 0; i < len(b); {
		for i < len(b) && !normLead[b[i]] {
			i++
		}
		if i == len(b) {
			return false
		}
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
		case '\\':
			if i+1 < len(b) && strings.IndexByte("nrtux\"'/\\", b[i+1]) >= 0 {
				return true
			}
		default:
			r, _ := utf8.DecodeRune(b[i:])
			if isInvisible(r) {
				return true
			}
		}
		i++
	}
	return false
}

// normLead are the bytes that may start what normalize undoes.
var normLead = [256]bool{'&': true, '\\': true, 0xe2: true, 0xef: true, 0xf3: true, 0xc2: true, 0xe1: true}

// harmlessEntities decode to punctuation or spaces only.
var harmlessEntities = map[string]bool{
	"amp": true, "nbsp": true, "copy": true, "reg": true, "trade": true, "mdash": true, "ndash": true,
	"hellip": true, "rsquo": true, "lsquo": true, "ldquo": true, "rdquo": true, "middot": true,
	"raquo": true, "laquo": true, "bull": true, "times": true, "deg": true, "rarr": true, "larr": true,
}

func hasInvisible(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if isInvisible(r) {
			return true
		}
		b = b[n:]
	}
	return false
}

var reEntity = regexp.MustCompile(`^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?`)

// normalize decodes HTML entities and JSON/JS string escapes and drops
// invisible characters. pos[i] is the offset in b of the byte that
// produced norm[i]; pos has one extra entry, len(b).
func normalize(b []byte) (norm []byte, pos []int32) {
	norm = make([]byte, 0, len(b))
	pos = make([]int32, 0, len(b)+1)
	emit := func(s []byte, at int) {
		for _, c := range s {
			norm = append(norm, c)
			pos = append(pos, int32(at))
		}
	}
	var tmp [utf8.UTFMax]byte
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '&':
			if m := reEntity.Find(b[i:min(len(b), i+40)]); m != nil {
				d := html.UnescapeString(string(m))
				if d != string(m) {
					r, _ := utf8.DecodeRuneInString(d)
					if !isInvisible(r) {
						emit([]byte(d), i)
					}
					i += len(m)
					continue
				}
			}
		case c == '\\' && i+1 < len(b):
			if d, n := jsEscape(b[i:]); n > 0 {
				r, _ := utf8.DecodeRune(d)
				if !isInvisible(r) {
					emit(d, i)
				}
				i += n
				continue
			}
		case c >= 0x80:
			r, n := utf8.DecodeRune(b[i:])
			if isInvisible(r) {
				i += n
				continue
			}
			k := utf8.EncodeRune(tmp[:], r)
			if r == utf8.RuneError {
				k = copy(tmp[:], b[i:i+n])
			}
			emit(tmp[:k], i)
			i += n
			continue
		}
		norm = append(norm, c)
		pos = append(pos, int32(i))
		i++
	}
	pos = append(pos, int32(len(b)))
	return norm, pos
}

// jsEscape decodes one JSON/JS escape at the start of b (\n, \", \uXXXX
// with surrogate pairs, \xXX) and returns its bytes and length.
func jsEscape(b []byte) ([]byte, int) {
	switch b[1] {
	case 'n':
		return []byte{'\n'}, 2
	case 'r':
		return []byte{'\r'}, 2
	case 't':
		return []byte{'\t'}, 2
	case '"', '\\', '/', '\'':
		return b[1:2], 2
	case 'x':
		if len(b) >= 4 {
			if v, err := strconv.ParseUint(string(b[2:4]), 16, 8); err == nil {
				return []byte(string(rune(v))), 4
			}
		}
	case 'u':
		if len(b) >= 6 {
			v, err := strconv.ParseUint(string(b[2:6]), 16, 32)
			if err != nil {
				return nil, 0
			}
			r := rune(v)
			if r >= 0xd800 && r < 0xdc00 && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
				if lo, err := strconv.ParseUint(string(b[8:12]), 16, 32); err == nil && lo >= 0xdc00 && lo < 0xe000 {
					return []byte(string(0x10000 + (r-0xd800)<<10 + (rune(lo) - 0xdc00))), 12
				}
			}
			return []byte(string(r)), 6
		}
	}
	return nil, 0
}

// mapSpan maps a span of the normalized view back to b: from the source
// of its first byte to the source after its last (an entity decoded to
// several bytes ends where the entity does).
func mapSpan(pos []int32, start, end, _ int) (int, int) {
	k := end
	for k < len(pos)-1 && pos[k] == pos[end-1] {
		k++
	}
	return int(pos[start]), int(pos[k])
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
	for i := 0; i < len(b); {
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
func mightExfil(u []byte) bool {
	if bytes.ContainsAny(u, "{$<[%") {
		return true
	}
	run := 0
	for _, c := range u {
		switch c {
		case '&', '=', '?', '#', '/', ';':
			run = 0
		default:
			if run++; run >= 64 {
				return true
			}
		}
	}
	for _, w := range []string{"insert", "paste", "append", "add", "put", "your", "user"} {
		if bytes.Contains(u, []byte(w)) {
			return true
		}
	}
	return false
}

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
