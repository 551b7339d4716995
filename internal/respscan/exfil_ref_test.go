package respscan

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// mightExfilRef is mightExfil as it was before the one-pass loop: the
// reference the differential test compares with.
func mightExfilRef(u []byte) bool {
	if bytes.ContainsAny(u, "{$<[%") {
		return true
	}
	run := 0
	for _, c := range u {
		switch c {
		case '&', '=', '?', '#', '/', ';':
			run = 0
		default:
			if run++; run >= 64 {
				return true
			}
		}
	}
	for _, w := range []string{"insert", "paste", "append", "add", "put", "your", "user"} {
		if bytes.Contains(u, []byte(w)) {
			return true
		}
	}
	return false
}

func TestMightExfilMatchesReference(t *testing.T) {
	cases := []string{
		"", "https://example.com/", "https://x/?q={data}", "https://x/$HOME", "https://x/a%20b",
		"https://x/" + strings.Repeat("a", 63), "https://x/" + strings.Repeat("a", 64), "https://x/" + strings.Repeat("a", 63) + "/b",
		"https://x/inser", "https://x/insert", "https://x/?u=paste", "https://x/appen", "https://x/ad", "https://x/add",
		"https://x/pu", "https://x/put", "https://x/you", "https://x/your", "https://x/use", "https://x/user", "https://x/u",
		"https://x/?a=1&b=2#frag;x", "https://x/[0]", "https://x/<y>",
	}
	r := rand.New(rand.NewPCG(3, 4))
	alpha := "adeinprstuy/&=?#;{$<[%xq"
	for range 20000 {
		b := make([]byte, r.IntN(90))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := mightExfil([]byte(c)), mightExfilRef([]byte(c)); got != want {
			t.Fatalf("mightExfil(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestSlotWordAt: slotWordAt knows every slot word and no other start.
func TestSlotWordAt(t *testing.T) {
	for _, w := range slotWords {
		for _, s := range []string{w, w + "x", w + "/"} {
			if !slotWordAt([]byte(s)) {
				t.Fatalf("slotWordAt(%q) is false", s)
			}
		}
		if slotWordAt([]byte(w[:len(w)-1])) {
			t.Fatalf("slotWordAt(%q) is true", w[:len(w)-1])
		}
		if exfilClass[w[0]] != exfilWord {
			t.Fatalf("exfilClass[%q] does not start a slot word", w[0])
		}
	}
	for _, s := range []string{"x", "ad", "pu", "pas", "yo", "us", "inser", "appen"} {
		if slotWordAt([]byte(s)) {
			t.Fatalf("slotWordAt(%q) is true", s)
		}
	}
}
