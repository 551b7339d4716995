package respscan

import (
	"math/rand/v2"
	"regexp"
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

func TestStartsOf(t *testing.T) {
	tests := []struct {
		pattern string
		in, out []string // two-byte starts
	}{
		{`(?:note|message) to`, []string{"no", "me"}, []string{"ne", "mo", "ot", "x "}},
		{`\bif you`, []string{"if"}, []string{"i ", "fi"}},
		{`[a-c]x|(?i:z)`, []string{"ax", "cx", "z1", "Z\xff"}, []string{"ay", "dx"}},
		{`a*b`, []string{"ab", "aa", "b?"}, []string{"ca", "ac"}},
		{`x?`, []string{"\x00\x00", "qq"}, nil},             // matches empty: anything
		{`$|q`, []string{"\n\n", "\xff1"}, nil},             // end-of-text: anything
		{`é|a`, []string{"\xc3\xa9", "ab"}, []string{"ba"}}, // non-ASCII: every high byte
	}
	for _, tc := range tests {
		set := startsOf(tc.pattern)
		for _, p := range tc.in {
			if !set.has(p[0], p[1]) {
				t.Errorf("startsOf(%q) lacks %q", tc.pattern, p)
			}
		}
		for _, p := range tc.out {
			if set.has(p[0], p[1]) {
				t.Errorf("startsOf(%q) has %q", tc.pattern, p)
			}
		}
	}
}

var reEntityRef = regexp.MustCompile(`^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?`)

// FuzzEntityLen: entityLen matches what the regexp it replaced matched.
func FuzzEntityLen(f *testing.F) {
	for _, s := range []string{"&amp;", "&#73;", "&#x49", "&#X4g", "&#", "&#x", "&a", "&ab1;", "&#12345678;", "&#x1234567", "&" + strings.Repeat("a", 40), "&a;", "&1a", "&nbsp"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = append([]byte{'&'}, b...)
		want := len(reEntityRef.Find(b))
		if got := entityLen(b); got != want {
			t.Fatalf("entityLen(%q) = %d, the regexp matched %d", b, got, want)
		}
	})
}
