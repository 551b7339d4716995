package gitgate

import (
	"encoding/base64"
	"strings"
	"testing"

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
		{"hex", "deploy " + strings.ToUpper("73686170656c657373") + "x " + hexOf(secret), 1},
	}
	for _, c := range cases {
		fs := sc.ScanString(c.text)
		if len(fs) != 1 || fs[0].RuleID != "known-secret" || fs[0].Line != c.line {
			t.Errorf("%s: findings %+v, want one known-secret on line %d", c.name, fs, c.line)
			continue
		}
		if strings.Contains(fs[0].Redacted, secret) || len(fs[0].Redacted) > 8 {
			t.Errorf("%s: finding shows too much: %q", c.name, fs[0].Redacted)
		}
	}
	if fs := sc.ScanString("nothing to see, shapeless-Secret-value-43"); len(fs) != 0 {
		t.Errorf("near miss reported: %+v", fs)
	}
	// No secrets: the rules scanner itself, unchanged.
	if _, ok := newKnownScanner(noRules{}, nil).(noRules); !ok {
		t.Error("a bottle with no secrets should scan with the rules only")
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
