package dlp

import (
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
	assignTail = `[\w.-]{0,24}["']?[ \t]{0,3}(?:=|:|:=|=>)[ \t]{0,3}["']?([A-Za-z0-9+/_~=-]{20,256})`
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

// Thresholds for the assigned value: random keys of 20+ characters from a
// 62-64 letter alphabet have Shannon entropy near 4.3 and above; code
// identifiers and words stay well below.
const (
	assignMinEntropy = 4.2
	assignMinClasses = 3
)

// checkAssignments looks for assignRE's matches in each candidate window.
// Go's regexp has no literal prefix to skip to here and walks every byte
// through its NFA (~3 MB/s on a base64 upload), so the search is anchored:
// the regex runs only where a key word starts, on at most assignMaxLen
// bytes. It finds every match assignRE finds, and also a key word inside an
// earlier match's value (assignRE's matches do not overlap), which can only
// block more.
func checkAssignments(b []byte, cands []secretscan.Span) *Verdict {
	for _, w := range cands {
		win := b[w.Lo:w.Hi]
		for i := range win {
			kw := assignWordAt(win, i)
			if kw == "" || (kw == "auth" && i > 0 && isWordByte(win[i-1])) {
				continue
			}
			m := assignAnchoredRE.FindSubmatchIndex(win[i:min(len(win), i+assignMaxLen)])
			if m == nil {
				continue
			}
			if v := win[i+m[4] : i+m[5]]; randomValue(v) {
				key := string(win[i+m[2] : i+m[3]])
				return &Verdict{Rule: RuleAssignment, Reason: "random-looking value assigned to " + key + " (" + secretscan.Redact(string(v)) + ")"}
			}
		}
	}
	return nil
}

// assignWordAt returns the key word starting at b[i], if any.
func assignWordAt(b []byte, i int) string {
	switch b[i] | 0x20 {
	case 's', 't', 'p', 'a', 'c':
	default:
		return ""
	}
	for _, kw := range assignWords {
		if len(b)-i >= len(kw) && asciiEqualFold(b[i:i+len(kw)], kw) {
			return kw
		}
	}
	return ""
}

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

func randomValue(v []byte) bool {
	var up, lo, dg, sym int
	for _, c := range v {
		switch {
		case c >= 'A' && c <= 'Z':
			up = 1
		case c >= 'a' && c <= 'z':
			lo = 1
		case c >= '0' && c <= '9':
			dg = 1
		case c == '+' || c == '/':
			sym = 1
		}
	}
	return up+lo+dg+sym >= assignMinClasses && entropy(string(v)) >= assignMinEntropy
}
