package dlp

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func testJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"typ":"JWT","alg":"HS256"}`)) + "." + enc([]byte(claims)) + ".vuDSFp6jpQ1qmDYLW_nkeiXlKrUlFSPEsdt3-5INljg"
}

// TestAudienceJWT: GitHub's release-download redirect (a JWT for the
// storage host in ?jwt=) passes; the same token anywhere else, a token
// for another audience, one outside the query, and one whose claims
// carry a secret are still refused.
func TestAudienceJWT(t *testing.T) {
	const assets = "release-assets.githubusercontent.com"
	ticket := testJWT(`{"iss":"github.com","aud":"` + assets + `","key":"key1","exp":1771771401,"nbf":1771771101,"path":"releaseassetproduction.blob.core.windows.net"}`)
	redirect := "https://" + assets + "/github-production-release-asset/124157517/48f797e2-a543-4ffe-aefe-e91c595cba75?sp=r&sv=2018-11-09&sr=b&spr=https&se=2026-02-22T15%3A30%3A41Z&rscd=attachment%3B+filename%3Dtool.tar.gz&rsct=application%2Foctet-stream&skoid=96c2d410-5711-43a1-aedd-ab1947aa7ab0&sktid=398a6654-997b-47e9-b12b-9515b896b4de&skt=2026-02-22T14%3A30%3A16Z&ske=2026-02-22T15%3A30%3A41Z&sks=b&skv=2018-11-09&sig=Sd00Zugy8sP14SbsnnOpJpijscbd57owqUfMBaokzIw%3D&jwt=" + ticket + "&response-content-disposition=attachment%3B%20filename%3Dtool.tar.gz&response-content-type=application%2Foctet-stream"
	known := "Orchid-Lantern-5521-Tundra-Beacon"
	in := NewWith(mustScanner(t), map[string]string{"PIPELOCK_SECRET_0": known}, nil, Options{})
	for _, c := range []struct {
		name, raw, rule string
	}{
		{"release redirect", redirect, ""},
		{"aud as a URL, in a list", "https://api.example.test/v1/x?token=" + testJWT(`{"aud":["https://other.test","https://api.example.test/"],"sub":"u1"}`), ""},
		{"the same ticket to another host", "https://collect.example.test/c?jwt=" + ticket, "dlp.jwt"},
		{"a token for another audience", "https://" + assets + "/x?jwt=" + testJWT(`{"aud":"api.openai.com","sub":"u1"}`), "dlp.jwt"},
		{"no audience", "https://" + assets + "/x?jwt=" + testJWT(`{"sub":"u1","exp":1}`), "dlp.jwt"},
		{"a known secret in the claims", "https://" + assets + "/x?jwt=" + testJWT(`{"aud":"`+assets+`","note":"`+known+`"}`), "dlp.known-secret"},
		{"a known secret packed into the signature", "https://" + assets + "/x?jwt=" + strings.TrimSuffix(testJWT(`{"aud":"`+assets+`"}`), ".vuDSFp6jpQ1qmDYLW_nkeiXlKrUlFSPEsdt3-5INljg") + "." + base64.RawURLEncoding.EncodeToString([]byte(known)), "dlp.known-secret"},
		{"a provider key in the claims", "https://" + assets + "/x?jwt=" + testJWT(`{"aud":"`+assets+`","k":"ghp_`+"Zq3Lk9VbW2xT7mN4cR8pJ1sD6fH0gY5aE2uI"+`"}`), "dlp.github"},
	} {
		u, err := url.Parse(c.raw)
		if err != nil {
			t.Fatal(err)
		}
		rule := ""
		if v := in.CheckURL(u); v != nil {
			rule = v.Rule
		}
		if rule != c.rule {
			t.Errorf("%s: CheckURL rule %q, want %q", c.name, rule, c.rule)
		}
	}
	// Outside the query the exemption does not apply.
	if v := in.CheckHeaders(assets, hdr("Authorization", "Bearer "+ticket)); v == nil {
		t.Errorf("a JWT for the host in a header passed; only query values are spared")
	}
}

// jwtPayloadFor decodes attacker-controlled tokens: no input may panic it,
// and what it accepts names the host.
func FuzzAudienceJWT(f *testing.F) {
	f.Add(testJWT(`{"aud":"h.test"}`), "h.test")
	f.Add(testJWT(`{"aud":["x","https://h.test:8443/p"]}`), "h.test")
	f.Add("eyJ.eyJ.sig", "")
	f.Fuzz(func(t *testing.T, tok, host string) {
		if _, ok := jwtPayloadFor(tok, host); ok && host == "" {
			t.Fatalf("accepted %q for an empty host", tok)
		}
	})
}
