package gitgate

import (
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/secretenc"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

// knownSecretPrefix names the bottle's own secrets in the gate's
// environment, the same slots pipelock reads (values from the compose
// process env, never from a file).
const knownSecretPrefix = "PIPELOCK_SECRET_"

// minKnownSecretLen matches launch.MinKnownSecretLen: shorter values would
// match ordinary text.
const minKnownSecretLen = 8

// knownSecretsFromEnv returns the non-empty secret values in env.
func knownSecretsFromEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, knownSecretPrefix) && len(v) >= minKnownSecretLen {
			out = append(out, v)
		}
	}
	return out
}

// knownScanner adds exact matching of the bottle's own secrets (plain, any
// letter case, hex, URL-escaped, base64 at any alignment) to the gitleaks
// rules: a secret with no recognisable shape is still refused (escape H2).
type knownScanner struct {
	inner textScanner
	forms [][]string // per secret: its encodings
	lower []string   // per secret: lower-cased plain value
}

func newKnownScanner(inner textScanner, secrets []string) textScanner {
	if len(secrets) == 0 {
		return inner
	}
	k := &knownScanner{inner: inner}
	for _, s := range secrets {
		k.forms = append(k.forms, secretenc.Encodings(s, 6))
		k.lower = append(k.lower, strings.ToLower(s))
	}
	return k
}

func (k *knownScanner) ScanString(s string) []secretscan.Finding {
	out := k.inner.ScanString(s)
	lower := strings.ToLower(s)
	for i, forms := range k.forms {
		idx, form := -1, ""
		for _, f := range forms {
			if j := strings.Index(s, f); j >= 0 {
				idx, form = j, f
				break
			}
		}
		if idx < 0 {
			if j := strings.Index(lower, k.lower[i]); j >= 0 {
				idx, form = j, s[j:j+len(k.lower[i])]
			}
		}
		if idx < 0 {
			continue
		}
		line := 1 + strings.Count(s[:idx], "\n")
		col := idx - strings.LastIndex(s[:idx], "\n")
		out = append(out, secretscan.Finding{
			RuleID:      "known-secret",
			Description: "one of the bottle's own secrets",
			Redacted:    form[:min(4, len(form))] + "…",
			Line:        line,
			StartColumn: col,
		})
	}
	return out
}
