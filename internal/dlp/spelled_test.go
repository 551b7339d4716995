package dlp

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// undelimitRef is undelimit reading at every byte: the runs a reader
// would join, for checking that the fast scan's stride misses none.
func undelimitRef(b []byte) [][]byte {
	var out [][]byte
	for s := 0; s < len(b); {
		if run, e := spelledRun(b, s); run != nil {
			out = append(out, run)
			s = e
			continue
		}
		s++
	}
	return out
}

func TestUndelimit(t *testing.T) {
	ghp := "ghp_" + strings.Repeat("aB3", 12)
	spell := func(s, sep string) string { return strings.Join(strings.Split(s, ""), sep) }
	for _, tc := range []struct {
		name, in string
		want     string // a run undelimit must return ("" for none)
	}{
		{"spaces", "token: " + spell(ghp, " ") + " end", ghp},
		{"dashes", spell(ghp, "-"), ghp},
		{"dots in JSON", `{"v":"` + spell(ghp, ".") + `"}`, ghp},
		{"a dash inside, spaces between", spell("kn0wn-abcdefghijklmnop", " "), "kn0wn-abcdefghijklmnop"},
		{"pipes", spell("AKIAABCDEFGHIJKLMNOP", "|"), "AKIAABCDEFGHIJKLMNOP"},

		{"prose", "The quick brown fox jumps over the lazy dog, a b c.", ""},
		{"indentation", "{\n        \"a\": 1,\n        \"b\": 2\n}", ""},
		{"a short spelled word", "s e c r e t is spelled out", ""},
		{"rules", "==================================", ""},
		{"dates and versions", "2026-12-02 v1.2.3-rc.4 10.0.0.1", ""},
	} {
		got := undelimit([]byte(tc.in))
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: undelimit(%q) = %q, want none", tc.name, tc.in, got)
		case tc.want != "" && !bytes.Contains(got, []byte(tc.want)):
			t.Errorf("%s: undelimit(%q) = %q, want %q in it", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestUndelimitStride: a spelled-out run at every offset and with every
// padding is found by the 16-byte stride, as by reading every byte.
func TestUndelimitStride(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for n := minSpelled; n <= minSpelled+3; n++ {
		for pad := range 40 {
			for _, sep := range []string{" ", "-", ".", ":"} {
				chars := make([]byte, n)
				for i := range chars {
					chars[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)]
				}
				in := strings.Repeat("x", pad) + " " + strings.Join(strings.Split(string(chars), ""), sep) + " tail"
				if got := undelimit([]byte(in)); !bytes.Contains(got, chars) {
					t.Fatalf("pad %d sep %q: undelimit(%q) = %q, missed %q", pad, sep, in, got, chars)
				}
			}
		}
	}
}

func FuzzUndelimit(f *testing.F) {
	f.Add([]byte("g h p _ a b c d e f g h i j k l m n o p"))
	f.Add([]byte("x-y-z-1-2-3-4-5-6-7-8-9-0-a-b-c-d"))
	f.Add([]byte("        \"a\": 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := undelimit(b)
		for _, run := range undelimitRef(b) {
			if !bytes.Contains(got, run) {
				t.Fatalf("undelimit(%q) = %q, missed the run %q", b, got, run)
			}
		}
	})
}

func TestUnhideFullwidth(t *testing.T) {
	var fw strings.Builder
	for _, c := range "ghp_abc" {
		fw.WriteRune(c + 0xfee0)
	}
	if got := string(unhide([]byte("k=" + fw.String() + "\u3000x"))); got != "k=ghp_abc x" {
		t.Errorf("unhide = %q", got)
	}
	if unhide([]byte("plain ascii")) != nil {
		t.Error("unhide changed ASCII")
	}
}

// TestSpelledSecretsBlocked: a credential or known secret spelled out a
// character at a time, or in fullwidth letters, is what every receiver
// reads back; found by probing (the rules missed all five shapes), with
// the text that spells things out for its own reasons.
func TestSpelledSecretsBlocked(t *testing.T) {
	sc := mustScanner(t)
	g := probeGen{rand.New(rand.NewPCG(11, 5))}
	ghp := "ghp_" + g.alnum(36)
	aws := "AKIA" + g.pickFrom(upperNum, 16)
	known := "kn0wn-" + g.alnum(26)
	spell := func(s, sep string) string { return strings.Join(strings.Split(s, ""), sep) }
	fw := func(s string) string {
		var b strings.Builder
		for _, c := range s {
			b.WriteRune(c + 0xfee0)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"pat, spaces", "here: " + spell(ghp, " "), "dlp.github"},
		{"pat, dashes", spell(ghp, "-"), "dlp.github"},
		{"aws key, dots in JSON", `{"v":"` + spell(aws, ".") + `"}`, "dlp.aws"},
		{"pat, fullwidth", "k=" + fw(ghp), "dlp.github"},
		{"known secret, spaces", spell(known, " "), "dlp.known-secret"},
		{"known secret, fullwidth", fw(known), "dlp.known-secret"},

		{"alphabet", "a b c d e f g h i j k l m n o p q r s t u v w x y z", ""},
		{"spaced heading", "S E C U R I T Y   A D V I S O R Y   2 0 2 6", ""},
		{"digits list", "[1,0,1,1,0,0,1,0,1,1,1,0,0,1,0,1,1,0]", ""},
		{"fullwidth prose", "\u8bbe\u7f6e\uff1a\uff29\uff27\uff2e\uff2f\uff32\uff25 \uff11\uff12\uff13", ""},
	} {
		in := NewWith(sc, map[string]string{"PIPELOCK_SECRET_0": known}, nil, Options{})
		got := ""
		if v := in.CheckBodyTo("api.allowed.test", "text/plain", []byte(tc.body)); v != nil {
			got = v.Rule
		}
		if got != tc.want {
			t.Errorf("%s: %q gives %q, want %q", tc.name, tc.body, got, tc.want)
		}
	}
}
