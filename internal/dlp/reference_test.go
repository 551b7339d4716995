package dlp

import "bytes"

// The byte-at-a-time scanners as they were before the bitmap run finder
// (runs.go), kept as references: FuzzFastScanners checks that the fast
// ones give the same results.

func decodeRunsRef(b []byte, cut bool) (text []byte, bin [][]byte) {
	// Binary results go into one buffer (sliced at the end): clean text
	// has many digests and ids, and one allocation each would dominate.
	var binBuf, scratch []byte
	var ends []int
	for i := 0; i < len(b); {
		if charClass[b[i]]&clB64 == 0 {
			i++
			continue
		}
		j := i
		and := uint8(0xff)
		for j < len(b) {
			c := charClass[b[j]]
			if c&clB64 == 0 {
				break
			}
			and &= c
			j++
		}
		run := b[i:j]
		runStart := i
		i = j
		for i < len(b) && b[i] == '=' { // padding
			i++
		}
		// Delimited hex ("de:ad:be:ef", "0x41,0x42", "de-ad-be-ef") is
		// found here, from the runs it is made of, so it costs no pass of
		// its own.
		if j < len(b) && hexSep[b[j]] && (len(run) == 2 && and&clHex != 0 || len(run) == 4 && run[0] == '0' && run[1]|0x20 == 'x') ||
			len(run) >= 23 && hexOrDash(run) && run[2] == '-' && run[5] == '-' {
			if n, d := hexRunAt(b, runStart); n > 0 {
				if textLike(d) {
					text = append(append(text, d...), '\n')
				} else {
					binBuf = append(binBuf, d...)
					ends = append(ends, len(binBuf))
				}
				i = max(i, runStart+n)
				continue
			}
		}
		if len(run) < minRun {
			continue
		}
		allHex := and&clHex != 0
		if !allHex && hexOrDash(run) {
			continue // UUID-like: hex groups, never encoded text
		}
		if cut && runStart == 0 {
			t, bi := decodeCutRun(run, allHex, and&(clB32U|clB32L) != 0)
			for _, d := range t {
				text = append(append(text, d...), '\n')
			}
			for _, d := range bi {
				binBuf = append(binBuf, d...)
				ends = append(ends, len(binBuf))
			}
			continue
		}
		var d []byte
		var isText bool
		d, isText, scratch = decodeRun(run, allHex, and&(clB32U|clB32L) != 0, scratch)
		switch {
		case d == nil:
		case isText:
			text = append(append(text, d...), '\n')
		case len(run) >= minBinRun:
			binBuf = append(binBuf, d...)
			ends = append(ends, len(binBuf))
		}
	}
	start := 0
	for _, e := range ends {
		bin = append(bin, binBuf[start:e:e])
		start = e
	}
	return text, bin
}
func (in *Inspector) checkDataRef(b []byte, where string) *Verdict {
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
		words   []int // BIP-39 word indices in a row
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
				var buf [8]byte
				for k, x := range tok {
					buf[k] = x | 0x20
				}
				lw := buf[:len(tok)]
				idx := int(bip39ByPrefix[prefixKey(lw)]) - 1
				if idx >= 0 && bip39Words[idx] == string(lw) {
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
func checkAssignmentsRef(b []byte) *Verdict {
	// A match needs a value: a run of at least AssignMinLen value
	// characters with upper and lower case, or three classes. Only the
	// bytes up to assignMaxLead before such a run can start a match, so
	// only those are searched for key words.
	done := 0
	for i := 0; i < len(b); {
		if valClass[b[i]] == 0 {
			i++
			continue
		}
		j := i
		var acc uint8
		for j < len(b) && valClass[b[j]] != 0 {
			acc |= valClass[b[j]]
			j++
		}
		runStart := i
		i = j
		if j-runStart < AssignMinLen || !(acc&vUpper != 0 && acc&vLower != 0 || bits3(acc)) {
			continue
		}
		for k := max(done, runStart-assignMaxLead); k < j; k++ {
			if v := assignmentAt(b, k); v != nil {
				return v
			}
		}
		done = j
	}
	return nil
}

// bip39ByPrefix maps a word's first four letters (BIP-39 words are unique
// by them) to its index + 1, so a token costs one load and one compare.
var bip39ByPrefix = func() *[26 * 26 * 26 * 27]uint16 {
	var t [26 * 26 * 26 * 27]uint16
	for i, w := range bip39Words {
		t[prefixKey([]byte(w))] = uint16(i + 1)
	}
	return &t
}()

// prefixKey numbers a word of three or more lower-case letters by its
// first four (a three-letter word has a fourth "letter" 0).
func prefixKey(w []byte) int {
	k := (int(w[0]-'a')*26+int(w[1]-'a'))*26 + int(w[2]-'a')
	if len(w) > 3 {
		return k*27 + int(w[3]-'a') + 1
	}
	return k * 27
}
func (s *knownSet) findWithCredsRef(b []byte, creds bool) (ki int, enc string, ok bool, cr *credRule) {
	x := credIdx
	for i := 0; i+1 < len(b); i++ {
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
