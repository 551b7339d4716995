package dlp

import (
	"bytes"
	"math/bits"
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

// RuleAssignment: a credential-named key assigned a random-looking value,
// as in .env files, shell exports and JSON configs sent whole. gitleaks'
// generic rule covers this for short strings but misses unquoted values
// with '+' or '/', and is too slow for whole bodies; this check runs only on
// the prefilter's candidate windows.
const RuleAssignment = "dlp.credential-assignment"

// assignKey is a credential-named key; assignTail is what may follow it up
// to the end of the value. assignRE (the whole pattern, unanchored) is the
// reference the anchored search below must agree with (see the fuzz test).
const (
	assignKey  = `(secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential|\bauth)`
	assignTail = `[\w.-]{0,24}["']?[ \t]{0,3}(?:=|:|:=|=>)[ \t]{0,3}["']?([A-Za-z0-9+/_~=.-]{14,256})`
)

var (
	assignRE         = regexp.MustCompile(`(?i)` + assignKey + assignTail)
	assignAnchoredRE = regexp.MustCompile(`(?i)\A` + strings.Replace(assignKey, `\b`, ``, 1) + assignTail)
)

// assignWords are the literal starts of the key alternatives, lower case.
// Only where one of them starts can a match start.
var assignWords = []string{"secret", "token", "passw", "pwd", "api", "access", "private", "credential", "auth"}

// assignMaxLen bounds one match: key (11) + 24 + quote + 3 + operator (2) +
// 3 + quote + value (256).
const assignMaxLen = 11 + 24 + 1 + 3 + 2 + 3 + 1 + 256

// assignMaxLead bounds how far before its value a match can start: key (11)
// + 24 + quote + 3 + operator (2) + 3 + quote.
const assignMaxLead = 11 + 24 + 1 + 3 + 2 + 3 + 1

// assignMinClasses: upper, lower, digit and '+'/'/' count as classes.
const assignMinClasses = 3

// checkAssignments looks for assignRE's matches in b. Go's regexp has no
// literal prefix to skip to here and walks every byte through its NFA
// (~3 MB/s on a base64 upload), so the search is anchored: the regex runs
// only where a key word starts, on at most assignMaxLen bytes. It finds
// every match assignRE finds, and also a key word inside an earlier
// match's value (assignRE's matches do not overlap), which can only block
// more.
func checkAssignments(b []byte) *Verdict {
	// A match needs a value: a run of at least AssignMinLen value
	// characters with upper and lower case, or three classes. Only the
	// bytes up to assignMaxLead before such a run can start a match, so
	// only those are searched for key words.
	// Only runs of AssignMinLen or more matter: nextLongRun finds them
	// without reading most of the bytes between.
	done := 0
	for i := 0; i < len(b); {
		runStart, j, acc := nextLongRun(b, &valClass, AssignMinLen, i)
		if runStart >= len(b) {
			break
		}
		i = j + 1 // b[j] is not a value character
		if !(acc&vUpper != 0 && acc&vLower != 0 || bits3(acc)) {
			continue
		}
		for k := max(done, runStart-assignMaxLead); k < j; k++ {
			if k+1 >= len(b) {
				break // key words have three letters or more
			}
			if p := uint32(b[k])<<8 | uint32(b[k+1]); assignPairs[p>>6]&(1<<(p&63)) == 0 {
				continue // no key word starts here: spare the call
			}
			if v := assignmentAt(b, k); v != nil {
				return v
			}
		}
		done = j
	}
	return nil
}

const (
	vUpper = 1 << iota
	vLower
	vDigit
	vSym   // '+' and '/': count as a class in randomValue
	vOther // the rest of the value alphabet: not a class
)

// valClass classifies the characters a value can hold (assignTail).
var valClass = func() (t [256]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = vUpper
		t[c+32] = vLower
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = vDigit
	}
	for _, c := range "_~=.-" {
		t[c] = vOther
	}
	t['+'], t['/'] = vSym, vSym
	return t
}()

func bits3(acc uint8) bool {
	return bits.OnesCount8(acc&^vOther) >= assignMinClasses
}

// assignmentAt reports an assignment whose key word starts at b[i].
func assignmentAt(b []byte, i int) *Verdict {
	kw := assignWordAt(b, i)
	if kw == "" || (kw == "auth" && i > 0 && isWordByte(b[i-1])) {
		return nil
	}
	m := assignAnchoredRE.FindSubmatchIndex(b[i:min(len(b), i+assignMaxLen)])
	if m == nil || excludedKey(b, i, i+m[3]) {
		return nil
	}
	if v := b[i+m[4] : i+m[5]]; randomValue(v) {
		key := string(b[i+m[2] : i+m[3]])
		return &Verdict{Rule: RuleAssignment, Reason: "random-looking value assigned to " + key + " (" + secretscan.Redact(string(v)) + ")"}
	}
	return nil
}

// excludedKeys precede a key word in names whose values are random but not
// credentials: pagination cursors and anti-forgery tokens, sent back to the
// site that issued them (nextPageToken, csrf_token, X-XSRF-TOKEN). This is
// the rule's one blind spot by name; known secrets, provider shapes and
// gitleaks still apply to those values.
var excludedKeys = []string{"page", "next", "continuation", "cursor", "sync", "csrf", "xsrf", "resume", "tokenizer", "max_", "max-", "num_"}

// excludedKey: the identifier around the key word at b[kw:end] names a
// cursor or an anti-forgery token.
func excludedKey(b []byte, kw, end int) bool {
	lo := kw
	for lo > 0 && kw-lo < 24 && (isWordByte(b[lo-1]) || b[lo-1] == '-' || b[lo-1] == '.') {
		lo--
	}
	hi := end
	for hi < len(b) && hi-end < 24 && (isWordByte(b[hi]) || b[hi] == '-' || b[hi] == '.') {
		hi++
	}
	name := bytes.ToLower(b[lo:hi])
	for _, x := range excludedKeys {
		if bytes.Contains(name, []byte(x)) {
			return true
		}
	}
	return false
}

