package pipelock

import (
	"bytes"
	"compress/gzip"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf16"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/secretenc"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

// classCorpus adds, per DLP class, malicious cases in every placement and
// benign look-alikes of that class (enough of them that the 1% gate means
// something). Every secret is generated here, at run time.
func classCorpus(g *secrettest.Gen) []corpusCase {
	var cs []corpusCase
	add := func(c corpusCase) { cs = append(cs, c) }
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	const upd = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	// place puts s in the query, a header, a JSON body and a form body.
	place := func(class, name, s string) {
		add(corpusCase{class: class, name: name + "/query", place: "url", malicious: true, method: "GET", path: "/api?q=" + url.QueryEscape(s) + "&page=1"})
		add(corpusCase{class: class, name: name + "/header", place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Note": {s}}})
		add(corpusCase{class: class, name: name + "/json", place: "body", malicious: true, method: "POST", path: "/v1/notes", ctype: "application/json", body: `{"text":` + jsonQuote(s) + `}`})
		add(corpusCase{class: class, name: name + "/form", place: "body", malicious: true, method: "POST", path: "/submit", ctype: "application/x-www-form-urlencoded", body: url.Values{"comment": {s}}.Encode()})
	}
	benignBody := func(class, name, ctype, body string) {
		add(corpusCase{class: class, name: "benign/" + name, place: "body", method: "POST", path: "/api", ctype: ctype, body: body})
	}
	benignURL := func(class, name, path string) {
		add(corpusCase{class: class, name: "benign/" + name, place: "url", method: "GET", path: path})
	}
	benignHeader := func(class, name string, h http.Header) {
		add(corpusCase{class: class, name: "benign/" + name, place: "header", method: "GET", path: "/", header: h})
	}

	// Credential shapes gitleaks lets through, docs-style examples included
	// (they are credential-shaped: they count as malicious).
	for i := range 3 {
		n := func(s string) string { return fmt.Sprintf("tolerant/%s-%d", s, i) }
		place("credential", n("aws-example"), "AK"+"IA"+g.Str(upd, 9)+"EXAMPLE")
		place("credential", n("aws-stopword"), "AK"+"IA"+"ABCDEFGHIJKLMNOP")
		place("credential", n("ghp-34"), "gh"+"p_"+g.Str(alnum, 34))
		place("credential", n("ghp-35"), "gh"+"p_"+g.Str(alnum, 35))
		place("credential", n("sendgrid-short"), "S"+"G."+g.Str(alnum, 18)+"."+g.Str(alnum, 30))
		place("credential", n("openai-short"), "sk"+"-proj-"+g.Str(alnum, 40))
		place("credential", n("stripe-underscore"), "sk"+"_live_"+g.Str(alnum, 12)+"_"+g.Str(alnum, 12))
		place("credential", n("pem-header"), "-----BEGIN "+"RSA PRIVATE KEY-----")
		place("credential", n("docs-aws"), "AK"+"IAIOSFODNN7"+"EXAMPLE")
	}
	// Credential assignments outside bodies, with short-ish values.
	for i := range 8 {
		v := g.Str(alnum, 17+i%4)
		add(corpusCase{class: "assignment", name: fmt.Sprintf("assign/header-%d", i), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Api-Token": {v}}})
		add(corpusCase{class: "assignment", name: fmt.Sprintf("assign/query-%d", i), place: "url", malicious: true, method: "GET", path: "/login?user=bot&password=" + v})
		add(corpusCase{class: "assignment", name: fmt.Sprintf("assign/cookie-%d", i), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"Cookie": {"theme=dark; session_secret=" + v}}})
		add(corpusCase{class: "assignment", name: fmt.Sprintf("assign/body-%d", i), place: "body", malicious: true, method: "POST", path: "/", ctype: "application/json", body: `{"db_password":"` + v + `"}`})
	}
	// Transforms of the bottle's own secret (issue 15 #9 and the decoders).
	ks := corpusKnown
	for name, body := range knownTransforms(ks) {
		add(corpusCase{class: "transform", name: "transform/" + name, place: "body", malicious: true, method: "POST", path: "/", ctype: "application/octet-stream", body: body})
	}
	add(corpusCase{class: "transform", name: "transform/percent-5-query", place: "url", malicious: true, method: "GET", path: "/q?d=" + percentN(ks, 5)})
	add(corpusCase{class: "transform", name: "transform/iis-u-query", place: "url", malicious: true, method: "GET", path: "/q?d=" + iisU(ks)})
	add(corpusCase{class: "transform", name: "transform/reversed-header", place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-R": {secretenc.Reverse(ks)}}})
	add(corpusCase{class: "transform", name: "transform/identity-gzip", place: "body", malicious: true, method: "POST", path: "/", body: gzipS("v=" + ks), header: http.Header{"Content-Encoding": {"identity", "gzip"}}})
	add(corpusCase{class: "transform", name: "transform/method", place: "url", malicious: true, method: ks, path: "/"})
	// Pieces of the known secret in several parts of one request.
	h1, h2 := ks[:len(ks)/2], ks[len(ks)/2:]
	add(corpusCase{class: "fragment", name: "fragment/two-headers", place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-A": {h1}, "X-B": {h2}}})
	add(corpusCase{class: "fragment", name: "fragment/two-path-segments", place: "url", malicious: true, method: "GET", path: "/a/" + h2 + "/b/" + h1})
	mb, mct := multipartBody(map[string]string{"a": h1, "b": h2}, "x.txt", "nothing")
	add(corpusCase{class: "fragment", name: "fragment/two-multipart-parts", place: "body", malicious: true, method: "POST", path: "/", ctype: mct, body: mb})
	// Pieces over several requests to one host: the last one is blocked.
	for i, cut := range [][]int{{0, 8, 16, 24, len(ks)}, {0, 9, 18, len(ks)}} {
		var before []corpusCase
		for k := 0; k+2 < len(cut); k++ {
			before = append(before, corpusCase{method: "GET", path: fmt.Sprintf("/t?p%d=%s", k, url.QueryEscape(ks[cut[k]:cut[k+1]]))})
		}
		last := ks[cut[len(cut)-2]:cut[len(cut)-1]]
		add(corpusCase{class: "fragment", name: fmt.Sprintf("fragment/over-requests-%d", i), place: "url", malicious: true, method: "GET", path: "/t?last=" + url.QueryEscape(last), before: before})
	}
	add(corpusCase{class: "fragment", name: "fragment/one-piece-base64", place: "body", malicious: true, method: "POST", path: "/", ctype: "text/plain", body: "x=" + base64.StdEncoding.EncodeToString([]byte(ks[3:17]))})
	// Financial data.
	for i := range 6 {
		place("financial", fmt.Sprintf("card-compact-%d", i), g.Card(""))
		place("financial", fmt.Sprintf("card-grouped-%d", i), g.Card([]string{" ", "-"}[i%2]))
		place("financial", fmt.Sprintf("iban-%d", i), g.IBAN(i%2 == 0))
	}
	// Crypto wallets.
	words := dlp.BIP39Words()
	for i := range 4 {
		place("crypto", fmt.Sprintf("btc-base58-%d", i), g.BitcoinAddress())
		place("crypto", fmt.Sprintf("btc-bech32-%d", i), g.Bech32Address())
		place("crypto", fmt.Sprintf("wif-%d", i), g.WIF())
		place("crypto", fmt.Sprintf("bip39-12-%d", i), g.BIP39(words, 12))
		place("crypto", fmt.Sprintf("bip39-24-%d", i), g.BIP39(words, 24))
	}
	// Bulk personal data.
	for i := range 6 {
		var rows, phones []string
		for range 12 + i {
			rows = append(rows, fmt.Sprintf("%s,%s", g.Str("abcdefghij", 6), g.Email()))
			phones = append(phones, g.Phone())
		}
		add(corpusCase{class: "pii", name: fmt.Sprintf("pii/emails-csv-%d", i), place: "body", malicious: true, method: "POST", path: "/import", ctype: "text/csv", body: "name,email\n" + strings.Join(rows, "\n")})
		add(corpusCase{class: "pii", name: fmt.Sprintf("pii/phones-json-%d", i), place: "body", malicious: true, method: "POST", path: "/import", ctype: "application/json", body: `{"phones":["` + strings.Join(phones, `","`) + `"]}`})
	}

	// Host names under a wildcard allowlist entry (*.wild.test): admitted,
	// but the name itself is inspected.
	for i := range 10 {
		s := secrettest.Kinds()[1+i%7].Make(g)
		add(corpusCase{class: "host", name: fmt.Sprintf("host/wildcard-hex-%d", i), place: "host", malicious: true, host: hex.EncodeToString([]byte(s))[:min(50, 2*len(s))] + ".wild.test"})
		b32 := strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString([]byte(s)), "="))
		add(corpusCase{class: "host", name: fmt.Sprintf("host/wildcard-base32-%d", i), place: "host", malicious: true, host: b32[:min(40, len(b32))] + ".x.wild.test"})
	}
	add(corpusCase{class: "host", name: "host/wildcard-known", place: "host", malicious: true, host: strings.ToLower(ks) + ".wild.test"})
	for i, h := range []string{"raw", "objects", "avatars", "user-images", "camo", "media", "codeload", "gist", "cdn", "static",
		"eu-west-1", "prod-bucket-2026", "assets-v2", "docs", "api", "storage", "d1a2b3c4d5e6f7", "x", "mirror-3", "download"} {
		add(corpusCase{class: "host", name: fmt.Sprintf("benign-host/wildcard-%d", i), place: "host", host: h + ".wild.test"})
	}

	// Data in URLs once it is encrypted or compressed: long random tokens
	// in query values and path segments (dlp.url-blob), and connection
	// strings with real passwords (dlp.url-credentials).
	for i := range 20 {
		blob := g.Bytes(48 + i*4)
		add(corpusCase{class: "blob", name: fmt.Sprintf("blob/query-base64url-%d", i), place: "url", malicious: true, method: "GET", path: "/collect?v=1&d=" + base64.RawURLEncoding.EncodeToString(blob)})
		add(corpusCase{class: "blob", name: fmt.Sprintf("blob/query-base64-%d", i), place: "url", malicious: true, method: "GET", path: "/c?" + url.Values{"payload": {base64.StdEncoding.EncodeToString(blob)}}.Encode()})
		add(corpusCase{class: "blob", name: fmt.Sprintf("blob/path-base64url-%d", i), place: "url", malicious: true, method: "GET", path: "/pixel/" + base64.RawURLEncoding.EncodeToString(blob) + ".gif"})
		add(corpusCase{class: "blob", name: fmt.Sprintf("blob/path-base32-%d", i), place: "url", malicious: true, method: "GET", path: "/u/" + strings.TrimRight(base32.StdEncoding.EncodeToString(blob), "=")})
		pw := g.Str(alnum+"!#%^", 16+i%16) // generated: 16-31 characters
		shape := nth(i, "postgres://app:%s@db.internal:5432/prod", "mongodb+srv://svc:%s@cluster0.example.mongodb.net/app", "redis://default:%s@cache:6379/0", "amqp://worker:%s@mq.internal:5672/", "mysql://root:%s@10.0.0.5/shop")
		conn := fmt.Sprintf(shape, url.PathEscape(pw))
		add(corpusCase{class: "url-credential", name: fmt.Sprintf("url-credential/json-%d", i), place: "body", malicious: true, method: "POST", path: "/v1/notes", ctype: "application/json", body: `{"text":"DATABASE_URL=` + conn + `"}`})
		add(corpusCase{class: "url-credential", name: fmt.Sprintf("url-credential/query-%d", i), place: "url", malicious: true, method: "GET", path: "/s?q=" + url.QueryEscape(conn)})
		add(corpusCase{class: "url-credential", name: fmt.Sprintf("url-credential/header-%d", i), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Upstream": {conn}}})
	}
	// GitHub's release-download redirect carries a JWT for the storage
	// host (dlp.jwt spares a token sent to its own audience); the same
	// ticket sent anywhere else is a credential leaving.
	for i := range 10 {
		claims := fmt.Sprintf(`{"iss":"github.com","aud":"localhost","key":"key1","exp":%d,"nbf":%d,"path":"releaseassetproduction.blob.core.windows.net"}`, 1771771401+i, 1771771101+i)
		ticket := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + "." + g.Str(alnum+"-_", 43)
		benignURL("credential", fmt.Sprintf("release-redirect-jwt-%d", i), "/github-production-release-asset/124157517/"+g.UUID()+"?sp=r&sv=2018-11-09&sr=b&spr=https&sig="+url.QueryEscape(base64.StdEncoding.EncodeToString(g.Bytes(32)))+"&jwt="+ticket+"&response-content-type=application%2Foctet-stream")
		add(corpusCase{class: "credential", name: fmt.Sprintf("jwt/ticket-in-a-header-%d", i), place: "header", malicious: true, method: "GET", path: "/", header: http.Header{"X-Ticket": {ticket}}})
	}
	for i := range 20 {
		benignURL("blob", fmt.Sprintf("cloudfront-signed-%d", i), "/video.mp4?Expires=1764547200&Signature="+base64.StdEncoding.EncodeToString(g.Bytes(128))+"&Key-Pair-Id=K2JCJMDEHXQW5F")
		benignURL("blob", fmt.Sprintf("s3-presigned-%d", i), "/bucket/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature="+g.HexDigest(64))
		benignURL("blob", fmt.Sprintf("json-cursor-%d", i), "/v1/events?cursor="+base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"after":"2026-11-%02dT10:00:00Z","id":%d,"direction":"forward","filters":{"type":"push"}}`, 1+i%28, 1000+i))))
		benignURL("blob", fmt.Sprintf("title-slug-%d", i), "/publication/"+fmt.Sprint(221313676+i)+"_Linear_Time_Suffix_Array_Construction_Using_D-Critical_Substrings_and_Induced_Sorting")
		benignURL("blob", fmt.Sprintf("digest-path-%d", i), "/v2/library/golang/blobs/sha256:"+g.HexDigest(64))
		benignURL("blob", fmt.Sprintf("ipfs-cid-%d", i), "/ipfs/bafybei"+g.Str("abcdefghijklmnopqrstuvwxyz234567", 52))
		benignURL("blob", fmt.Sprintf("click-ids-%d", i), "/landing?gclid="+g.Str(alnum+"_-", 90)+"&msclkid="+g.HexDigest(32)+"&_gl=1*"+g.Str(alnum, 20))
		benignURL("blob", fmt.Sprintf("short-tokens-%d", i), "/oauth/callback?code="+g.Str(alnum, 40)+"&state="+g.Str(alnum+"-_", 43))
		benignBody("url-credential", fmt.Sprintf("docs-connection-strings-%d", i), "text/markdown", nth(i,
			"Set `DATABASE_URL=postgres://user:password@localhost:5432/mydb` in your .env.",
			"Connect with `mongodb://<username>:<password>@cluster0.mongodb.net/test`.",
			"The default broker URL is amqp://guest:guest@localhost:5672//.",
			"export REDIS_URL=redis://:${REDIS_PASSWORD}@localhost:6379/0",
			"Use mysql://root:changeme@127.0.0.1:3306/app for local development.",
		))
		benignBody("url-credential", fmt.Sprintf("dev-compose-%d", i), "application/yaml", "services:\n  app:\n    environment:\n      DATABASE_URL: "+nth(i, "postgres://app:devpass123@db:5432/app", "mysql://shop:shop2024@mysql/shop", "redis://:localdev99@redis:6379", "amqp://app:rabbit123@mq:5672/")+"\n")
		benignBody("url-credential", fmt.Sprintf("no-password-%d", i), "application/json", `{"remote":"ssh://git@github.com/org/repo.git","mirror":"https://user@example.com/r.git","db":"postgres://localhost/app"}`)
	}

	// Benign look-alikes, per class.
	for i := range 40 {
		benignURL("credential", fmt.Sprintf("tracking-url-%d", i), "/landing?utm_source=newsletter&utm_medium=email&utm_campaign=fall_2026&gclid="+g.Str(alnum+"_-", 90)+"&fbclid="+g.Str(alnum+"_-", 60))
		benignBody("credential", fmt.Sprintf("minified-js-%d", i), "application/javascript", minifiedJS(g))
		benignBody("credential", fmt.Sprintf("lockfile-%d", i), "application/json", `{"name":"app","lockfileVersion":3,"packages":{"node_modules/`+g.Str("abcdefghij", 8)+`":{"version":"1.`+fmt.Sprint(i)+`.0","resolved":"https://registry.npmjs.org/x/-/x-1.0.0.tgz","integrity":"sha512-`+base64.StdEncoding.EncodeToString(g.Bytes(64))+`"}}}`)
		benignHeader("credential", fmt.Sprintf("etag-digest-%d", i), http.Header{"If-None-Match": {`"` + g.HexDigest(40) + `"`}, "X-Request-Id": {g.UUID()}})
		benignBody("credential", fmt.Sprintf("image-%d", i), "application/json", `{"image":"data:image/png;base64,`+base64.StdEncoding.EncodeToString(append([]byte("\x89PNG\r\n\x1a\n"), g.Bytes(2000)...))+`"}`)
		benignBody("credential", fmt.Sprintf("docs-prefixes-%d", i), "text/markdown", "GitHub tokens start with ghp_, gho_ or github_pat_; AWS key ids with AKIA; Stripe keys with sk_live_. Never paste one here.")
	}
	for i := range 40 {
		benignURL("assignment", fmt.Sprintf("page-token-%d", i), "/v1/items?pageToken="+g.Str(alnum, 40)+"&maxResults=50")
		benignHeader("assignment", fmt.Sprintf("csrf-%d", i), http.Header{"X-Csrf-Token": {g.Str(alnum, 32)}, "Cookie": {"csrftoken=" + g.Str(alnum, 32) + "; theme=dark"}})
		benignBody("assignment", fmt.Sprintf("oauth-meta-%d", i), "application/json", `{"token_type":"Bearer","expires_in":3600,"auth_method":"client_secret_basic","password_policy":"MinLength12RequireUpper","secret_name":"prod-payments-webhook-v`+fmt.Sprint(i)+`"}`)
		benignBody("assignment", fmt.Sprintf("identifiers-%d", i), "text/plain", fmt.Sprintf("accessLevel=ReadOnlyCollaborator\ntokenCount=%d\nauthorName=OpsBotService\nsecretRef=projects/%d/secrets/db-password/versions/latest\n", i*7, 1000+i))
	}
	for i := range 30 {
		benignBody("fragment", fmt.Sprintf("prose-%d", i), "text/plain", "The orchid by the lantern glowed; out on the tundra a beacon blinked "+fmt.Sprint(5521+i)+" times.")
		// The secret's words, each under 8 characters (shorter than any
		// piece counted), even after pieces of it went to this host.
		benignURL("fragment", fmt.Sprintf("short-pieces-%d", i), "/q?a=Orchid&b=Lantern&c="+fmt.Sprint(5500+i)+"&d=Tundra&e=Beacon")
		benignHeader("known", fmt.Sprintf("near-miss-%d", i), http.Header{"X-Note": {"orchid lantern " + fmt.Sprint(1000+i) + " tundra beacon"}})
		benignBody("known", fmt.Sprintf("other-secret-shape-%d", i), "text/plain", "Tulip-Candle-"+fmt.Sprint(4400+i)+"-Steppe-Signal")
		benignBody("transform", fmt.Sprintf("gzip-clean-%d", i), "application/octet-stream", gzipS(`{"event":"build","ok":true,"n":`+fmt.Sprint(i)+`}`))
		benignBody("transform", fmt.Sprintf("utf16-clean-%d", i), "application/octet-stream", utf16le("hello from a windows tool, run "+fmt.Sprint(i)))
		benignURL("transform", fmt.Sprintf("percent-deep-%d", i), "/q?next=%252Fdocs%252Fguide%253Fpage%253D"+fmt.Sprint(i))
	}
	for i := range 40 {
		benignBody("financial", fmt.Sprintf("orders-%d", i), "application/json", fmt.Sprintf(`{"order":"ORD-%d-%07d","tracking":"1Z%s","total":"%d.%02d","ts":%d,"phone_ext":"%s"}`,
			2026, g.IntN(1e7), g.Str("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16), g.IntN(1000), g.IntN(100), 1764000000000+g.IntN(1e9), g.Str("0123456789", 4)))
		benignBody("financial", fmt.Sprintf("numbers-%d", i), "text/csv", fmt.Sprintf("id,value\n%s,%s\n%s,3.%s\n", g.LuhnInvalid(), "9"+g.Str("0123456789", 15), g.Str("0123456789", 12), g.Str("0123456789", 15)))
		benignURL("financial", fmt.Sprintf("isbn-%d", i), "/books?isbn=978"+g.Str("0123456789", 10)+"&sku=DE"+g.Str("0123456789", 6))
	}
	for i := range 40 {
		benignBody("crypto", fmt.Sprintf("prose-%d", i), "text/plain", "Please review the change, then merge it into main after the build passes and the team agrees on the release notes for version "+fmt.Sprint(i))
		benignBody("crypto", fmt.Sprintf("eleven-words-%d", i), "text/plain", g.WordsFrom(words, 11))
		benignURL("crypto", fmt.Sprintf("ids-%d", i), "/runs/"+g.Str("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", 22)+"?commit="+g.HexDigest(40))
	}
	for i := range 40 {
		var authors []string
		for range 5 {
			authors = append(authors, g.Email())
		}
		benignBody("pii", fmt.Sprintf("commit-log-%d", i), "text/plain", "Co-authored-by: "+strings.Join(authors, "\nCo-authored-by: "))
		benignBody("pii", fmt.Sprintf("noreply-bulk-%d", i), "text/plain", strings.Repeat(fmt.Sprintf("%d+bot@users.noreply.github.com\n", i), 20)+"team@example.com")
		benignBody("pii", fmt.Sprintf("one-phone-%d", i), "application/json", `{"support":"`+g.Phone()+`","hours":"9-17","ids":[`+fmt.Sprintf("%d,%d,%d", g.IntN(1e9), g.IntN(1e9), g.IntN(1e9))+`]}`)
	}
	return cs
}

// knownTransforms: the whole secret under each transform, as a body.
func knownTransforms(v string) map[string]string {
	var ent, jsonU, qp strings.Builder
	for _, r := range v {
		fmt.Fprintf(&ent, "&#%d;", r)
		fmt.Fprintf(&jsonU, `\u%04x`, r)
	}
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&qp, "=%02X", v[i])
	}
	hexSep := func(sep string) string {
		parts := make([]string, len(v))
		for i := 0; i < len(v); i++ {
			parts[i] = fmt.Sprintf("%02x", v[i])
		}
		return strings.Join(parts, sep)
	}
	return map[string]string{
		"utf16le":          utf16le("note: " + v),
		"reversed":         secretenc.Reverse(v),
		"rot13":            secretenc.ROT13(v),
		"upper":            strings.ToUpper(v),
		"zero-width":       strings.Join(strings.Split(v, ""), "\u200b"),
		"html-entities":    ent.String(),
		"json-u":           jsonU.String(),
		"quoted-printable": qp.String(),
		"percent-5":        percentN(v, 5),
		"iis-u":            iisU(v),
		"hex-colon":        hexSep(":"),
		"hex-space":        hexSep(" "),
		"base32":           base32.StdEncoding.EncodeToString([]byte(v)),
		"gzip-no-header":   gzipS("v=" + v),
		"b64-of-gzip":      base64.StdEncoding.EncodeToString([]byte(gzipS(v))),
		"hex-after-binary": hex.EncodeToString(append([]byte{0, 0xff, 0x10, 0x80, 1, 2, 3, 4}, v...)),
	}
}

func percentN(s string, depth int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	out := b.String()
	for range depth - 1 {
		out = strings.ReplaceAll(out, "%", "%25")
	}
	return out
}

func iisU(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, "%%u%04x", r)
	}
	return b.String()
}

func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func gzipS(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.String()
}

// minifiedJS is a bundle-like line: short identifiers, hashes, base64
// source-map comment.
func minifiedJS(g *secrettest.Gen) string {
	var b strings.Builder
	for range 30 {
		fmt.Fprintf(&b, "var %s=function(%s,%s){return %s[%s]||(%s[%s]=%q)};", g.Str("abcdefghij", 2), g.Str("ab", 1), g.Str("cd", 1), g.Str("ab", 1), g.Str("cd", 1), g.Str("ab", 1), g.Str("cd", 1), g.HexDigest(8))
	}
	b.WriteString("\n//# sourceMappingURL=data:application/json;base64," + base64.StdEncoding.EncodeToString([]byte(`{"version":3,"sources":["src/app.ts"],"mappings":"AAAA,SAAS,GAAG"}`)))
	return b.String()
}

// nth is the i-th of xs, cycling.
func nth(i int, xs ...string) string { return xs[i%len(xs)] }
