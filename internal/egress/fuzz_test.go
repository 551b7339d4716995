package egress

import (
	"bytes"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func FuzzRouteMatch(f *testing.F) {
	f.Add("api.test", "/repos/org/demo", "API.Test.", "/repos/org/demo/x")
	f.Add("api.test", "/v1/", "api.test", "/v1")
	f.Add("api.test", "/a", "api.test", "/a/../b")
	f.Add("api.test", "/a", "api.test", "/ab")
	f.Add("a-b.test", "/", "a-b.test", "")
	f.Fuzz(func(t *testing.T, routeHost, prefix, reqHost, reqPath string) {
		rs := &sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: routeHost, PathAllowlist: []string{prefix}}}}
		tbl, err := buildTable(rs, func(string) string { return "" })
		if err != nil {
			return // the validator refused it; nothing to match
		}
		rt := tbl.lookup(reqHost, "443", "443")
		wantHost := strings.EqualFold(strings.TrimSuffix(strings.Trim(reqHost, "[]"), "."), routeHost)
		if (rt != nil) != wantHost {
			t.Fatalf("lookup(%q) on route %q = %v; want match=%v", reqHost, routeHost, rt != nil, wantHost)
		}
		if rt == nil {
			return
		}
		allowed := rt.checkPath(reqPath) == ""
		p := reqPath
		if p == "" {
			p = "/"
		}
		dot := false
		for _, seg := range strings.Split(strings.ReplaceAll(p, "\\", "/"), "/") {
			if i := strings.IndexByte(seg, ';'); i >= 0 {
				seg = seg[:i]
			}
			seg = strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")
			dot = dot || seg == "." || seg == ".."
		}
		want := !dot && (p == prefix || strings.HasPrefix(p, strings.TrimSuffix(prefix, "/")+"/"))
		if allowed != want {
			t.Fatalf("checkPath(%q) with prefix %q = %v; want %v", reqPath, prefix, allowed, want)
		}
		if allowed && !strings.HasPrefix(p, prefix) {
			t.Fatalf("allowed %q outside prefix %q", p, prefix)
		}
	})
}

// FuzzRedact: however a body is cut into reads, the output equals the
// one-shot redaction, has the input's length, and holds no token.
func FuzzRedact(f *testing.F) {
	f.Add([]byte("x tok-123456 y tok-123456"), "tok-123456", byte(3))
	f.Add([]byte("aaaaab"), "aab", byte(1))
	f.Add([]byte("abcabcabd"), "abcabd", byte(2))
	f.Fuzz(func(t *testing.T, body []byte, tok string, piece byte) {
		// A token holding the mask byte '*' can match across its own masks,
		// so streaming may mask a little more than one pass; that is safe
		// and such tokens are not real, so the exact comparison skips them.
		if tok == "" || len(tok) > 64 || len(body) > 1<<16 || strings.Contains(tok, "*") {
			return
		}
		red := newRedactor([]string{tok})
		want := bytes.Clone(body)
		red.inPlace(want)
		size := int64(-1)
		if piece%2 == 0 {
			size = int64(len(body)) // a known length picks a small buffer
		}
		got := redactAll(t, red, body, []int{int(piece%17) + 1, int(piece%5) + 1}, size)
		if !bytes.Equal(got, want) {
			t.Fatalf("streamed %q != one-shot %q", got, want)
		}
		if len(got) != len(body) {
			t.Fatalf("length changed: %d → %d", len(body), len(got))
		}
		if bytes.Contains(got, []byte(tok)) {
			t.Fatalf("token %q survives in %q", tok, got)
		}
	})
}

// FuzzRedactOnePass: the one-pass search masks exactly what one
// bytes.Index pass per token masks, for any body and tokens (here cut out
// of the body so they occur, overlap and share prefixes).
func FuzzRedactOnePass(f *testing.F) {
	f.Add([]byte("x tok-123456 y tok-123456 tok-123"), []byte{2, 10, 2, 7, 9, 3})
	f.Add([]byte("aaaaaaaab"), []byte{0, 3, 1, 4, 0, 9})
	f.Add([]byte("abcabcabdabcabd"), []byte{0, 6, 3, 6, 6, 9})
	f.Fuzz(func(t *testing.T, body []byte, cuts []byte) {
		if len(body) > 1<<14 || len(cuts) > 16 {
			return
		}
		var toks []string
		for i := 0; i+1 < len(cuts); i += 2 {
			lo := int(cuts[i]) % (len(body) + 1)
			hi := min(len(body), lo+int(cuts[i+1]))
			toks = append(toks, string(body[lo:hi]))
		}
		red := newRedactor(toks)
		if red.shift == nil {
			return // a token under 3 bytes or holding '*': the plain search is the only one
		}
		got, want := bytes.Clone(body), bytes.Clone(body)
		gc, wc := red.inPlace(got), red.inPlaceEach(want)
		if !bytes.Equal(got, want) || gc != wc {
			t.Fatalf("tokens %q in %q: one pass %q (%v), per token %q (%v)", toks, body, got, gc, want, wc)
		}
	})
}
