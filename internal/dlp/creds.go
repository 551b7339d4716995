package dlp

import "bytes"

// The credential layer: provider token shapes, matched for exfiltration
// rather than for source-code review. gitleaks (behind this layer) is tuned
// to keep code scans quiet: it skips AWS keys ending in EXAMPLE, tokens with
// alphabet runs (its stopwords), values a few characters off a provider's
// exact length. An agent leaking a key does not care what it looks like, so
// here a provider prefix followed by enough characters of the provider's
// alphabet is a credential, whatever its exact length and whatever it
// spells. Each match names its rule, dlp.<provider>.
//
// False-positive guard: every rule needs its literal prefix (case-sensitive)
// followed by a run of at least minTail characters of the token alphabet,
// so prose and identifiers ("sk-learn", "ghp_foo") never reach the floor;
// the benign corpus (internal/pipelock corpus_test.go) measures it.

// credRule is one provider shape.
type credRule struct {
	id, desc string
	prefix   string
	// tail is the alphabet after the prefix and minTail how many of its
	// characters must follow.
	tail    *[256]bool
	minTail int
	// match, when set, replaces the tail check: it returns whether a
	// credential starts at b[i:] (b[i:] begins with prefix).
	match func(b []byte, i int) bool
}

func charset(sets ...string) *[256]bool {
	var t [256]bool
	for _, s := range sets {
		for i := 0; i < len(s); i++ {
			t[s[i]] = true
		}
	}
	return &t
}

const (
	csUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	csLower = "abcdefghijklmnopqrstuvwxyz"
	csDigit = "0123456789"
	csAlnum = csUpper + csLower + csDigit
)

var (
	tAlnum      = charset(csAlnum)
	tAlnumU     = charset(csAlnum, "_")
	tAlnumUD    = charset(csAlnum, "_-")
	tUpperDigit = charset(csUpper, csDigit)
	tHex        = charset("0123456789abcdefABCDEF")
	tB64URL     = charset(csAlnum, "_-")
	tAlnumDash  = charset(csAlnum, "-")
)

// runLen counts the characters of t starting at b[i].
func runLen(b []byte, i int, t *[256]bool) int {
	n := 0
	for i+n < len(b) && t[b[i+n]] {
		n++
	}
	return n
}

