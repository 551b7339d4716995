package gitgate

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretenc"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

type noRules struct{}

func (noRules) ScanString(string) []secretscan.Finding { return nil }

func TestKnownScanner(t *testing.T) {
	const secret = "shapeless-Secret-value-42"
	env := []string{"PATH=/bin", "PIPELOCK_SECRET_0=" + secret, "PIPELOCK_SECRET_1=short", "PIPELOCK_SECRET_2="}
	got := knownSecretsFromEnv(env)
	if len(got) != 1 || got[0] != secret {
		t.Fatalf("knownSecretsFromEnv = %q", got)
	}
	sc := newKnownScanner(noRules{}, got)
	cases := []struct {
		name, text string
		line       int
	}{
		{"plain", "a\nsee " + secret + " here", 2},
		{"upper", strings.ToUpper(secret), 1},
		{"base64 in a link", "x\ny\n[docs](https://h/?t=" + base64.StdEncoding.EncodeToString([]byte("t="+secret)) + ")", 3},
		{"UTF-16LE", "x\n" + utf16LE("see "+secret), 2},
		{"UTF-16BE, upper case", utf16BE(strings.ToUpper(secret)), 1},
		// Letters whose lower case is longer in UTF-8 must not shift the
		// match's offsets (strings.ToLower would, and slicing panicked).
		{"after multi-byte letters", strings.Repeat("\u0130", 40) + " " + strings.ToUpper(secret), 1},
		{"after invalid UTF-8", "\xff\xfe\xfd " + secret, 1},
		{"reversed", "x\n\nsee " + reverseRunes(secret), 3},
		{"ROT13, upper case", strings.ToUpper(secretenc.ROT13(secret)), 1},
		{"zero-width inside", "a\nb " + secret[:5] + "\u200b" + secret[5:10] + "\u2060\u202e" + secret[10:], 2},
		{"hex", "deploy " + strings.ToUpper("73686170656c657373") + "x " + hexOf(secret), 1},
	}
	for _, c := range cases {
		fs := sc.ScanString(c.text)
		if len(fs) != 1 || fs[0].RuleID != "known-secret" || fs[0].Line != c.line {
			t.Errorf("%s: findings %+v, want one known-secret on line %d", c.name, fs, c.line)
			continue
		}
		if strings.Contains(fs[0].Redacted, secret) || len(fs[0].Redacted) > 8 || strings.ContainsAny(fs[0].Redacted, "\x00") {
			t.Errorf("%s: finding shows too much: %q", c.name, fs[0].Redacted)
		}
	}
	if fs := sc.ScanString("nothing to see, shapeless-Secret-value-43"); len(fs) != 0 {
		t.Errorf("near miss reported: %+v", fs)
	}
	// No secrets: nothing known to match.
	if fs := newKnownScanner(noRules{}, nil).ScanString(secret); len(fs) != 0 {
		t.Errorf("a bottle with no secrets reported %+v", fs)
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func TestParsePathLog(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	tests := []struct {
		name string
		out  string
		want []commitPath
	}{
		{"two commits", "\x00" + a + "\x00\nx\x00y z\x00\x00" + b + "\x00\nw\x00", []commitPath{{a, "x"}, {a, "y z"}, {b, "w"}}},
		{"commit with no paths first", "\x00" + a + "\x00\x00" + b + "\x00\nq\x00", []commitPath{{b, "q"}}},
		{"a path that looks like an id", "\x00" + a + "\x00\n" + b + "\x00", []commitPath{{a, b}}},
		{"a path starting with a newline", "\x00" + a + "\x00\nk\x00\nl\x00", []commitPath{{a, "k"}, {a, "\nl"}}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parsePathLog(tc.out)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// FuzzParsePathLog: paths are never empty, each is a field of the
// input (at most its first newline removed), and a field that follows a
// path is always a path too (nothing after a commit's first path is
// taken for anything else).
func FuzzParsePathLog(f *testing.F) {
	f.Add("\x00" + strings.Repeat("a", 40) + "\x00\nx\x00")
	f.Add("\x00\x00\x00\n\n")
	f.Fuzz(func(t *testing.T, out string) {
		fields := map[string]bool{}
		for _, fld := range strings.Split(out, "\x00") {
			fields[fld] = true
		}
		for _, cp := range parsePathLog(out) {
			if cp.path == "" || !fields[cp.path] && !fields["\n"+cp.path] {
				t.Fatalf("path %q is not a field of %q", cp.path, out)
			}
		}
	})
}

func FuzzKnownScanner(f *testing.F) {
	const secret = "shapeless-Secret-value-42"
	sc := newKnownScanner(nil, []string{secret})
	f.Add("x " + secret)
	f.Add(strings.Repeat("\u0130", 9) + strings.ToUpper(secret))
	f.Fuzz(func(t *testing.T, pre string) {
		// The secret after any prefix, in any of these forms, is found.
		for _, s := range []string{pre + secret, pre + strings.ToUpper(secret), pre + utf16LE(secret)} {
			if len(sc.known(s)) != 1 {
				t.Fatalf("secret not found after prefix %q", pre)
			}
		}
	})
}

func reverseRunes(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
