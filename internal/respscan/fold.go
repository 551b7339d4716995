package respscan

// What a reader sees as ASCII but the bytes do not spell: no-break and
// other Unicode spaces between words ("Ignore&nbsp;all&nbsp;previous"),
// fullwidth letters ("Ｉｇｎｏｒｅ"), and Cyrillic or Greek letters that
// look like Latin ones inside a Latin word ("Ignоre" with a Cyrillic о).
// The decoded view spells them as ASCII (foldRune), so the rules read the
// phrase the model reads.

// foldSpace: the spaces the decoded view writes as ' '.
func foldSpace(r rune) bool {
	return r == 0x00a0 || r >= 0x2000 && r <= 0x200a || r == 0x202f || r == 0x205f || r == 0x3000
}

// confusables are the Cyrillic and Greek letters drawn as a Latin one.
var confusables = map[rune]byte{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's',
	'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
	'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S', 'Ү': 'Y',
	// Greek
	'ο': 'o', 'α': 'a', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
	'Ο': 'O', 'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// foldRune is the ASCII byte the decoded view writes for r, or 0 for
// none. A confusable letter is folded only inside a Latin word (latin:
// an ASCII letter touches it): Russian or Greek text stays as it is.
func foldRune(r rune, latin bool) byte {
	switch {
	case foldSpace(r):
		return ' '
	case r >= 0xff01 && r <= 0xff5e: // fullwidth ASCII
		return byte(r - 0xfee0)
	case latin:
		return confusables[r]
	}
	return 0
}

// foldLead are the first bytes of the runes foldRune may change.
var foldLead = [256]bool{0xc2: true, 0xe2: true, 0xe3: true, 0xef: true, 0xce: true, 0xcf: true, 0xd0: true, 0xd1: true, 0xd2: true, 0xd3: true, 0xd4: true}

// needsFolding: the rune at b[i] (b[i] >= 0x80, size n) is one the
// decoded view spells differently: a fullwidth letter, a space between
// two ASCII letters, or a confusable touching an ASCII letter.
func needsFolding(b []byte, i int, r rune, n int) bool {
	before := i > 0 && isLetter(b[i-1])
	after := i+n < len(b) && isLetter(b[i+n])
	switch {
	case r >= 0xff21 && r <= 0xff5a:
		return true
	case foldSpace(r):
		return before && after
	}
	_, ok := confusables[r]
	return ok && (before || after)
}