var credRules = []credRule{
	// AWS access key ids (and the other IAM unique-id prefixes). gitleaks
	// wants exactly 16 more characters and skips ...EXAMPLE.
	{id: "dlp.aws", desc: "AWS access key id", prefix: "AKIA", tail: tUpperDigit, minTail: 12},
	{id: "dlp.aws", desc: "AWS temporary access key id", prefix: "ASIA", tail: tUpperDigit, minTail: 12},
	{id: "dlp.aws", desc: "AWS access key id", prefix: "ABIA", tail: tUpperDigit, minTail: 12},
	{id: "dlp.aws", desc: "AWS access key id", prefix: "ACCA", tail: tUpperDigit, minTail: 12},
	{id: "dlp.github", desc: "GitHub token", prefix: "ghp_", tail: tAlnum, minTail: 20},
	{id: "dlp.github", desc: "GitHub OAuth token", prefix: "gho_", tail: tAlnum, minTail: 20},
	{id: "dlp.github", desc: "GitHub user-to-server token", prefix: "ghu_", tail: tAlnum, minTail: 20},
	{id: "dlp.github", desc: "GitHub server-to-server token", prefix: "ghs_", tail: tAlnum, minTail: 20},
	{id: "dlp.github", desc: "GitHub refresh token", prefix: "ghr_", tail: tAlnum, minTail: 20},
	{id: "dlp.github", desc: "GitHub fine-grained token", prefix: "github_pat_", tail: tAlnumU, minTail: 20},
	{id: "dlp.gitlab", desc: "GitLab token", prefix: "glpat-", tail: tAlnumUD, minTail: 16},
	{id: "dlp.gitlab", desc: "GitLab deploy token", prefix: "gldt-", tail: tAlnumUD, minTail: 16},
	{id: "dlp.gitlab", desc: "GitLab runner token", prefix: "glrt-", tail: tAlnumUD, minTail: 16},
	{id: "dlp.gitlab", desc: "GitLab pipeline trigger token", prefix: "glptt-", tail: tAlnumUD, minTail: 16},
	{id: "dlp.slack", desc: "Slack token", prefix: "xox", match: matchSlack},
	{id: "dlp.slack", desc: "Slack app token", prefix: "xapp-", tail: tAlnumUD, minTail: 16},
	{id: "dlp.slack", desc: "Slack webhook", prefix: "hooks.slack.com/services/T", tail: charset(csAlnum, "/"), minTail: 16},
	{id: "dlp.anthropic", desc: "Anthropic API key", prefix: "sk-ant-", tail: tAlnumUD, minTail: 20},
	{id: "dlp.openai", desc: "OpenAI project key", prefix: "sk-proj-", tail: tAlnumUD, minTail: 20},
	{id: "dlp.openai", desc: "OpenAI service account key", prefix: "sk-svcacct-", tail: tAlnumUD, minTail: 20},
	{id: "dlp.openai", desc: "OpenAI admin key", prefix: "sk-admin-", tail: tAlnumUD, minTail: 20},
	// "T3BlbkFJ" is base64 of "OpenAI": the middle of every classic and
	// project OpenAI key, whatever surrounds it.
	{id: "dlp.openai", desc: "OpenAI API key", prefix: "T3BlbkFJ", match: matchOpenAIMarker},
	{id: "dlp.stripe", desc: "Stripe secret key", prefix: "sk_live_", tail: tAlnumU, minTail: 10},
	{id: "dlp.stripe", desc: "Stripe test secret key", prefix: "sk_test_", tail: tAlnumU, minTail: 10},
	{id: "dlp.stripe", desc: "Stripe restricted key", prefix: "rk_live_", tail: tAlnumU, minTail: 10},
	{id: "dlp.stripe", desc: "Stripe restricted test key", prefix: "rk_test_", tail: tAlnumU, minTail: 10},
	{id: "dlp.stripe", desc: "Stripe webhook secret", prefix: "whsec_", tail: tAlnum, minTail: 20},
	{id: "dlp.google", desc: "Google API key", prefix: "AIza", match: matchGoogleKey},
	{id: "dlp.google", desc: "Google OAuth client secret", prefix: "GOCSPX-", tail: tAlnumUD, minTail: 20},
	{id: "dlp.google", desc: "Google OAuth token", prefix: "ya29.", tail: tAlnumUD, minTail: 30},
	{id: "dlp.sendgrid", desc: "SendGrid API key", prefix: "SG.", match: matchSendGrid},
	{id: "dlp.npm", desc: "npm token", prefix: "npm_", tail: tAlnum, minTail: 30},
	{id: "dlp.pypi", desc: "PyPI token", prefix: "pypi-AgE", tail: tAlnumUD, minTail: 30},
	{id: "dlp.huggingface", desc: "Hugging Face token", prefix: "hf_", tail: tAlnum, minTail: 30},
	{id: "dlp.digitalocean", desc: "DigitalOcean token", prefix: "dop_v1_", tail: tHex, minTail: 32},
	{id: "dlp.digitalocean", desc: "DigitalOcean OAuth token", prefix: "doo_v1_", tail: tHex, minTail: 32},
	{id: "dlp.digitalocean", desc: "DigitalOcean refresh token", prefix: "dor_v1_", tail: tHex, minTail: 32},
	{id: "dlp.shopify", desc: "Shopify token", prefix: "shpat_", tail: tHex, minTail: 24},
	{id: "dlp.shopify", desc: "Shopify shared secret", prefix: "shpss_", tail: tHex, minTail: 24},
	{id: "dlp.shopify", desc: "Shopify custom app token", prefix: "shpca_", tail: tHex, minTail: 24},
	{id: "dlp.vault", desc: "HashiCorp Vault token", prefix: "hvs.", tail: tAlnumUD, minTail: 24},
	{id: "dlp.vault", desc: "HashiCorp Vault batch token", prefix: "hvb.", tail: tAlnumUD, minTail: 24},
	{id: "dlp.doppler", desc: "Doppler token", prefix: "dp.pt.", tail: tAlnum, minTail: 30},
	{id: "dlp.linear", desc: "Linear API key", prefix: "lin_api_", tail: tAlnum, minTail: 30},
	{id: "dlp.postman", desc: "Postman API key", prefix: "PMAK-", tail: charset(csAlnum, "-"), minTail: 30},
	{id: "dlp.atlassian", desc: "Atlassian API token", prefix: "ATATT3", tail: tAlnumUD, minTail: 40},
	{id: "dlp.grafana", desc: "Grafana service account token", prefix: "glsa_", tail: tAlnumU, minTail: 30},
	{id: "dlp.databricks", desc: "Databricks token", prefix: "dapi", tail: tHex, minTail: 32},
	{id: "dlp.twilio", desc: "Twilio API key", prefix: "SK", match: matchTwilio},
	{id: "dlp.jwt", desc: "JSON Web Token", prefix: "eyJ", match: matchJWT},
	{id: "dlp.private-key", desc: "private key", prefix: "-----BEGIN ", match: matchPEM},
	{id: "dlp.private-key", desc: "private key", prefix: "-----BEGIN+", match: matchPEM}, // form-encoded
	{id: "dlp.private-key", desc: "PuTTY private key", prefix: "PuTTY-User-Key-File-", tail: tAlnum, minTail: 1},
	{id: "dlp.age", desc: "age secret key", prefix: "AGE-SECRET-KEY-1", tail: tUpperDigit, minTail: 40},
}

