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

// Inspector checks requests. It is immutable once built and safe to share
// (the fragment tracker it points to has its own lock).
type Inspector struct {
	scanner  *secretscan.Scanner
	known    []KnownSecret
	set      *knownSet
	frags    *fragmentIndex
	tracker  *fragmentTracker
	injected []Injected
	off      Classes
}

// New builds an Inspector with every class on. known maps an env var name
// to its value.
func New(sc *secretscan.Scanner, known map[string]string, injected []Injected) *Inspector {
	return NewWith(sc, known, injected, Options{})
}

// Options tune an Inspector per bottle.
type Options struct {
	// Off lists the classes the bottle turned off (manifest dlp: key).
	Off Classes
}

// NewWith builds an Inspector with options.
func NewWith(sc *secretscan.Scanner, known map[string]string, injected []Injected, o Options) *Inspector {
	in := &Inspector{scanner: sc, injected: injected, off: o.Off}
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
	in.frags = newFragmentIndex(in.known)
	in.tracker = newFragmentTracker()
	return in
}

// KnownCount is how many known secrets are matched.
func (in *Inspector) KnownCount() int { return len(in.known) }

func findingVerdict(f secretscan.Finding, where string) *Verdict {
	return &Verdict{Rule: RuleSecret, Reason: f.RuleID + " " + f.Redacted + " in " + where}
}

// scan is one request's inspection state: the host it goes to (pieces of
// known secrets are counted per host).
type scan struct {
	host string
	cut  bool // the text may start inside an encoded run (BodyStream)
}

// scanText runs every layer over one piece of text. full selects gitleaks'
// full rule set (short strings) instead of the bulk path (bodies).
func (in *Inspector) scanText(sc *scan, b []byte, where string, full bool) *Verdict {
	text, bin := layersCut(b, sc.cut)
	creds := !in.off.Credentials
	var cred *credRule
	for _, group := range [2][][]byte{text, bin} {
		for _, layer := range group {
			i, enc, ok, cr := in.set.findWithCreds(layer, creds && cred == nil)
			if ok {
				return &Verdict{Rule: RuleKnownSecret, Reason: "known secret " + in.known[i].Name + " (" + enc + ") in " + where}
			}
			if cred == nil {
				cred = cr
			}
		}
	}
	if v := in.matchFragments(sc, text, where); v != nil {
		return v
	}
	if cred != nil {
		return credVerdict(cred, where)
	}
	for _, layer := range text {
		if v := in.checkData(layer, where); v != nil {
			return v
		}
	}
	if in.off.Credentials {
		return nil
	}
	for _, layer := range text {
		var fs []secretscan.Finding
		if full {
			fs = in.scanner.ScanBytes(layer)
		} else {
			fs = in.scanner.ScanBody(layer)
		}
		if len(fs) > 0 {
			return findingVerdict(fs[0], where)
		}
		if v := checkAssignments(layer); v != nil {
			return v
		}
		if v := checkURLCredentials(layer); v != nil {
			v.Reason += " in " + where
			return v
		}
	}
	return nil
}

// CheckURL scans the path and query of u. Delimiters become line breaks so
// rules that need a terminator after the secret still match; the query is
// also scanned with its "key=value" pairs kept, for the assignment rule.
func (in *Inspector) CheckURL(u *url.URL) *Verdict {
	raw := u.EscapedPath()
	if u.User != nil {
		raw = u.User.String() + "@" + raw
	}
	query, payloads := audienceJWTs(u)
	if query != "" {
		raw += "?" + query
	}
	if u.Fragment != "" {
		raw += "#" + u.Fragment
	}
	if raw == "" || raw == "/" {
		return nil
	}
	sc := &scan{host: strings.ToLower(u.Hostname())}
	if v := in.scanText(sc, []byte(splitDelims(raw)), "URL", true); v != nil {
		return v
	}
	for _, p := range payloads { // a JWT for this host: its claims are still read
		if v := in.scanText(sc, p, "URL (a JWT's claims)", true); v != nil {
			return v
		}
	}
	if pw, ok := u.User.Password(); ok && !in.off.Credentials && realPassword([]byte(pw)) {
		return &Verdict{Rule: RuleURLCredentials, Reason: "password in the request URL's userinfo (" + secretscan.Redact(pw) + ")"}
	}
	if !in.off.Blobs {
		if v := checkURLBlob(u); v != nil {
			return v
		}
	}
	if query != "" {
		q := strings.NewReplacer("&", "\n", ";", "\n").Replace(query)
		if v := in.assignmentsIn(sc, []byte(q), "URL query"); v != nil {
			return v
		}
		// A form-encoded query writes spaces as '+': grouped card numbers
		// and seed phrases need them back.
		if strings.Contains(q, "+") {
			for _, l := range Layers([]byte(strings.ReplaceAll(q, "+", " "))) {
				if v := in.checkData(l, "URL query"); v != nil {
					return v
				}
			}
		}
	}
	return nil
}

// splitDelims puts each URL component on its own line.
func splitDelims(s string) string {
	return strings.NewReplacer("/", "\n", "?", "\n", "&", "\n", "=", "\n", ";", "\n", "#", "\n", "@", "\n", ":", "\n").Replace(s)
}

// assignmentsIn runs the assignment rule over every text layer of b.
func (in *Inspector) assignmentsIn(sc *scan, b []byte, where string) *Verdict {
	if in.off.Credentials {
		return nil
	}
	for _, l := range Layers(b) {
		if v := checkAssignments(l); v != nil {
			v.Reason += " in " + where
			return v
		}
	}
	return nil
}

// CheckHeaders scans every header name and value except an injected
// credential sent to its own host. Cookies are split into name=value
// lines so each cookie is an assignment.
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
			if strings.EqualFold(name, "Cookie") {
				v = strings.ReplaceAll(v, "; ", "\n")
			}
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return in.scanText(&scan{host: host}, b.Bytes(), "header", true)
}

// CheckMethod scans the request method: a method that is not a token of
// letters is already refused by the HTTP parser, but a known secret or a
// credential can still be sent as one (curl -X "$SECRET").
func (in *Inspector) CheckMethod(host, method string) *Verdict {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return nil
	}
	return in.scanText(&scan{host: strings.ToLower(host)}, []byte(method), "method", true)
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
	return in.CheckBodyTo("", contentType, body)
}

// CheckBodyTo is CheckBody for a request to host (pieces of known secrets
// are counted per host).
func (in *Inspector) CheckBodyTo(host, contentType string, body []byte) *Verdict {
	if len(body) == 0 {
		return nil
	}
	return in.checkBody(&scan{host: strings.ToLower(host)}, contentType, body)
}

func (in *Inspector) checkBody(sc *scan, contentType string, body []byte) *Verdict {
	for _, part := range BodyParts(contentType, body) {
		if v := in.scanText(sc, part, "body", false); v != nil {
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