// assignWordAt returns the key word starting at b[i], if any.
func assignWordAt(b []byte, i int) string {
	c := b[i] | 0x20
	if c < 'a' || c > 'z' {
		return ""
	}
	for _, kw := range assignByFirst[c-'a'] {
		if len(b)-i >= len(kw) && b[i+1]|0x20 == kw[1] && asciiEqualFold(b[i:i+len(kw)], kw) {
			return kw
		}
	}
	return ""
}

// assignPairs has a bit for the first two letters of every key word, in
// either case, indexed by the two bytes.
var assignPairs = func() (t [1 << 16 / 64]uint64) {
	for _, w := range assignWords {
		for _, a := range caseForms(w[0]) {
			for _, c := range caseForms(w[1]) {
				k := uint32(a)<<8 | uint32(c)
				t[k>>6] |= 1 << (k & 63)
			}
		}
	}
	return t
}()

// assignByFirst lists the key words by their first letter.
var assignByFirst = func() (t [26][]string) {
	for _, w := range assignWords {
		t[w[0]-'a'] = append(t[w[0]-'a'], w)
	}
	return t
}()

func asciiEqualFold(b []byte, lower string) bool {
	for j := range b {
		c := b[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[j] {
			return false
		}
	}
	return true
}

// isWordByte is regexp's \w: an ASCII letter, digit or underscore.
func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// randomValue: v reads as a random key rather than a word, identifier,
// version, date or placeholder. Calibrated on a benign corpus (see
// TestAssignmentFloorCalibration): at AssignMinLen characters and up,
// random values from the token alphabets pass and benign values do not.
// Shannon entropy alone cannot judge short values (a 16-character string
// has at most 4 bits per character), so short values are judged by how
// often adjacent characters change class (upper, lower, digit): about 60%
// of the time in random alphanumerics, rarely in camelCase or snake_case.
func randomValue(v []byte) bool {
	v = bytes.Trim(v, "=.-_")
	n := len(v)
	if n < AssignMinLen {
		return false
	}
	var up, lo, dg, sym int
	changes, pairs := 0, 0
	prev := 0
	for _, c := range v {
		cl := 0
		switch {
		case c >= 'A' && c <= 'Z':
			up, cl = 1, 1
		case c >= 'a' && c <= 'z':
			lo, cl = 1, 2
		case c >= '0' && c <= '9':
			dg, cl = 1, 3
		case c == '+' || c == '/':
			sym = 1
		}
		if cl != 0 && prev != 0 {
			pairs++
			if cl != prev {
				changes++
			}
		}
		prev = cl
	}
	classes := up + lo + dg + sym
	if pairs == 0 {
		return false
	}
	ratio := float64(changes) / float64(pairs)
	distinct := distinctRatio(v) * float64(n)
	if distinct < min(0.55*float64(n), 24) {
		return false // repetitive: "xxxxxxxx", "abcabcabc"
	}
	if wordy(v) >= assignMaxWordy {
		return false // words in camelCase, PascalCase or CONSTANT_CASE
	}
	switch {
	case classes >= assignMinClasses:
		return ratio >= assignMinChanges
	case up+lo == 2 && dg == 0 && sym == 0:
		// Letters only, mixed case: random letters change case about half
		// the time, camelCase once a word.
		return n >= 14 && ratio >= assignMinChanges
	}
	return false
}

// AssignMinLen is the shortest value the assignment rule judges; shorter
// ones are passwords-in-name-only ("changeme") or ids.
const AssignMinLen = 14

// assignMinChanges is the class-change ratio above which a value is random
// (random alphanumerics: ~0.62; identifiers in any case style: under 0.25).
const assignMinChanges = 0.25

// assignMaxWordy: the share of a value made of word-like segments at
// which it reads as an identifier (random alphanumerics: ~0.1).
const assignMaxWordy = 0.6

// wordy is the share of v's characters in word-like segments: a capital
// and two or more lower-case letters, or three or more lower-case letters,
// pronounceable ("Flow", "key", "account"). Identifiers are made of them;
// random values rarely hold one. CONSTANT_CASE values have one class and
// never reach this test.
func wordy(v []byte) float64 {
	in := 0
	for i := 0; i < len(v); {
		j := i
		switch {
		case isUpperB(v[i]) && i+1 < len(v) && isLowerB(v[i+1]):
			j = i + 1
			for j < len(v) && isLowerB(v[j]) {
				j++
			}
		case isLowerB(v[i]):
			for j < len(v) && isLowerB(v[j]) {
				j++
			}
		default:
			i++
			continue
		}
		if j-i >= 3 && pronounceable(v[i:j]) {
			in += j - i
		}
		i = j
	}
	return float64(in) / float64(len(v))
}

func isUpperB(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLowerB(c byte) bool { return c >= 'a' && c <= 'z' }

// pronounceable: at least a quarter vowels (y counts) and no four
// consonants in a row, as English words are.
func pronounceable(b []byte) bool {
	vowels, run := 0, 0
	for _, c := range b {
		switch c | 0x20 {
		case 'a', 'e', 'i', 'o', 'u', 'y':
			vowels++
			run = 0
		default:
			run++
			if run >= 4 {
				return false
			}
		}
	}
	return vowels*4 >= len(b)
}

func distinctRatio(v []byte) float64 {
	var seen [256]bool
	d := 0
	for _, c := range v {
		if !seen[c] {
			seen[c] = true
			d++
		}
	}
	return float64(d) / float64(len(v))
}
