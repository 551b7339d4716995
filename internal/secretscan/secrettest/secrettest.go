// Package secrettest builds fake secrets in the shapes real providers use,
// at run time, so no test file carries a literal that looks like a live key.
// Tests of secretscan, pipelock and git-gate share it.
//
// A Gen is deterministic for a seed: corpora stay stable between runs.
package secrettest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

const (
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower  = "abcdefghijklmnopqrstuvwxyz"
	digits = "0123456789"
	alnum  = upper + lower + digits
	hexLow = "0123456789abcdef"
	b32    = upper + "234567"
)

// Gen makes fake secrets.
type Gen struct{ r *rand.Rand }

// New returns a generator seeded with seed.
func New(seed uint64) *Gen { return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

// Str returns n random characters drawn from set.
func (g *Gen) Str(set string, n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(set[g.r.IntN(len(set))])
	}
	return b.String()
}

// Kind is one provider's secret shape, with the gitleaks rule that finds it.
type Kind struct {
	Name   string
	RuleID string
	Make   func(g *Gen) string
}

// Kinds lists every shape this package can make.
func Kinds() []Kind {
	return []Kind{
		{"aws-access-key", "aws-access-token", func(g *Gen) string { return "AK" + "IA" + g.Str(b32, 16) }},
		{"github-pat", "github-pat", func(g *Gen) string { return "gh" + "p_" + g.Str(alnum, 36) }},
		{"github-fine-grained", "github-fine-grained-pat", func(g *Gen) string {
			return "github" + "_pat_" + g.Str(alnum, 22) + "_" + g.Str(alnum, 59)
		}},
		{"github-oauth", "github-oauth", func(g *Gen) string { return "gh" + "o_" + g.Str(alnum, 36) }},
		{"gitlab-pat", "gitlab-pat", func(g *Gen) string { return "gl" + "pat-" + g.Str(alnum, 20) }},
		{"slack-bot", "slack-bot-token", func(g *Gen) string {
			return "xo" + "xb-" + g.Str(digits, 12) + "-" + g.Str(digits, 13) + "-" + g.Str(alnum, 24)
		}},
		{"stripe-live", "stripe-access-token", func(g *Gen) string { return "sk" + "_live_" + g.Str(alnum, 24) }},
		{"openai-project", "openai-api-key", func(g *Gen) string {
			return "sk" + "-proj-" + g.Str(alnum, 74) + "T3Blbk" + "FJ" + g.Str(alnum, 74)
		}},
		{"anthropic", "anthropic-api-key", func(g *Gen) string {
			return "sk" + "-ant-api03-" + g.Str(alnum+"_-", 93) + "AA"
		}},
		{"google-api", "gcp-api-key", func(g *Gen) string { return "AI" + "za" + g.Str(alnum, 35) }},
		{"npm", "npm-access-token", func(g *Gen) string { return "np" + "m_" + g.Str(lower+digits, 36) }},
		{"huggingface", "huggingface-access-token", func(g *Gen) string { return "h" + "f_" + g.Str(lower+upper, 34) }},
		{"digitalocean", "digitalocean-pat", func(g *Gen) string { return "do" + "p_v1_" + g.Str(hexLow, 64) }},
		{"sendgrid", "sendgrid-api-token", func(g *Gen) string {
			return "S" + "G." + g.Str(alnum, 22) + "." + g.Str(alnum, 43)
		}},
		{"private-key", "private-key", func(g *Gen) string { return g.PrivateKey() }},
		{"jwt", "jwt", func(g *Gen) string { return g.JWT() }},
	}
}

// PrivateKey returns a PEM block shaped like an RSA private key (random body).
func (g *Gen) PrivateKey() string {
	body := base64.StdEncoding.EncodeToString([]byte(g.Str(alnum, 180)))
	var b strings.Builder
	b.WriteString("-----BEGIN RSA " + "PRIVATE KEY-----\n")
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(body + "\n-----END RSA " + "PRIVATE KEY-----")
	return b.String()
}

// JWT returns a signed-looking JWT with real-looking claims and a random
// signature.
func (g *Gen) JWT() string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p := enc.EncodeToString(fmt.Appendf(nil, `{"sub":"%s","name":"Ops Bot","iat":%d,"exp":%d,"scope":"repo admin"}`,
		g.Str(digits, 10), 1700000000+g.r.IntN(1e7), 1800000000+g.r.IntN(1e7)))
	return h + "." + p + "." + g.Str(alnum+"_-", 43)
}

// UUID returns a random version-4 UUID (benign).
func (g *Gen) UUID() string {
	s := g.Str(hexLow, 32)
	return s[:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:]
}

// HexDigest returns n random lower-case hex digits (a hash, benign).
func (g *Gen) HexDigest(n int) string { return g.Str(hexLow, n) }

// Bytes returns n random bytes.
func (g *Gen) Bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return b
}

// IntN is a random int in [0,n).
func (g *Gen) IntN(n int) int { return g.r.IntN(n) }
