package dlp

import (
	"regexp"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

// RuleAssignment: a credential-named key assigned a random-looking value,
// as in .env files, shell exports and JSON configs sent whole. gitleaks'
// generic rule covers this for short strings but misses unquoted values
// with '+' or '/', and is too slow for whole bodies; this check runs only on
// the prefilter's candidate windows.
const RuleAssignment = "dlp.credential-assignment"

var assignRE = regexp.MustCompile(`(?i)(secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential|\bauth)[\w.-]{0,24}["']?[ \t]{0,3}(?:=|:|:=|=>)[ \t]{0,3}["']?([A-Za-z0-9+/_~=-]{20,256})`)

// Thresholds for the assigned value: random keys of 20+ characters from a
// 62-64 letter alphabet have Shannon entropy near 4.3 and above; code
// identifiers and words stay well below.
const (
	assignMinEntropy = 4.2
	assignMinClasses = 3
)

func checkAssignments(b []byte, cands []secretscan.Span) *Verdict {
	for _, w := range cands {
		for _, m := range assignRE.FindAllSubmatchIndex(b[w.Lo:w.Hi], -1) {
			v := b[w.Lo+m[4] : w.Lo+m[5]]
			if randomValue(v) {
				key := string(b[w.Lo+m[2] : w.Lo+m[3]])
				return &Verdict{Rule: RuleAssignment, Reason: "random-looking value assigned to " + key + " (" + secretscan.Redact(string(v)) + ")"}
			}
		}
	}
	return nil
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
