package dlp

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"math/big"
	"strings"
)

// Financial, crypto-wallet and personal data. Every rule has a validator so
// random digits and words do not trip it: Luhn and an issuer prefix for
// cards, mod 97 and the country's length for IBANs, base58check for Bitcoin
// addresses and WIF keys, the bech32/bech32m checksum for segwit
// addresses, the BIP-39 checksum for seed phrases; personal data counts
// only in bulk (many distinct addresses or numbers in one request part).
const (
	RuleCard    = "dlp.card"
	RuleIBAN    = "dlp.iban"
	RuleBitcoin = "dlp.bitcoin-address"
	RuleWIF     = "dlp.bitcoin-wif"
	RuleBIP39   = "dlp.bip39-seed"
	RuleEmails  = "dlp.pii-emails"
	RulePhones  = "dlp.pii-phones"
)

// Bulk thresholds: this many distinct e-mail addresses (phone numbers) in
// one part of a request is a dump of personal data. A commit log or a
// mailing list header has a handful.
const (
	BulkEmails = 10
	BulkPhones = 10
)

// Classes are the rule classes a bottle can turn off (manifest "dlp:" key).
// The zero value has every class on. Known secrets (and their fragments)
// cannot be turned off: they are the bottle's own.
type Classes struct {
	Credentials bool // provider token shapes, gitleaks, credential assignments
	Financial   bool // card numbers (Luhn), IBANs (mod 97)
	Crypto      bool // Bitcoin addresses, WIF keys, BIP-39 seed phrases
	PII         bool // bulk e-mail addresses and phone numbers
	Hostnames   bool // encoded or high-entropy host labels (dlp.subdomain)
	Blobs       bool // long random tokens in URL paths and query values (dlp.url-blob)
}

// ClassNames are the manifest names of the classes, in order.
var ClassNames = []string{"credentials", "financial", "crypto", "pii", "hostnames", "blobs"}

// Set turns the named class off (off=true) or on. It reports whether the
// name is a class.
func (c *Classes) Set(name string, off bool) bool {
	switch name {
	case "credentials":
		c.Credentials = off
	case "financial":
		c.Financial = off
	case "crypto":
		c.Crypto = off
	case "pii":
		c.PII = off
	case "hostnames":
		c.Hostnames = off
	case "blobs":
		c.Blobs = off
	default:
		return false
	}
	return true
}

// Off lists the names of the classes turned off.
func (c Classes) Off() []string {
	var out []string
	for i, off := range []bool{c.Credentials, c.Financial, c.Crypto, c.PII, c.Hostnames, c.Blobs} {
		if off {
			out = append(out, ClassNames[i])
		}
	}
	return out
}

