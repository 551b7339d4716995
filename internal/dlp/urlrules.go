package dlp

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

// Two rules for what travels in URLs and connection strings.
const (
	// RuleURLCredentials: a password in the userinfo of a URL
	// (postgres://app:<password>@db/...), in a URL or any text of a
	// request: database and broker connection strings are what an agent
	// finds in .env files and configs.
	RuleURLCredentials = "dlp.url-credentials"
	// RuleURLBlob: a long random token in a URL path segment or query
	// value, which is how data rides out in a GET once it is encrypted
	// or compressed and base64'd, and no other rule can read it.
	RuleURLBlob = "dlp.url-blob"
)

// urlPasswordMin: shorter userinfo passwords ("guest", "pass") are docs
// and defaults; randomValue asks for AssignMinLen anyway.
const urlPasswordMin = 8

// placeholderPasswords are what docs and examples write as the password
// of a connection string (compared lower-cased, whole).
var placeholderPasswords = map[string]bool{
	"password": true, "passw0rd": true, "p@ssw0rd": true, "p@ssword": true, "password1": true, "password123": true,
	"changeme": true, "changeit": true, "secret": true, "mysecret": true, "supersecret": true, "example": true,
	"yourpassword": true, "mypassword": true, "your_password": true, "my_password": true, "db_password": true,
	"postgres": true, "root": true, "admin": true, "admin123": true, "guest": true, "test": true, "testpass": true,
	"testpassword": true, "pass1234": true, "12345678": true, "123456789": true, "qwerty123": true, "letmein": true,
	"xxxxxxxx": true, "********": true,
}

// checkURLCredentials finds scheme://user:password@host in b with a
// password that reads as random (randomValue: 14+ characters) and is not
// a placeholder (no ${VAR}, <name>, {{name}}, %s or $VAR).
func checkURLCredentials(b []byte) *Verdict {
	for i := 0; ; {
		k := bytes.Index(b[i:], []byte("://"))
		if k < 0 {
			return nil
		}
		at := i + k + 3
		i = at
		if !schemeBefore(b, at-3) {
			continue
		}
		// userinfo: up to '@', with no space, '/', or second "://".
		end := at
		for end < len(b) && end-at <= 256 && b[end] != '@' && b[end] != '/' && b[end] != ' ' && b[end] != '\n' && b[end] != '\t' && b[end] != '"' && b[end] != '\'' {
			end++
		}
		if end >= len(b) || b[end] != '@' || end+1 >= len(b) || !hostByte(b[end+1]) {
			continue
		}
		colon := bytes.IndexByte(b[at:end], ':')
		if colon < 0 {
			continue
		}
		pw := b[at+colon+1 : end]
		if dec, err := url.PathUnescape(string(pw)); err == nil {
			pw = []byte(dec)
		}
		if realPassword(pw) {
			return &Verdict{Rule: RuleURLCredentials, Reason: "password in a URL's userinfo (" + secretscan.Redact(string(pw)) + ")"}
		}
	}
}

// schemeBefore: b[:i] ends with a URL scheme (a letter, then letters,
// digits, '+', '-', '.').
func schemeBefore(b []byte, i int) bool {
	j := i
	for j > 0 && i-j < 32 && (isWordByte(b[j-1]) && b[j-1] != '_' || b[j-1] == '+' || b[j-1] == '-' || b[j-1] == '.') {
		j--
	}
	return j < i && (b[j]|0x20 >= 'a' && b[j]|0x20 <= 'z')
}

func hostByte(c byte) bool { return isWordByte(c) || c == '[' || c == '-' }

// realPassword: pw reads as a password someone set, not a placeholder.
func realPassword(pw []byte) bool {
	if len(pw) < urlPasswordMin || len(pw) > 128 || placeholderPasswords[strings.ToLower(string(pw))] {
		return false
	}
	// Spelled-out placeholders with punctuation in them, as tests of
	// URL parsers write them ("pa%2Fssword", "passwo^rd", "p@ssword"),
	// and CVS roots (":pserver:anoncvs@host").
	var letters []byte
	for _, c := range bytes.ToLower(pw) {
		if c >= 'a' && c <= 'z' {
			letters = append(letters, c)
		}
	}
	for _, w := range []string{"password", "passwd", "pssword", "pasword", "passwort", "wachtwoord", "motdepasse", "contrase", "senha", "secret", "changeme", "example", "placeholder"} {
		if bytes.Contains(letters, []byte(w)) {
			return false
		}
	}
	if bytes.HasPrefix(pw, []byte("pserver:")) || bytes.HasPrefix(pw, []byte("ext:")) {
		return false
	}
	if bytes.ContainsAny(pw, "${}<>%*") && (bytes.Contains(pw, []byte("${")) || bytes.HasPrefix(pw, []byte("$")) ||
		bytes.HasPrefix(pw, []byte("<")) || bytes.Contains(pw, []byte("{{")) || bytes.Contains(pw, []byte("%s")) || bytes.Count(pw, []byte("*")) >= 3) {
		return false
	}
	// Random-looking, by the assignment rule's test: a prompt carries
	// the files the agent read, and a dev password in a compose file
	// ("devpass123") must not stop every later turn; generated database
	// and broker passwords read as random.
	return randomValue(pw) || randomHex(pw)
}

