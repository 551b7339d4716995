package secrettest

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
)

// Financial, wallet and personal data, generated valid (check digits and
// checksums computed) so a validator accepts them, and never a real one.

// Card returns a Luhn-valid card number of a random major network, as
// digits in groups of four (Amex 4-6-5) joined by sep ("" for none).
func (g *Gen) Card(sep string) string {
	type net struct {
		prefix string
		n      int
	}
	nets := []net{{"4", 16}, {"51", 16}, {"55", 16}, {"2221", 16}, {"34", 15}, {"37", 15}, {"6011", 16}, {"35", 16}, {"4", 13}}
	nt := nets[g.IntN(len(nets))]
	if nt.prefix == "35" { // JCB is 3528-3589, not all of 35
		nt.prefix = fmt.Sprint(3528 + g.IntN(62))
	}
	d := nt.prefix + g.Str(digits, nt.n-len(nt.prefix)-1)
	d += string(rune('0' + luhnDigit(d)))
	if sep == "" {
		return d
	}
	var groups []string
	if nt.n == 15 {
		groups = []string{d[:4], d[4:10], d[10:]}
	} else {
		for i := 0; i < len(d); i += 4 {
			groups = append(groups, d[i:min(i+4, len(d))])
		}
	}
	return strings.Join(groups, sep)
}

// luhnDigit is the check digit to append to d.
func luhnDigit(d string) int {
	sum := 0
	for i := range len(d) {
		x := int(d[len(d)-1-i] - '0')
		if i%2 == 0 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return (10 - sum%10) % 10
}

// LuhnInvalid returns a card-shaped number whose check digit is wrong.
func (g *Gen) LuhnInvalid() string {
	d := "4" + g.Str(digits, 14)
	return d + string(rune('0'+(luhnDigit(d)+1+g.IntN(9))%10))
}

// IBAN returns a mod-97-valid IBAN for one of a few countries, compact or
// in groups of four.
func (g *Gen) IBAN(grouped bool) string {
	type c struct {
		cc   string
		n    int
		bban func() string
	}
	cs := []c{
		{"DE", 22, func() string { return g.Str(digits, 18) }},
		{"GB", 22, func() string { return g.Str(upper, 4) + g.Str(digits, 14) }},
		{"FR", 27, func() string { return g.Str(digits, 23) }},
		{"NL", 18, func() string { return g.Str(upper, 4) + g.Str(digits, 10) }},
		{"ES", 24, func() string { return g.Str(digits, 20) }},
		{"CH", 21, func() string { return g.Str(digits, 17) }},
	}
	x := cs[g.IntN(len(cs))]
	bban := x.bban()
	check := 98 - mod97(bban+x.cc+"00")
	s := fmt.Sprintf("%s%02d%s", x.cc, check, bban)
	if !grouped {
		return s
	}
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, " ")
}

func mod97(s string) int {
	m := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			m = (m*10 + int(c-'0')) % 97
		} else {
			m = (m*100 + int(c-'A'+10)) % 97
		}
	}
	return m
}

const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58Check(payload []byte) string {
	h := sha256.Sum256(payload)
	h = sha256.Sum256(h[:])
	full := append(append([]byte{}, payload...), h[:4]...)
	n := new(big.Int).SetBytes(full)
	var out []byte
	mod := new(big.Int)
	radix := big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, b58[mod.Int64()])
	}
	for _, c := range full {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// BitcoinAddress returns a base58check P2PKH ("1...") or P2SH ("3...")
// address with a random hash.
func (g *Gen) BitcoinAddress() string {
	ver := byte(0)
	if g.IntN(2) == 1 {
		ver = 5
	}
	return base58Check(append([]byte{ver}, g.Bytes(20)...))
}

// WIF returns a base58check private key in wallet import format
// (compressed or not).
func (g *Gen) WIF() string {
	p := append([]byte{0x80}, g.Bytes(32)...)
	if g.IntN(2) == 1 {
		p = append(p, 1)
	}
	return base58Check(p)
}

// Bech32Address returns a segwit v0 (bech32) address with a random
// 20-byte program.
func (g *Gen) Bech32Address() string {
	prog := g.Bytes(20)
	// 8-bit to 5-bit groups.
	var data []byte
	acc, bits := 0, 0
	for _, b := range prog {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data = append(data, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		data = append(data, byte(acc<<(5-bits))&31)
	}
	data = append([]byte{0}, data...) // witness version 0
	hrp := "bc"
	vals := []byte{}
	for _, c := range []byte(hrp) {
		vals = append(vals, c>>5)
	}
	vals = append(vals, 0)
	for _, c := range []byte(hrp) {
		vals = append(vals, c&31)
	}
	vals = append(vals, data...)
	vals = append(vals, 0, 0, 0, 0, 0, 0)
	pm := polymod(vals) ^ 1
	const cs = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	var b strings.Builder
	b.WriteString(hrp + "1")
	for _, d := range data {
		b.WriteByte(cs[d])
	}
	for i := range 6 {
		b.WriteByte(cs[(pm>>(5*(5-i)))&31])
	}
	return b.String()
}

func polymod(values []byte) uint32 {
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

// BIP39 returns a checksum-valid phrase of n words (12..24, a multiple of
// 3) from wordlist (the 2048 BIP-39 words).
func (g *Gen) BIP39(wordlist []string, n int) string {
	ent := g.Bytes(n * 11 * 32 / 33 / 8)
	h := sha256.Sum256(ent)
	var bits []byte
	for _, b := range ent {
		for k := 7; k >= 0; k-- {
			bits = append(bits, b>>k&1)
		}
	}
	for k := range len(ent) * 8 / 32 {
		bits = append(bits, h[k/8]>>(7-k%8)&1)
	}
	words := make([]string, n)
	for i := range n {
		idx := 0
		for k := range 11 {
			idx = idx<<1 | int(bits[i*11+k])
		}
		words[i] = wordlist[idx]
	}
	return strings.Join(words, " ")
}

// WordsFrom returns n random words of wordlist (a checksum holds by chance
// 1 time in 2^(n/3)).
func (g *Gen) WordsFrom(wordlist []string, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = wordlist[g.IntN(len(wordlist))]
	}
	return strings.Join(w, " ")
}

// Email returns a plausible personal address at a real-looking domain.
func (g *Gen) Email() string {
	doms := []string{"gmail.test", "corp-mail.test", "fastmail.test", "uni.edu.test"}
	return g.Str(lower, 5+g.IntN(5)) + "." + g.Str(lower, 4+g.IntN(6)) + "@" + doms[g.IntN(len(doms))]
}

// Phone returns a phone number in one of the forms people write.
func (g *Gen) Phone() string {
	switch g.IntN(3) {
	case 0:
		return "+44 20 " + g.Str(digits, 4) + " " + g.Str(digits, 4)
	case 1:
		return fmt.Sprintf("(%d%s) %d%s-%s", 2+g.IntN(8), g.Str(digits, 2), 2+g.IntN(8), g.Str(digits, 2), g.Str(digits, 4))
	default:
		return "+1-" + fmt.Sprint(2+g.IntN(8)) + g.Str(digits, 2) + "-" + fmt.Sprint(2+g.IntN(8)) + g.Str(digits, 2) + "-" + g.Str(digits, 4)
	}
}