// credIndex finds candidate rule starts in one pass: a bitmap of every
// rule's 2-byte prefix rejects almost every position with one load.
type credIndex struct {
	bits  [1 << 16 / 64]uint64
	byPfx map[[2]byte][]*credRule
}

var credIdx = func() *credIndex {
	x := &credIndex{byPfx: map[[2]byte][]*credRule{}}
	for i := range credRules {
		r := &credRules[i]
		p := [2]byte{r.prefix[0], r.prefix[1]}
		h := uint32(p[0])<<8 | uint32(p[1])
		x.bits[h>>6] |= 1 << (h & 63)
		x.byPfx[p] = append(x.byPfx[p], r)
	}
	return x
}()

// findCred returns the first credential shape in b and where it starts.
func findCred(b []byte) (*credRule, int) {
	x := credIdx
	for i := 0; i+1 < len(b); i++ {
		h := uint32(b[i])<<8 | uint32(b[i+1])
		if x.bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, r := range x.byPfx[[2]byte{b[i], b[i+1]}] {
			if credAt(r, b, i) {
				return r, i
			}
		}
	}
	return nil, 0
}

// credAt: rule r matches at b[i].
func credAt(r *credRule, b []byte, i int) bool {
	if !bytes.HasPrefix(b[i:], []byte(r.prefix)) {
		return false
	}
	if r.match != nil {
		return r.match(b, i)
	}
	return runLen(b, i+len(r.prefix), r.tail) >= r.minTail
}

func credVerdict(r *credRule, where string) *Verdict {
	return &Verdict{Rule: r.id, Reason: r.desc + " (" + r.prefix + "…) in " + where}
}

// xox[abposr]-: bot, user, app-level, config and refresh tokens.
func matchSlack(b []byte, i int) bool {
	if i+4 >= len(b) || b[i+4] != '-' {
		return false
	}
	switch b[i+3] {
	case 'a', 'b', 'p', 'o', 's', 'r', 'e':
	default:
		return false
	}
	return runLen(b, i+5, tAlnumDash) >= 16
}

// SG.<16+>.<16+>: SendGrid's two segments, at any lengths.
func matchSendGrid(b []byte, i int) bool {
	j := i + 3
	n := runLen(b, j, tB64URL)
	if n < 16 || j+n >= len(b) || b[j+n] != '.' {
		return false
	}
	return runLen(b, j+n+1, tB64URL) >= 16
}

// The OpenAI marker counts when it sits inside a long token run.
func matchOpenAIMarker(b []byte, i int) bool {
	back := 0
	for k := i - 1; k >= 0 && tAlnumUD[b[k]]; k-- {
		back++
	}
	return back >= 8 && runLen(b, i+8, tAlnumUD) >= 8
}

// AIza + 35 (here 30 to 60): a Google API key standing as its own token.
// "AIza" is four base64 characters, so a long random base64 run (an image,
// an archive upload) holds one followed by 30 more token characters about
// twice per 100 MB; a real key is never glued to the characters before it
// and never runs on for hundreds more.
func matchGoogleKey(b []byte, i int) bool {
	if i > 0 && tAlnumUD[b[i-1]] {
		return false
	}
	n := runLen(b, i+4, tAlnumUD)
	return n >= 30 && n <= 60
}

// SK + 32 hex: Twilio API key sids.
func matchTwilio(b []byte, i int) bool {
	if i > 0 && tAlnum[b[i-1]] {
		return false
	}
	n := runLen(b, i+2, tHex)
	return n == 32 && (i+34 == len(b) || !tAlnum[b[i+34]])
}

// A JWT: base64url header (starts {"), payload and signature segments.
func matchJWT(b []byte, i int) bool {
	n := runLen(b, i, tB64URL)
	if n < 10 || i+n >= len(b) || b[i+n] != '.' {
		return false
	}
	j := i + n + 1
	m := runLen(b, j, tB64URL)
	if m < 10 || j+m >= len(b) || b[j+m] != '.' {
		return false
	}
	return runLen(b, j+m+1, tB64URL) >= 16
}

// "-----BEGIN [WORDS ]PRIVATE KEY" alone, with or without its END line or
// body: a key header leaving is a key leaving.
func matchPEM(b []byte, i int) bool {
	rest := b[i+len("-----BEGIN "):]
	if len(rest) > 64 {
		rest = rest[:64]
	}
	k := bytes.Index(rest, []byte("PRIVATE"))
	if k < 0 || !bytes.HasPrefix(rest[k+7:], []byte(" KEY")) && !bytes.HasPrefix(rest[k+7:], []byte("+KEY")) {
		return false
	}
	for _, c := range rest[:k] {
		if !(c >= 'A' && c <= 'Z' || c == ' ' || c == '+' || c == '2' || c == '5' || c == '1' || c == '9') {
			return false
		}
	}
	return true
}