// checkData runs the financial, crypto and personal-data rules in one walk
// over the text's tokens (runs of letters and digits): each token is
// handed to the validators its shape allows, so clean text costs one
// table lookup per byte.
func (in *Inspector) checkData(b []byte, where string) *Verdict {
	fin, cry, pii := !in.off.Financial, !in.off.Crypto, !in.off.PII
	if !fin && !cry && !pii {
		return nil
	}
	var (
		num     [20]byte // digits of the current number group
		nd      int      // how many (nd > 19: too long for a card)
		numSep  byte     // the single separator between its groups
		numLast int      // end of its last group
		numPlus bool     // the group started with '+'
		numFmt  bool     // phone punctuation: parentheses or two separators
		numSeps int
		numDot  bool     // a '.' joined groups: a decimal or a phone, not a card
		groups  [8]uint8 // the group lengths (cards: 4-4-4-4, 4-6-5, ...)
		ng      int
		wordBuf [24]int
		words   = wordBuf[:0] // BIP-39 word indices in a row
		phones  map[string]bool
	)
	flushNum := func() *Verdict {
		if nd >= 13 && nd <= 19 && fin && !numDot && cardGrouping(groups[:min(ng, len(groups))], ng) && issuer(num[:nd]) && luhn(num[:nd]) {
			return &Verdict{Rule: RuleCard, Reason: "payment card number (Luhn-valid) in " + where}
		}
		if pii && (numPlus && nd >= 10 && nd <= 15 || !numPlus && nd == 10 && (numFmt || numSeps == 2) && num[0] >= 2 && num[3] >= 2) {
			if phones == nil {
				phones = map[string]bool{}
			}
			phones[string(num[:nd])] = true
		}
		nd, numSep, numPlus, numFmt, numSeps, numDot, ng = 0, 0, false, false, 0, false, 0
		return nil
	}
	for i := 0; i < len(b); {
		c := b[i]
		cl := gateClass[c]
		if cl&(gDigit|gUpper|gLower) == 0 {
			if !bip39Sep(c) {
				words = words[:0]
			}
			i++
			continue
		}
		// A token: b[i:j].
		j := i
		var acc uint8
		for j < len(b) {
			x := gateClass[b[j]]
			if x&(gDigit|gUpper|gLower) == 0 {
				break
			}
			acc |= x
			j++
		}
		tok := b[i:j]
		// Number groups: digit tokens joined by one kind of single
		// separator (cards), or phone punctuation.
		if acc&(gUpper|gLower) == 0 {
			gap := b[numLast:i]
			joined := nd > 0 && nd <= 19 && (len(gap) == 1 && (gap[0] == ' ' || gap[0] == '-' || gap[0] == '.') && (numSep == 0 || numSep == gap[0]) ||
				len(gap) <= 2 && bytes.IndexByte(gap, ')') >= 0)
			if !joined {
				if v := flushNum(); v != nil {
					return v
				}
				numPlus = i > 0 && b[i-1] == '+'
				numFmt = i > 0 && b[i-1] == '('
			} else {
				if len(gap) == 1 {
					numSep = gap[0]
					numDot = numDot || gap[0] == '.'
				} else {
					numFmt = true
				}
				numSeps++
			}
			if ng < len(groups) {
				groups[ng] = uint8(min(len(tok), 255))
			}
			ng++
			for _, d := range tok {
				if nd < len(num) {
					num[nd] = d - '0'
				}
				nd++
			}
			numLast = j
		} else if nd > 0 {
			if v := flushNum(); v != nil {
				return v
			}
		}
		if fin && acc&gDigit != 0 && len(tok) >= 4 && tok[0] >= 'A' && tok[0] <= 'Z' && tok[1] >= 'A' && tok[1] <= 'Z' && isDigit(tok[2]) && isDigit(tok[3]) && (i == 0 || !isAlnum(b[i-1])) {
			if ibanAt(b, i) {
				return &Verdict{Rule: RuleIBAN, Reason: "IBAN (mod-97-valid) in " + where}
			}
		}
		if cry && acc&gDigit != 0 && len(tok) >= 14 && cryptoStart[tok[0]] {
			if rule, what := cryptoToken(tok); rule != "" {
				return &Verdict{Rule: rule, Reason: what + " in " + where}
			}
		}
		// BIP-39: words of 3-8 letters, one case.
		if cry {
			if acc&gDigit == 0 && len(tok) >= 3 && len(tok) <= 8 {
				if idx := bip39Index(lowerWord(b, i, j)); idx >= 0 {
					words = append(words, idx)
					if len(words) >= 12 && bip39Tail(words) {
						return &Verdict{Rule: RuleBIP39, Reason: "BIP-39 seed phrase (checksum-valid) in " + where}
					}
				} else {
					words = words[:0]
				}
			} else if acc&gDigit == 0 || acc&(gUpper|gLower) != 0 {
				words = words[:0]
			}
		}
		i = j
	}
	if v := flushNum(); v != nil {
		return v
	}
	if pii {
		if len(phones) >= BulkPhones {
			return &Verdict{Rule: RulePhones, Reason: itoa(len(phones)) + " distinct phone numbers in " + where}
		}
		if n := distinctEmails(b); n >= BulkEmails {
			return &Verdict{Rule: RuleEmails, Reason: itoa(n) + " distinct e-mail addresses in " + where}
		}
	}
	return nil
}

