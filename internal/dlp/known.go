package dlp

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// MinKnownSecretLen: shorter known secrets are ignored (they would match
// ordinary text); the daemon logs each one it skips.
const MinKnownSecretLen = 8

// KnownSecret is one of the bottle's own secrets, with every encoding of it
// that pipelock looks for.
type KnownSecret struct {
	Name     string // the env var it came from, for logs; never the value
	variants []variant
	hostVars []string // lower-case forms that survive in a DNS name
}

type variant struct {
	enc string // "plain", "base64", "hex", ...
	s   []byte
}

// NewKnownSecret precomputes the encodings of value.
func NewKnownSecret(name, value string) KnownSecret {
	k := KnownSecret{Name: name}
	seen := map[string]bool{}
	add := func(enc, s string) {
		if len(s) < 6 || seen[s] {
			return
		}
		seen[s] = true
		k.variants = append(k.variants, variant{enc, []byte(s)})
	}
	add("plain", value)
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

// alignedRun encodes value after off zero bytes and keeps only the output
// characters whose bits all come from value.
func alignedRun(enc func([]byte) string, bitsPerChar, off int, value string) string {
	buf := append(make([]byte, off), value...)
	s := strings.TrimRight(enc(buf), "=")
	startBit, endBit := 8*off, 8*(off+len(value))
	lo := (startBit + bitsPerChar - 1) / bitsPerChar
	hi := endBit / bitsPerChar
	if hi > len(s) {
		hi = len(s)
	}
	if lo >= hi {
		return ""
	}
	return s[lo:hi]
}

// knownSet matches many variants in one pass over the input: a bitmap of
// their 3-byte prefixes rejects almost every position with one load.
type knownSet struct {
	bits  [1 << 16 / 64]uint64 // indexed by the first two bytes
	byPfx map[[3]byte][]knownRef
}

type knownRef struct {
	secret int // index into Inspector.known
	v      *variant
}

func prefixHash(a, b byte) uint32 { return uint32(a)<<8 | uint32(b) }

func newKnownSet(ks []KnownSecret) *knownSet {
	s := &knownSet{byPfx: map[[3]byte][]knownRef{}}
	for i := range ks {
		for j := range ks[i].variants {
			v := &ks[i].variants[j]
			p := [3]byte{v.s[0], v.s[1], v.s[2]}
			h := prefixHash(p[0], p[1])
			s.bits[h>>6] |= 1 << (h & 63)
			s.byPfx[p] = append(s.byPfx[p], knownRef{i, v})
		}
	}
	return s
}

// find returns the first known secret (index, encoding) found in b.
func (s *knownSet) find(b []byte) (int, string, bool) {
	for i := 0; i+2 < len(b); i++ {
		h := prefixHash(b[i], b[i+1])
		if s.bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, r := range s.byPfx[[3]byte{b[i], b[i+1], b[i+2]}] {
			if bytes.HasPrefix(b[i:], r.v.s) {
				return r.secret, r.v.enc, true
			}
		}
	}
	return 0, "", false
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
