package dlp

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"github.com/claude-bottle/claude-bottle/internal/secretenc"
	"net/url"
	"strings"
	"unicode/utf16"
)

// MinKnownSecretLen: shorter known secrets are ignored (they would match
// ordinary text); the daemon logs each one it skips.
const MinKnownSecretLen = 8

// KnownSecret is one of the bottle's own secrets, with every encoding of it
// that pipelock looks for.
type KnownSecret struct {
	Name     string // the env var it came from, for logs; never the value
	value    string
	variants []variant
	hostVars []string // lower-case forms that survive in a DNS name
}

type variant struct {
	enc  string // "plain", "base64", "hex", ...
	s    []byte
	fold bool // match in any letter case
}

// NewKnownSecret precomputes the encodings of value.
func NewKnownSecret(name, value string) KnownSecret {
	k := KnownSecret{Name: name, value: value}
	seen := map[string]bool{}
	add := func(enc, s string) {
		if len(s) < 6 || seen[s] {
			return
		}
		seen[s] = true
		k.variants = append(k.variants, variant{enc: enc, s: []byte(s)})
	}
	add("plain", value)
	// The same secret upper- or lower-cased is still the secret.
	k.variants = append(k.variants, variant{"case-changed", []byte(value), true})
	// Cheap for exact values: reversed and ROT13 (each in any case), and
	// UTF-16 in both byte orders.
	k.variants = append(k.variants, variant{"reversed", []byte(secretenc.Reverse(value)), true})
	k.variants = append(k.variants, variant{"rot13", []byte(secretenc.ROT13(value)), true})
	add("utf-16le", utf16Bytes(value, false))
	add("utf-16be", utf16Bytes(value, true))
	add("hex", hex.EncodeToString([]byte(value)))
	add("hex", strings.ToUpper(hex.EncodeToString([]byte(value))))
	add("url-encoded", url.QueryEscape(value))
	add("url-encoded", url.PathEscape(value))
	// base64 of the secret inside a longer message: the secret can start at
	// any of three byte offsets, each giving a different run of characters
	// that depend only on the secret's own bits.
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for off := range 3 {
			add("base64", alignedRun(e.EncodeToString, 6, off, value))
		}
	}
	for off := range 5 {
		r := strings.ToLower(alignedRun(base32.StdEncoding.EncodeToString, 5, off, value))
		k.hostVars = append(k.hostVars, r)
		add("base32", r)
		add("base32", strings.ToUpper(r))
	}
	k.hostVars = append(k.hostVars, strings.ToLower(value), hex.EncodeToString([]byte(value)))
	return k
}

func utf16Bytes(s string, be bool) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		if be {
			b.WriteByte(byte(u >> 8))
			b.WriteByte(byte(u))
		} else {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	}
	return b.String()
}

// alignedRun: see secretenc.AlignedRun.
var alignedRun = secretenc.AlignedRun

// knownSet matches many variants in one pass over the input: a bitmap of
// their case-folded 2-byte prefixes rejects almost every position with one
// load. A folded variant matches in any letter case; the others exactly.
type knownSet struct {
	bits [1 << 16 / 64]uint64
	// any has a bit for every raw 2-byte start of a known variant (in
	// every letter case) or of a credential prefix: one load rejects a
	// position for both searches.
	any [1 << 16 / 64]uint64
	// second has a bit for every pair of bytes 1 and 2 of a variant (in
	// every letter case) or of a credential prefix, and either is any |
	// second: a pair in neither rules out a match at its own position and
	// at the one before, so findWithCreds steps two bytes at a time
	// through prose.
	second, either [1 << 16 / 64]uint64
	byPfx          map[[2]byte][]knownRef
}

type knownRef struct {
	secret int // index into Inspector.known
	v      *variant
}

var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 32
		}
	}
	return t
}()