const (
	gDigit = 1 << iota
	gUpper
	gLower
)

var gateClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = gDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = gUpper
		t[c+32] = gLower
	}
	return t
}()

var cryptoStart = func() (t [256]bool) {
	for _, c := range "135KLbB" {
		t[c] = true
	}
	return t
}()

// cryptoToken checks one token for a Bitcoin address or WIF key.
func cryptoToken(tok []byte) (rule, what string) {
	c := tok[0]
	switch {
	case (c == '1' || c == '3') && len(tok) >= 26 && len(tok) <= 35:
		if d := base58Decode(tok); len(d) == 25 && (d[0] == 0 || d[0] == 5) && base58Check(d) {
			return RuleBitcoin, "Bitcoin address (base58check-valid)"
		}
	case c == '5' && len(tok) == 51, (c == 'K' || c == 'L') && len(tok) == 52:
		if d := base58Decode(tok); (len(d) == 37 || len(d) == 38) && d[0] == 0x80 && base58Check(d) {
			return RuleWIF, "Bitcoin private key (WIF, base58check-valid)"
		}
	case (c == 'b' || c == 'B') && len(tok) >= 14 && len(tok) <= 90 && (tok[1]|0x20) == 'c' && tok[2] == '1':
		if bech32Valid(tok) {
			return RuleBitcoin, "Bitcoin segwit address (bech32-valid)"
		}
	}
	return "", ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// cardGrouping reports whether digit groups are laid out the way card
// numbers are printed: one run, groups of four (the last may be shorter:
// a 13- or 19-digit number), Amex's 4-6-5, Diners' 4-6-4 or Visa-13's
// 4-3-3-3. Other layouts of 13-19 digits are not cards: the 8-4-4 head of
// a UUID whose next group has a letter, dates and times, version numbers,
// which otherwise pass issuer and Luhn one time in ten.
func cardGrouping(g []uint8, n int) bool {
	if n == 1 {
		return true
	}
	if n > len(g) {
		return false
	}
	switch {
	case n == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4):
		return true
	case n == 4 && g[0] == 4 && g[1] == 3 && g[2] == 3 && g[3] == 3:
		return true
	}
	for i := range n - 1 {
		if g[i] != 4 {
			return false
		}
	}
	return g[n-1] >= 1 && g[n-1] <= 4
}

