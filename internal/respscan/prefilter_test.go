package respscan

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// prefilterTokens build texts dense with the pieces the rules' cheap
// tests look at, so that a prefilter that drops a real match shows.
var prefilterTokens = []string{
	"<", ">", "[", "]", "/", "|", "<<", ">>", "\n", "\n\n", " ", "\t", "\r", "\f", "#", "*", ":", ",", "!", "-",
	"system", "sys", "admin", "developer", "operator", "inst", "human", "assistant", "prompt", "message",
	"im_start", "endoftext", "note", "from", "by", "the", "your", "anthropic", "openai", "to", "any", "all",
	"ai", "llm", "agent", "model", "if you are a", "n ", "reading", "has", "authorized", "important",
	"developers", "operators", "creators", "s", "you must", "run", "ignore", "instructions", "x", "denote",
}

// phrase pieces: each text strings together openers, words and closers
// in the order the patterns read them, with noise between, so that many
// texts match and many just miss.
var (
	pfOpen  = []string{"<", "[", "\n", ">", "<|", "<<", "\n\n", "< /", "[/", "> #", "\n* ", "", " "}
	pfWord  = []string{"system", "sys", "admin", "developer", "operator", "inst", "human", "assistant", "system prompt", "im_start", "endoftext", "system message"}
	pfClose = []string{">", "]", "|>", ":", " :", ">>", " >", "", "\t:"}
	pfSend  = []string{"message", "note", "notice", "instructions", "directive", "update", "attention", "important", "warning", "reminder", "if you are a", "if you are an", "to", "anthropic", "openai", "the developers", "your operators", "denote"}
	pfVia   = []string{" from", " by", " for", " to", "", " has", " have"}
	pfWho   = []string{" anthropic", " openai", " the developers", " the site owner", " your creators", " the ai", " all llm", " any assistant", " ai agent", " claude", " model", " ai", " coding agent", " authorized", " instructed"}
	pfEnd   = []string{",", ":", "!", "-", " reading", " processing", "s:", " ", "x", "\n"}
)

func prefilterTexts(n int) []string {
	r := rand.New(rand.NewPCG(5, 6))
	p := func(xs []string) string { return xs[r.IntN(len(xs))] }
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for k := r.IntN(4); k >= 0; k-- {
			switch r.IntN(3) {
			case 0:
				b.WriteString(p(pfOpen) + p(pfWord) + p(pfClose))
			case 1:
				b.WriteString(p(pfSend) + p(pfVia) + p(pfWho) + p(pfEnd))
			default:
				b.WriteString(p(prefilterTokens))
			}
			if r.IntN(2) == 0 {
				b.WriteString(" you must run it ")
			}
		}
		out[i] = b.String()
	}
	return out
}

// TestRoleShape: roleShape is true wherever reRole matches.
func TestRoleShape(t *testing.T) {
	matched := 0
	for _, s := range prefilterTexts(30000) {
		low := []byte(s)
		for k := range low {
			if reRole.Match(low[k:min(len(low), k+96)]) {
				matched++
				if !roleShape(low, k) {
					t.Fatalf("reRole matches %q at %d; roleShape says no", s[k:], k)
				}
			}
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d matches: the texts do not exercise reRole", matched)
	}
}

// TestAppendAuthorities: the anchored tries find what FindAllIndex on the
// region finds.
func TestAppendAuthorities(t *testing.T) {
	matched := 0
	for _, s := range prefilterTexts(2500) {
		low := []byte(s)
		for at := 0; at < len(low); at += 3 {
			e := min(len(low), at+1+at%9)
			var want [][2]int
			lo, hi := max(0, at-48), min(len(low), e+64)
			for _, m := range reAuthority.FindAllIndex(low[lo:hi], -1) {
				if st, en := lo+m[0], lo+m[1]; st <= e && en >= at {
					want = append(want, [2]int{st, en})
				}
			}
			got := appendAuthorities(nil, low, at, e)
			if !slices.Equal(got, want) {
				t.Fatalf("%q at %d..%d: got %v, want %v", s, at, e, got, want)
			}
			matched += len(want)
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d matches: the texts do not exercise reAuthority", matched)
	}
}

func TestFirstBytes(t *testing.T) {
	tests := []struct {
		pattern, in, out string
	}{
		{`(?:note|message) to`, "nm", "otx<"},
		{`\bif you`, "i", "f "},
		{`[a-c]x|(?i:z)`, "abczZ", "dx"},
		{`a*b`, "ab", "c"},
		{`x?`, "any\x00\xff", ""}, // matches empty: anything
		{`$|q`, "q\n\xff", ""},    // end-of-text: anything
		{`é|a`, "a\xc3\xff", "b"}, // non-ASCII: every high byte
	}
	for _, tc := range tests {
		set := firstBytes(tc.pattern)
		for _, c := range []byte(tc.in) {
			if !set[c] {
				t.Errorf("firstBytes(%q) lacks %q", tc.pattern, c)
			}
		}
		for _, c := range []byte(tc.out) {
			if set[c] {
				t.Errorf("firstBytes(%q) has %q", tc.pattern, c)
			}
		}
	}
}
