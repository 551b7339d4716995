package secretscan

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// candidatesRef is Candidates as it was before nextLongToken: a walk of
// every byte. FuzzCandidates checks the two agree.
func candidatesRef(b []byte) []Span {
	var out []Span
	add := func(lo, hi int) {
		lo, hi = max(lo, 0), min(hi, len(b))
		if n := len(out); n > 0 && lo <= out[n-1].Hi+windowPad {
			out[n-1].Hi = max(out[n-1].Hi, hi)
			return
		}
		out = append(out, Span{lo, hi})
	}
	for i := 0; i < len(b); {
		if class[b[i]]&cTok == 0 {
			i++
			continue
		}
		j := i
		var acc uint8
		for j < len(b) {
			c := class[b[j]]
			if c&cTok == 0 {
				break
			}
			acc |= c
			j++
		}
		if j-i >= minTokenLen && acc&cNonHex != 0 {
			up, lo, dg := acc&cUpper != 0, acc&cLower != 0, acc&cDigit != 0
			if (up && (lo || dg)) || (lo && dg) {
				add(i-windowPad, j+windowPad)
			}
		}
		i = j
	}
	// PEM blocks: "-----BEGIN" splits into short tokens, so look for it.
	for off := 0; ; {
		k := bytes.Index(b[off:], []byte("-----BEGIN"))
		if k < 0 {
			break
		}
		p := off + k
		out = mergeInto(out, Span{max(p-windowPad, 0), min(p+pemWindow, len(b))})
		off = p + 10
	}
	return out
}

func candidateSeeds() []string {
	return []string{
		"", "a", strings.Repeat("a", 15), strings.Repeat("aB3", 6), "ghp_" + strings.Repeat("aZ9", 10),
		"db7ae50a-cf2a-4fc8-af41-7293e3d11c1e", "478ef85dd9070557cb31f2bfe1711948ff93ebc5.",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEow", "path/to/Some_File-name.go+x~y", "key=Abcdefgh12345678",
	}
}

func FuzzCandidates(f *testing.F) {
	for _, s := range candidateSeeds() {
		f.Add([]byte(s))
		f.Add([]byte("Please refactor " + s + " so that"))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Candidates(b), candidatesRef(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("Candidates(%q) = %v, reference %v", b, got, want)
		}
	})
}

// TestCandidatesMatchReference splices token shapes into prose at random
// offsets, so they fall on and off the probe positions.
func TestCandidatesMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	seeds := candidateSeeds()
	words := []string{" ", "the", "refactor", ".", ",", "\n", "=", "\"", "ab", "x1", "Q", "-", "_", "/"}
	for range 3000 {
		var sb strings.Builder
		for n := r.IntN(120); n > 0; n-- {
			if r.IntN(5) == 0 {
				sb.WriteString(seeds[r.IntN(len(seeds))])
			} else {
				sb.WriteString(words[r.IntN(len(words))])
			}
		}
		b := []byte(sb.String())
		if got, want := Candidates(b), candidatesRef(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("Candidates(%q) = %v, reference %v", b, got, want)
		}
	}
}
