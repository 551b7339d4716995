package gitgate

import (
	"strings"
	"unicode"
	"unicode/utf16"

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

// knownSecretRule is the rule name of a match of the bottle's own secrets.
const knownSecretRule = "known-secret"

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

// textScanner is the part of secretscan.Scanner the gate uses.
type textScanner interface {
	ScanString(string) []secretscan.Finding
}

// knownScanner adds exact matching of the bottle's own secrets to the
// gitleaks rules: a secret with no recognisable shape is still refused
// (escape H2). Forms matched: plain, any ASCII letter case, hex,
// URL-escaped, base64 at any alignment (internal/secretenc), and UTF-16
// (LE and BE, any case) of the plain value, which git stores and `git log
// --text` prints as raw bytes.
type knownScanner struct {
	inner textScanner // nil: the known secrets only
	forms [][]string  // per secret: its exact encodings
	lower [][]string  // per secret: forms matched against the ASCII-lowered text
}

func newKnownScanner(inner textScanner, secrets []string) *knownScanner {
	k := &knownScanner{inner: inner}
	for _, s := range secrets {
		k.forms = append(k.forms, secretenc.Encodings(s, 6))
		l := asciiLower(s)
		// Reversed and ROT13 are cheap for an exact value, as in
		// pipelock's matcher (internal/dlp).
		k.lower = append(k.lower, []string{l, utf16LE(l), utf16BE(l), secretenc.Reverse(l), secretenc.ROT13(l)})
	}
	return k
}

// ScanString runs the gitleaks rules (if any) and the known-secret match.
func (k *knownScanner) ScanString(s string) []secretscan.Finding {
	var out []secretscan.Finding
	if k.inner != nil {
		out = k.inner.ScanString(s)
	}
	return append(out, k.known(s)...)
}

// known reports one finding per known secret found in s, in any form.
// It never returns the secret: only a 4-byte prefix of the form found.
func (k *knownScanner) known(s string) []secretscan.Finding {
	if len(k.forms) == 0 {
		return nil
	}
	// Zero-width and bidi characters inside the secret draw nothing: the
	// text is also searched without them (newlines stay, so line numbers
	// hold).
	found := k.match(s)
	if stripped := stripInvisible(s); stripped != s {
		for i, f := range k.match(stripped) {
			if found[i] == nil {
				found[i] = f
			}
		}
	}
	var out []secretscan.Finding
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// match finds each known secret in s; nil where one is not there.
func (k *knownScanner) match(s string) []*secretscan.Finding {
	out := make([]*secretscan.Finding, len(k.forms))
	lower := "" // computed once, only if an exact form did not match
	for i, forms := range k.forms {
		idx, n := -1, 0
		for _, f := range forms {
			if j := strings.Index(s, f); j >= 0 {
				idx, n = j, len(f)
				break
			}
		}
		if idx < 0 {
			if lower == "" {
				lower = asciiLower(s)
			}
			for _, f := range k.lower[i] {
				if j := strings.Index(lower, f); j >= 0 {
					idx, n = j, len(f)
					break
				}
			}
		}
		if idx < 0 {
			continue
		}
		line := 1 + strings.Count(s[:idx], "\n")
		col := idx - strings.LastIndex(s[:idx], "\n")
		out[i] = &secretscan.Finding{
			RuleID:      knownSecretRule,
			Description: "one of the bottle's own secrets",
			Redacted:    redactPrefix(s[idx : idx+n]),
			Line:        line,
			StartColumn: col,
		}
	}
	return out
}

// stripInvisible drops zero-width and bidi formatting characters.
func stripInvisible(s string) string {
	if !strings.ContainsFunc(s, invisibleFormat) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if invisibleFormat(r) {
			return -1
		}
		return r
	}, s)
}

// invisibleFormat: the format characters (Unicode Cf: zero-width space
// and joiners, word joiner, BOM, soft hyphen, bidi marks, embeddings,
// overrides and isolates, tag characters).
func invisibleFormat(r rune) bool { return r >= 0x80 && unicode.Is(unicode.Cf, r) }

// redactPrefix shows at most 4 printable ASCII bytes of a match and an
// ellipsis, so a finding points at the spot without carrying the secret
// (or raw control bytes of a UTF-16 form) to the agent's terminal.
func redactPrefix(m string) string {
	var b strings.Builder
	for i := 0; i < len(m) && b.Len() < 4; i++ {
		if c := m[i]; c >= 0x21 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return b.String() + "…"
}

// asciiLower lowers ASCII letters byte by byte. Unlike strings.ToLower it
// keeps every byte offset (invalid UTF-8 and multi-byte letters are left
// as they are), so an index into the result is an index into the input.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func utf16LE(s string) string { return utf16Bytes(s, false) }
func utf16BE(s string) string { return utf16Bytes(s, true) }

func utf16Bytes(s string, big bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		if big {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}