// issuer: the number starts like a card of a major network and has one of
// its lengths.
func issuer(d []byte) bool {
	p2 := int(d[0])*10 + int(d[1])
	p4 := p2*100 + int(d[2])*10 + int(d[3])
	n := len(d)
	switch {
	case d[0] == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // Amex
		return n == 15
	case p4 == 6011, p2 == 65, p4/10 >= 644 && p4/10 <= 649: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p2 == 36, p2 == 38, p4/10 >= 300 && p4/10 <= 305: // Diners
		return n >= 14
	case p2 == 62: // UnionPay
		return n >= 16
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		x := int(d[len(d)-1-i])
		if i%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// ibanLen is the IBAN length per country (ISO 13616 registry).
var ibanLen = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
	"CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18,
	"FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23,
	"IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
	"MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29,
	"PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26,
	"UA": 29, "VG": 24, "XK": 20,
}

// ibanAt: an IBAN (compact or in groups of four) of its country's length
// whose mod-97 check holds starts at b[i].
func ibanAt(b []byte, i int) bool {
	want, ok := ibanLen[string(b[i:i+2])]
	if !ok {
		return false
	}
	var s []byte
	j := i
	for j < len(b) && len(s) < want {
		c := b[j]
		switch {
		case isDigit(c) || c >= 'A' && c <= 'Z':
			s = append(s, c)
			j++
		case c == ' ' && j+1 < len(b) && isAlnum(b[j+1]) && len(s)%4 == 0:
			j++
		default:
			j = len(b) + 1
		}
	}
	if len(s) != want || j < len(b) && isAlnum(b[j]) {
		return false
	}
	return ibanMod97(s) == 1
}

func ibanMod97(s []byte) int {
	r := append(append([]byte{}, s[4:]...), s[:4]...)
	m := 0
	for _, c := range r {
		if isDigit(c) {
			m = (m*10 + int(c-'0')) % 97
		} else {
			m = (m*100 + int(c-'A'+10)) % 97
		}
	}
	return m
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var b58Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// base58Decode decodes s (nil if a character is not base58).
func base58Decode(s []byte) []byte {
	n := new(big.Int)
	radix := big.NewInt(58)
	for _, c := range s {
		v := b58Index[c]
		if v < 0 {
			return nil
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(v)))
	}
	out := n.Bytes()
	for _, c := range s {
		if c != '1' {
			break
		}
		out = append([]byte{0}, out...)
	}
	return out
}

// base58Check: d is payload + 4-byte double-SHA-256 checksum.
func base58Check(d []byte) bool {
	if len(d) < 5 {
		return false
	}
	h := sha256.Sum256(d[:len(d)-4])
	h = sha256.Sum256(h[:])
	return bytes.Equal(h[:4], d[len(d)-4:])
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

// bech32Valid checks a bech32 or bech32m string with human part "bc".
func bech32Valid(s []byte) bool {
	low := bytes.ToLower(s)
	if !bytes.Equal(low, s) && !bytes.Equal(bytes.ToUpper(s), s) {
		return false // mixed case is invalid
	}
	sep := bytes.LastIndexByte(low, '1')
	if sep != 2 || len(low)-sep-1 < 6 {
		return false
	}
	hrp := low[:sep]
	vals := make([]byte, 0, len(hrp)*2+1+len(low))
	for _, c := range hrp {
		vals = append(vals, c>>5)
	}
	vals = append(vals, 0)
	for _, c := range hrp {
		vals = append(vals, c&31)
	}
	for _, c := range low[sep+1:] {
		k := strings.IndexByte(bech32Charset, c)
		if k < 0 {
			return false
		}
		vals = append(vals, byte(k))
	}
	p := bech32Polymod(vals)
	return p == 1 || p == 0x2bc830a3
}

// The BIP-39 English wordlist, typed from the BIP-39 specification; its
// SHA-256 is checked against the one the specification's english.txt has
// (TestBIP39Wordlist).
//
//go:embed bip39_english.txt
var bip39Text string

var bip39Words = strings.Fields(bip39Text)

// bip39Set finds a BIP-39 word by its letters packed in a uint64 (words
// have 3 to 8 letters): an open-addressed table of 4096 slots, small enough
// to stay in cache, where one multiply and usually one compare settle a
// token.
var bip39Set = func() (t struct {
	keys [4096]uint64
	idx  [4096]uint16
}) {
	for i, w := range bip39Words {
		var k uint64
		for j := len(w) - 1; j >= 0; j-- {
			k = k<<8 | uint64(w[j])
		}
		h := bip39Hash(k)
		for t.keys[h] != 0 {
			h = (h + 1) & 4095
		}
		t.keys[h], t.idx[h] = k, uint16(i)
	}
	return t
}()

func bip39Hash(k uint64) uint64 { return k * 0x9e3779b97f4a7c15 >> 52 }

// bip39Index is the index of the word packed in k, or -1.
func bip39Index(k uint64) int {
	for h := bip39Hash(k); ; h = (h + 1) & 4095 {
		switch bip39Set.keys[h] {
		case k:
			return int(bip39Set.idx[h])
		case 0:
			return -1
		}
	}
}

// lowerWord packs the letters b[i:j] (at most 8), lower-cased, into a
// uint64, first letter in the low byte.
func lowerWord(b []byte, i, j int) uint64 {
	n := uint(j - i)
	if i+8 <= len(b) {
		mask := uint64(1)<<(8*n) - 1 // all ones at n = 8: Go's shift by 64 is 0
		return (binary.LittleEndian.Uint64(b[i:]) | 0x2020202020202020) & mask
	}
	var k uint64
	for p := j - 1; p >= i; p-- {
		k = k<<8 | uint64(b[p]|0x20)
	}
	return k
}

// bip39Sep: characters that may stand between the words of a written-down
// phrase ("1. abandon 2. ability", "abandon, ability", one per line).
func bip39Sep(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ',' || c == '.' || c == ')' || c == '-' || c == '"' || isDigit(c)
}

// bip39Tail: the last 12, 15, 18, 21 or 24 words of run form a phrase
// with a valid checksum.
// A phrase must also have at least three quarters of its words distinct:
// a real one almost always does (two repeats in 12 words from 2,048 is
// rare), while "segment/segment/segment/..." passes a 4-bit checksum one
// time in 16.
func bip39Tail(run []int) bool {
	for _, n := range []int{24, 21, 18, 15, 12} {
		if len(run) >= n && distinctInts(run[len(run)-n:])*4 >= n*3 && bip39Checksum(run[len(run)-n:]) {
			return true
		}
	}
	return false
}

func distinctInts(a []int) int {
	n := 0
	for i, x := range a {
		seen := false
		for _, y := range a[:i] {
			if x == y {
				seen = true
				break
			}
		}
		if !seen {
			n++
		}
	}
	return n
}

func bip39Checksum(words []int) bool {
	total := len(words) * 11
	cs := total / 33
	ent := total - cs
	bits := make([]byte, 0, total)
	for _, w := range words {
		for k := 10; k >= 0; k-- {
			bits = append(bits, byte(w>>k)&1)
		}
	}
	entropy := make([]byte, ent/8)
	for i := range entropy {
		for k := range 8 {
			entropy[i] = entropy[i]<<1 | bits[i*8+k]
		}
	}
	h := sha256.Sum256(entropy)
	for k := range cs {
		if bits[ent+k] != (h[k/8]>>(7-k%8))&1 {
			return false
		}
	}
	return true
}

// distinctEmails counts distinct e-mail addresses (placeholder and no-reply
// domains do not count).
func distinctEmails(b []byte) int {
	if bytes.Count(b, []byte{'@'}) < BulkEmails {
		return 0
	}
	seen := map[string]bool{}
	for off := 0; ; {
		k := bytes.IndexByte(b[off:], '@')
		if k < 0 {
			break
		}
		at := off + k
		off = at + 1
		lo := at
		for lo > 0 && emailLocal(b[lo-1]) {
			lo--
		}
		hi := at + 1
		dots := 0
		for hi < len(b) && (isAlnum(b[hi]) || b[hi] == '-' || b[hi] == '.') {
			if b[hi] == '.' {
				dots++
			}
			hi++
		}
		for hi > at+1 && b[hi-1] == '.' {
			hi--
			dots--
		}
		if lo == at || dots == 0 {
			continue
		}
		addr := strings.ToLower(string(b[lo:hi]))
		dom := addr[strings.IndexByte(addr, '@')+1:]
		if strings.HasSuffix(dom, "example.com") || strings.HasSuffix(dom, "example.org") || strings.HasSuffix(dom, "example.net") ||
			strings.Contains(addr, "noreply") || strings.Contains(addr, "no-reply") {
			continue
		}
		seen[addr] = true
	}
	return len(seen)
}

func emailLocal(c byte) bool {
	return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0
}

// BIP39Words returns the BIP-39 English wordlist (a copy).
func BIP39Words() []string { return append([]string(nil), bip39Words...) }