func newKnownSet(ks []KnownSecret) *knownSet {
	s := &knownSet{byPfx: map[[2]byte][]knownRef{}}
	for i := range ks {
		for j := range ks[i].variants {
			v := &ks[i].variants[j]
			p := [2]byte{lowerTable[v.s[0]], lowerTable[v.s[1]]}
			h := uint32(p[0])<<8 | uint32(p[1])
			s.bits[h>>6] |= 1 << (h & 63)
			s.byPfx[p] = append(s.byPfx[p], knownRef{i, v})
			for _, a := range caseForms(v.s[0]) {
				for _, b := range caseForms(v.s[1]) {
					k := uint32(a)<<8 | uint32(b)
					s.any[k>>6] |= 1 << (k & 63)
				}
			}
		}
	}
	for i := range credRules {
		p := credRules[i].prefix
		k := uint32(p[0])<<8 | uint32(p[1])
		s.any[k>>6] |= 1 << (k & 63)
		s.addSecond(p, false)
	}
	for i := range ks {
		for j := range ks[i].variants {
			s.addSecond(string(ks[i].variants[j].s), true)
		}
	}
	for w := range s.either {
		s.either[w] = s.any[w] | s.second[w]
	}
	return s
}

// addSecond sets the second bits for bytes 1 and 2 of p (in every letter
// case if fold); a 2-byte p may be followed by anything.
func (s *knownSet) addSecond(p string, fold bool) {
	forms := func(c byte) []byte {
		if fold {
			return caseForms(c)
		}
		return []byte{c}
	}
	var thirds []byte
	if len(p) >= 3 {
		thirds = forms(p[2])
	} else {
		for c := range 256 {
			thirds = append(thirds, byte(c))
		}
	}
	for _, a := range forms(p[1]) {
		for _, b := range thirds {
			k := uint32(a)<<8 | uint32(b)
			s.second[k>>6] |= 1 << (k & 63)
		}
	}
}

// caseForms is c in both letter cases (c alone if not a letter).
func caseForms(c byte) []byte {
	switch {
	case c >= 'a' && c <= 'z':
		return []byte{c, c - 32}
	case c >= 'A' && c <= 'Z':
		return []byte{c, c + 32}
	}
	return []byte{c}
}

// findWithCreds is find and findCred in one pass over b: the first known
// secret, and the first credential shape (unless creds is false). The scan
// stops at a known secret.
func (s *knownSet) findWithCreds(b []byte, creds bool) (ki int, enc string, ok bool, cr *credRule) {
	x := credIdx
	for i := 0; i+1 < len(b); i++ {
		if i+2 < len(b) {
			if k := uint32(b[i+1])<<8 | uint32(b[i+2]); s.either[k>>6]&(1<<(k&63)) == 0 {
				i++ // no match starts at i (bytes 1-2) or at i+1 (bytes 0-1)
				continue
			} else if s.second[k>>6]&(1<<(k&63)) == 0 {
				continue
			}
		}
		if k := uint32(b[i])<<8 | uint32(b[i+1]); s.any[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		h := uint32(lowerTable[b[i]])<<8 | uint32(lowerTable[b[i+1]])
		if s.bits[h>>6]&(1<<(h&63)) != 0 {
			for _, r := range s.byPfx[[2]byte{lowerTable[b[i]], lowerTable[b[i+1]]}] {
				n := len(r.v.s)
				if i+n > len(b) {
					continue
				}
				if r.v.fold && bytes.EqualFold(b[i:i+n], r.v.s) || !r.v.fold && bytes.Equal(b[i:i+n], r.v.s) {
					return r.secret, r.v.enc, true, cr
				}
			}
		}
		if !creds || cr != nil {
			continue
		}
		e := uint32(b[i])<<8 | uint32(b[i+1])
		if x.bits[e>>6]&(1<<(e&63)) == 0 {
			continue
		}
		for _, r := range x.byPfx[[2]byte{b[i], b[i+1]}] {
			if credAt(r, b, i) {
				cr = r
				break
			}
		}
	}
	return 0, "", false, cr
}

// matchHost looks for the secret in a lower-cased host name, dots removed,
// so labels split across dots still match.
func (k *KnownSecret) matchHost(host string) bool {
	flat := strings.ReplaceAll(strings.ToLower(host), ".", "")
	for _, v := range k.hostVars {
		if len(v) >= 6 && strings.Contains(flat, v) {
			return true
		}
	}
	return false
}
