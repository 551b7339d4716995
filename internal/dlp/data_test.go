package dlp_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

// The embedded list must be BIP-39's english.txt exactly: a wrong or moved
// word breaks every checksum.
func TestBIP39Wordlist(t *testing.T) {
	w := dlp.BIP39Words()
	sum := sha256.Sum256([]byte(strings.Join(w, "\n") + "\n"))
	if got := hex.EncodeToString(sum[:]); got != "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda" {
		t.Fatalf("wordlist SHA-256 %s, %d words", got, len(w))
	}
	in := inspector(t)
	// Test vectors from the BIP-39 reference (entropy 7f7f..., 8080...);
	// the all-zero and all-one vectors repeat one word and are not phrases
	// anyone uses: the repeat guard refuses them.
	for _, p := range []string{
		"legal winner thank year wave sausage worth useful legal winner thank yellow",
		"letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
	} {
		if v := in.CheckBody("text/plain", []byte("my wallet: "+p)); v == nil || v.Rule != dlp.RuleBIP39 {
			t.Errorf("%q: got %v", p, v)
		}
	}
	if v := in.CheckBody("text/plain", []byte(strings.Repeat("segment ", 30))); v != nil {
		t.Errorf("one word repeated taken for a phrase: %v", v)
	}
}

func TestFinancialAndPersonalData(t *testing.T) {
	in := inspector(t)
	g := secrettest.New(71)
	words := dlp.BIP39Words()
	bad := map[string][]string{
		dlp.RuleCard:    {g.Card(""), g.Card(" "), g.Card("-"), "card=" + g.Card("")},
		dlp.RuleIBAN:    {g.IBAN(false), g.IBAN(true), "iban: " + g.IBAN(true) + "."},
		dlp.RuleBitcoin: {g.BitcoinAddress(), g.BitcoinAddress(), g.Bech32Address(), strings.ToUpper(g.Bech32Address())},
		dlp.RuleWIF:     {g.WIF(), g.WIF()},
		dlp.RuleBIP39:   {g.BIP39(words, 12), g.BIP39(words, 24), numbered(g.BIP39(words, 12)), strings.ReplaceAll(g.BIP39(words, 18), " ", "\n")},
	}
	var emails, phones []string
	for range 12 {
		emails = append(emails, g.Email())
		phones = append(phones, g.Phone())
	}
	bad[dlp.RuleEmails] = []string{"name,email\n" + strings.Join(emails, "\n"), `{"users":["` + strings.Join(emails, `","`) + `"]}`}
	bad[dlp.RulePhones] = []string{"name,phone\n" + strings.Join(phones, "\n")}
	for rule, ss := range bad {
		for _, s := range ss {
			if v := in.CheckBody("text/plain", []byte("data: "+s+"\n")); v == nil || v.Rule != rule {
				t.Errorf("%s: %.40q: got %v", rule, s, v)
			}
		}
	}
	var good []string
	for range 50 {
		good = append(good, g.LuhnInvalid(), fmt.Sprintf("order %d-%07d", 2026, g.IntN(1e7)), fmt.Sprint(1700000000000+g.IntN(1e11)),
			g.UUID(), g.HexDigest(40), "+"+g.Str("0123456789", 3), "9"+g.Str("0123456789", 15),
			g.WordsFrom(words, 11), "DE"+g.Str("0123456789", 20))
	}
	good = append(good, "call me at (555) 123-4567 or +44 20 7946 0958", "a@b.test c@d.test",
		"the quick brown fox jumps over the lazy dog again and again until the end of time", "1"+strings.Repeat("A", 30))
	for _, s := range good {
		if v := in.CheckBody("text/plain", []byte(s)); v != nil && (strings.HasPrefix(v.Rule, "dlp.card") || strings.HasPrefix(v.Rule, "dlp.iban") ||
			strings.HasPrefix(v.Rule, "dlp.bitcoin") || strings.HasPrefix(v.Rule, "dlp.bip39") || strings.HasPrefix(v.Rule, "dlp.pii")) {
			t.Errorf("%q flagged: %v", s, v)
		}
	}
	// A random run of wordlist words passes its checksum 1 time in 16 (12
	// words): count, over many, that only those do.
	n, hit := 2000, 0
	for range n {
		if v := in.CheckBody("text/plain", []byte(g.WordsFrom(words, 12))); v != nil && v.Rule == dlp.RuleBIP39 {
			hit++
		}
	}
	if hit > n/8 {
		t.Errorf("%d of %d random 12-word runs taken as seed phrases, want about 1 in 16", hit, n)
	}
}

// A bottle that turns a class off does not see its rules.
func TestClassesOff(t *testing.T) {
	sc := mustScannerT(t)
	g := secrettest.New(72)
	var off dlp.Classes
	for _, n := range []string{"financial", "pii"} {
		if !off.Set(n, true) {
			t.Fatalf("%s is not a class", n)
		}
	}
	if off.Set("nonsense", true) {
		t.Fatal("nonsense accepted as a class")
	}
	in := dlp.NewWith(sc, map[string]string{"S": knownValue}, nil, dlp.Options{Off: off})
	if v := in.CheckBody("text/plain", []byte(g.Card(" "))); v != nil {
		t.Errorf("financial off, card flagged: %v", v)
	}
	if v := in.CheckBody("text/plain", []byte(g.WIF())); v == nil {
		t.Error("crypto still on, WIF passed")
	}
	if v := in.CheckBody("text/plain", []byte("x "+knownValue)); v == nil {
		t.Error("known secrets cannot be turned off")
	}
	if got := strings.Join(off.Off(), ","); got != "financial,pii" {
		t.Errorf("Off() = %s", got)
	}
}

func numbered(p string) string {
	var b strings.Builder
	for i, w := range strings.Fields(p) {
		fmt.Fprintf(&b, "%d. %s\n", i+1, w)
	}
	return b.String()
}

// Card numbers are caught in the layouts cards are printed in, and a
// Luhn-valid run of digits in another layout (a UUID's 8-4-4 head, which
// a 100 MB body of UUIDs hit by chance) is not a card.
func TestCardGrouping(t *testing.T) {
	in := inspector(t)
	g := secrettest.New(72)
	card := func(n int) string { // a Luhn- and issuer-valid number of n digits
		for {
			if c := g.Card(""); len(c) == n {
				return c
			}
		}
	}
	layout := func(d string, sizes ...int) string {
		var parts []string
		for _, n := range sizes {
			parts, d = append(parts, d[:n]), d[n:]
		}
		return strings.Join(parts, "-")
	}
	for _, tc := range []struct {
		name string
		s    string
		want bool
	}{
		{"4-4-4-4", layout(card(16), 4, 4, 4, 4), true},
		{"4-6-5 amex", layout(card(15), 4, 6, 5), true},
		{"4-3-3-3 visa13", layout(card(13), 4, 3, 3, 3), true},
		{"4-4-4-1 visa13", layout(card(13), 4, 4, 4, 1), true},
		{"uuid head 8-4-4", layout(card(16), 8, 4, 4) + "-a" + g.Str("0123456789abcdef", 3) + "-" + g.Str("0123456789abcdef", 12), false},
		{"8-8", layout(card(16), 8, 8), false},
		{"2-2-4-8", layout(card(16), 2, 2, 4, 8), false},
	} {
		v := in.CheckBody("text/plain", []byte("id "+tc.s+"\n"))
		if got := v != nil && v.Rule == dlp.RuleCard; got != tc.want {
			t.Errorf("%s %q: card=%v, want %v (%v)", tc.name, tc.s, got, tc.want, v)
		}
	}
}