// randomHex: 20+ hex digits of high entropy, as `openssl rand -hex 16`
// makes; randomValue wants three classes and hex has two.
func randomHex(pw []byte) bool {
	if len(pw) < 20 {
		return false
	}
	for _, c := range pw {
		if !isHex(c) {
			return false
		}
	}
	return entropy(string(pw)) >= 3.5
}

// URL blobs: a token of the base64, base64url or base32 alphabets this
// long is 48 bytes of data or more; ids, slugs and digests are shorter or
// hex. Signing parameters carry long random values by design.
const (
	urlBlobMin     = 64
	urlBlobEntropy = 4.5 // bits per character; random base64 of 64+ chars has about 5.6
)

// signingParams name query parameters whose values are signatures or
// encoded policies the URL's issuer checks (S3, GCS, CloudFront, Azure),
// compared lower-cased as substrings of the name.
var signingParams = []string{"signature", "sig", "policy", "key-pair-id", "credential", "security-token", "integrity"}

// clickIDParams are parameters random by design that the agent hands back
// to whoever issued them: pagination cursors, OAuth round trips, and ad
// and analytics click identifiers set by the page the agent followed;
// compared whole and lower-cased. A value under one of these names is
// this rule's blind spot by name (the credential, known-secret and
// decoding rules still read it).
var clickIDParams = map[string]bool{
	// pagination and OAuth round trips, handed back to the API that
	// issued them (Google APIs' pageToken is base64 of binary protobuf)
	"pagetoken": true, "page_token": true, "nextpagetoken": true, "next_page_token": true, "cursor": true, "next": true,
	"after": true, "before": true, "continuation": true, "continuation-token": true, "continuationtoken": true,
	"marker": true, "resume": true, "synctoken": true, "sync_token": true, "state": true, "code": true,

	"gclid": true, "gbraid": true, "wbraid": true, "dclid": true, "fbclid": true, "msclkid": true, "yclid": true,
	"ttclid": true, "twclid": true, "li_fat_id": true, "igshid": true, "mc_eid": true, "_ga": true, "_gl": true,
	"epik": true, "srsltid": true, "_hsenc": true, "mkt_tok": true,
}

// checkURLBlob looks at every path segment and query value of u.
func checkURLBlob(u *url.URL) *Verdict {
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if v := blobIn(seg, "URL path"); v != nil {
			return v
		}
	}
	for _, kv := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		name, val, _ := strings.Cut(kv, "=")
		lname := strings.ToLower(name)
		skip := false
		for _, s := range signingParams {
			if strings.Contains(lname, s) {
				skip = true
				break
			}
		}
		if skip || clickIDParams[lname] {
			continue
		}
		if v := blobIn(val, "URL query value "+quoteName(name)); v != nil {
			return v
		}
	}
	return nil
}

func quoteName(n string) string {
	if len(n) > 40 {
		n = n[:40]
	}
	return "\"" + n + "\""
}

// blobIn checks the tokens of one percent-encoded URL component.
func blobIn(comp, where string) *Verdict {
	if len(comp) < urlBlobMin {
		return nil
	}
	s, err := url.QueryUnescape(comp)
	if err != nil {
		s = comp
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return !blobByte(r) }) {
		if randomBlob(tok) {
			return &Verdict{Rule: RuleURLBlob, Reason: "random " + itoa(len(tok)) + "-character token in " + where + " (" + secretscan.Redact(tok) + ")"}
		}
	}
	return nil
}

func blobByte(r rune) bool {
	return r < utf8.RuneSelf && (isWordByte(byte(r)) || r == '+' || r == '/' || r == '-' || r == '=')
}

// randomBlob: tok is long, not hex or digits (digests, ids), random by
// its entropy, and not base64 of text (a JSON cursor, an encoded policy:
// what it says the other layers read).
func randomBlob(tok string) bool {
	tok = strings.TrimRight(tok, "=")
	if len(tok) < urlBlobMin {
		return false
	}
	hexOnly := true
	for i := 0; i < len(tok); i++ {
		if !isHex(tok[i]) {
			hexOnly = false
			break
		}
	}
	if hexOnly || entropy(tok) < urlBlobEntropy || slug(tok) {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(tok); err == nil && textLike(d) {
			return false
		}
	}
	return true
}

// slug: most of tok is words of letters between '-' or '_' ("221313676_
// Linear_Time_Suffix_Array_Construction"), as titles in paths are; random
// base64url has few separators and letters mixed with digits between them.
func slug(tok string) bool {
	words := 0
	for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '-' || r == '_' }) {
		if len(part) < 2 {
			continue
		}
		allLetters := true
		for i := 0; i < len(part); i++ {
			if c := part[i] | 0x20; c < 'a' || c > 'z' {
				allLetters = false
				break
			}
		}
		if allLetters {
			words += len(part)
		}
	}
	return words*10 >= len(tok)*6
}
