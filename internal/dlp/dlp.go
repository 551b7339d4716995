// Package dlp finds secrets leaving a bottle in a request: URL, headers,
// body and host name. It layers, cheapest first: exact matches of the
// bottle's own known secrets in every common encoding, then gitleaks' rules
// (internal/secretscan) on the raw text and on every decoded view
// (percent, base64, hex, JSON escapes, form and multipart fields).
package dlp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

// Rule names, as they appear in block messages and logs.
const (
	RuleKnownSecret = "dlp.known-secret"
	RuleSecret      = "dlp.secret"
	RuleSubdomain   = "dlp.subdomain"
)

// Verdict says why a request must be blocked. It never holds a secret.
type Verdict struct {
	Rule   string
	Reason string
}

// Injected is a credential egress adds for a route host: that exact header
// value (by SHA-256), sent to that host, is not a leak (DESIGN.md §8.4).
type Injected struct {
	Host   string // lower-case
	Header string // canonical header name
	SHA256 [32]byte
}

// Inspector checks requests. It is immutable once built and safe to share.
type Inspector struct {
	scanner  *secretscan.Scanner
	known    []KnownSecret
	set      *knownSet
	injected []Injected
}

// New builds an Inspector. known maps an env var name to its value.
func New(sc *secretscan.Scanner, known map[string]string, injected []Injected) *Inspector {
	in := &Inspector{scanner: sc, injected: injected}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if len(known[n]) >= MinKnownSecretLen {
			in.known = append(in.known, NewKnownSecret(n, known[n]))
		}
	}
	in.set = newKnownSet(in.known)
	return in
}

// KnownCount is how many known secrets are matched.
func (in *Inspector) KnownCount() int { return len(in.known) }

func (in *Inspector) matchKnown(b []byte, where string) *Verdict {
	if i, enc, ok := in.set.find(b); ok {
		return &Verdict{Rule: RuleKnownSecret, Reason: "known secret " + in.known[i].Name + " (" + enc + ") in " + where}
	}
	return nil
}

func findingVerdict(f secretscan.Finding, where string) *Verdict {
	return &Verdict{Rule: RuleSecret, Reason: f.RuleID + " " + f.Redacted + " in " + where}
}

// scanText runs every layer over one piece of text. full selects gitleaks'
// full rule set (short strings) instead of the bulk path (bodies).
func (in *Inspector) scanText(b []byte, where string, full bool) *Verdict {
	layers := Layers(b)
	for _, layer := range layers {
		if v := in.matchKnown(layer, where); v != nil {
			return v
		}
	}
	for _, layer := range layers {
		var fs []secretscan.Finding
		if full {
			fs = in.scanner.ScanBytes(layer)
		} else {
			cands := secretscan.Candidates(layer)
			fs = in.scanner.ScanWindows(layer, cands)
			if len(fs) == 0 {
				if v := checkAssignments(layer, cands); v != nil {
					return v
				}
			}
		}
		if len(fs) > 0 {
			return findingVerdict(fs[0], where)
		}
	}
	return nil
}

// CheckURL scans the path and query of u. Delimiters become line breaks so
// rules that need a terminator after the secret still match.
func (in *Inspector) CheckURL(u *url.URL) *Verdict {
	raw := u.EscapedPath()
	if u.User != nil {
		raw = u.User.String() + "@" + raw
	}
	if u.RawQuery != "" {
		raw += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		raw += "#" + u.Fragment
	}
	if raw == "" || raw == "/" {
		return nil
	}
	return in.scanText([]byte(splitDelims(raw)), "URL", true)
}

// splitDelims puts each URL component on its own line.
func splitDelims(s string) string {
	return strings.NewReplacer("/", "\n", "?", "\n", "&", "\n", "=", "\n", ";", "\n", "#", "\n", "@", "\n", ":", "\n").Replace(s)
}

// CheckHeaders scans every header value except an injected credential sent
// to its own host.
func (in *Inspector) CheckHeaders(host string, h http.Header) *Verdict {
	host = strings.ToLower(host)
	var b bytes.Buffer
	for name, vals := range h {
		for _, v := range vals {
			if in.isInjected(host, name, v) {
				continue
			}
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return in.scanText(b.Bytes(), "header", true)
}

func (in *Inspector) isInjected(host, name, value string) bool {
	if len(in.injected) == 0 {
		return false
	}
	name = http.CanonicalHeaderKey(name)
	var sum [32]byte
	done := false
	for _, c := range in.injected {
		if c.Host != host || c.Header != name {
			continue
		}
		if !done {
			sum, done = sha256.Sum256([]byte(value)), true
		}
		if sum == c.SHA256 {
			return true
		}
	}
	return false
}

// CheckBody scans a whole (already size-capped, uncompressed) body.
func (in *Inspector) CheckBody(contentType string, body []byte) *Verdict {
	if len(body) == 0 {
		return nil
	}
	for _, part := range BodyParts(contentType, body) {
		if v := in.scanText(part, "body", false); v != nil {
			return v
		}
	}
	return nil
}

// ParseInjected converts config entries (hex SHA-256) into Injected values.
func ParseInjected(host, header, sumHex string) (Injected, error) {
	var c Injected
	raw, err := hex.DecodeString(strings.ToLower(sumHex))
	if err != nil || len(raw) != 32 {
		return c, strconv.ErrSyntax
	}
	copy(c.SHA256[:], raw)
	c.Host = strings.ToLower(host)
	c.Header = http.CanonicalHeaderKey(header)
	return c, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
