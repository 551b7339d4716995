package dlp

import (
	"math"
	"strings"
)

// Subdomain smuggling: data packed into DNS labels (hex, base32, base64url)
// is long and random-looking; ordinary labels are words, short ids or
// punycode.
const (
	labelMinLen      = 20  // shorter labels are never flagged by entropy
	labelEntropyBits = 3.3 // Shannon bits per char above which a long label is data
	labelHardLen     = 40  // longer labels need only the entropy
)

// CheckHost looks for smuggled data in a host name: the bottle's known
// secrets (plain, hex or base32, across labels), gitleaks rules, and long
// high-entropy or encoded labels.
func (in *Inspector) CheckHost(host string) *Verdict {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for i := range in.known {
		if in.known[i].matchHost(h) {
			return &Verdict{Rule: RuleKnownSecret, Reason: "known secret " + in.known[i].Name + " in host name"}
		}
	}
	labels := strings.Split(h, ".")
	if !in.off.Hostnames {
		for _, l := range labels {
			if v := checkLabel(l); v != nil {
				return v
			}
		}
	}
	if in.off.Credentials {
		return nil
	}
	joined := strings.Join(labels, "\n")
	if r, _ := findCred([]byte(joined)); r != nil {
		return credVerdict(r, "host name")
	}
	if fs := in.scanner.ScanString(joined); len(fs) > 0 {
		return findingVerdict(fs[0], "host name")
	}
	return nil
}

func checkLabel(l string) *Verdict {
	if len(l) < labelMinLen || strings.HasPrefix(l, "xn--") {
		return nil
	}
	digits, hexOnly := 0, true
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c >= '0' && c <= '9' {
			digits++
		} else if !(c >= 'a' && c <= 'f') {
			hexOnly = false
		}
	}
	if hexOnly && len(l) >= 24 {
		return &Verdict{Rule: RuleSubdomain, Reason: "hex data in host label (" + itoa(len(l)) + " chars)"}
	}
	if wordsAndNumbers(l) {
		return nil // "prod-us-east-1-bucket", "my-lb-1234567890"
	}
	e := entropy(l)
	switch {
	case digits >= 2 && e >= labelEntropyBits:
		return &Verdict{Rule: RuleSubdomain, Reason: "high-entropy host label (" + itoa(len(l)) + " chars)"}
	case len(l) >= labelHardLen && e >= labelEntropyBits:
		return &Verdict{Rule: RuleSubdomain, Reason: "encoded data in host label (" + itoa(len(l)) + " chars)"}
	case consonantRun(l) >= 5 && e >= labelEntropyBits:
		// Words have at most four consonants in a row ("ngths"); base32
		// and base36 data often has five.
		return &Verdict{Rule: RuleSubdomain, Reason: "random-looking host label (" + itoa(len(l)) + " chars)"}
	}
	return nil
}

// consonantRun is the longest run of characters that are not vowels (a
// digit counts as a consonant; '-' breaks a run).
func consonantRun(l string) int {
	best, cur := 0, 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case 'a', 'e', 'i', 'o', 'u', 'y', '-':
			cur = 0
		default:
			cur++
			best = max(best, cur)
		}
	}
	return best
}

// wordsAndNumbers: every '-'-separated part is all letters or all digits,
// as people name hosts; encoded data mixes letters and digits in a run.
func wordsAndNumbers(l string) bool {
	for _, part := range strings.Split(l, "-") {
		alpha, num := false, false
		for i := 0; i < len(part); i++ {
			if part[i] >= '0' && part[i] <= '9' {
				num = true
			} else {
				alpha = true
			}
		}
		if alpha && num {
			return false
		}
	}
	return true
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	e := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}
