package egress

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"io"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func TestIsGitPush(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://h/o/r.git/info/refs?service=git-receive-pack": true,
		"https://h/o/r.git/info/refs?service=GIT-RECEIVE-PACK": true,
		"https://h/o/r.git/git-receive-pack":                   true,
		"https://h/o/r.git/Git-Receive-Pack":                   true,
		"https://h/o/r.git/info/refs?service=git-upload-pack":  false,
		"https://h/o/r.git/git-upload-pack":                    false,
		"https://h/docs/git-receive-pack-howto":                false,
	} {
		u, _ := url.Parse(raw)
		if got := isGitPush(u); got != want {
			t.Errorf("isGitPush(%s) = %v; want %v", raw, got, want)
		}
	}
}

func TestBuildTableErrors(t *testing.T) {
	auth := &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_3"}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset slot", nil, "routes[0].auth.token_slot: EGRESS_TOKEN_3 is empty or not set"},
		{"token with newline", map[string]string{"EGRESS_TOKEN_3": "abc\r\nX-Evil: 1"}, "space or control character"},
	}
	for _, tc := range tests {
		_, err := buildTable(&sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "a.test", Auth: auth}}},
			func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// redactAll streams src through a redactReader, reading it in the given
// pieces, and returns what the agent would see.
func redactAll(t testing.TB, red *redactor, src []byte, pieces []int, size int64) []byte {
	t.Helper()
	rc := io.NopCloser(&pieceReader{data: src, pieces: pieces})
	out, err := io.ReadAll(newRedactReader(red, rc, size, nil))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pieceReader returns data in the given piece sizes (cycling).
type pieceReader struct {
	data   []byte
	pieces []int
	i      int
}

func (p *pieceReader) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := len(p.data)
	if len(p.pieces) > 0 {
		n = max(1, p.pieces[p.i%len(p.pieces)])
		p.i++
	}
	n = min(n, len(b), len(p.data))
	copy(b, p.data[:n])
	p.data = p.data[n:]
	return n, nil
}

func TestRedactReader(t *testing.T) {
	red := newRedactor([]string{"SECRETTOKEN", "abcabd"})
	tests := []struct{ in, want string }{
		{"x SECRETTOKEN y", "x *********** y"},
		{"SECRETTOKENSECRETTOKEN", "**********************"},
		{"SECRETTOKE", "SECRETTOKE"}, // a prefix at EOF is not a token
		{"abcabcabd", "abc******"},   // overlapping partial match
		{"data: x\n\n", "data: x\n\n"},
		{"", ""},
	}
	for _, tc := range tests {
		for _, pieces := range [][]int{nil, {1}, {2}, {3, 5}, {7}} {
			for _, size := range []int64{-1, int64(len(tc.in))} {
				if got := string(redactAll(t, red, []byte(tc.in), pieces, size)); got != tc.want {
					t.Errorf("redact(%q) in pieces %v, size %d = %q; want %q", tc.in, pieces, size, got, tc.want)
				}
			}
		}
	}
	// Large reads (the in-place path) with tokens across every kind of
	// boundary: pieces of odd sizes under a 32 KiB read buffer.
	big := strings.Repeat("ab SECRETTOKEN cd abcab", 3000)
	bigWant := strings.ReplaceAll(big, "SECRETTOKEN", "***********")
	for _, pieces := range [][]int{{4099}, {7, 8191}, {32 << 10}, {5}} {
		var out bytes.Buffer
		rr := newRedactReader(red, io.NopCloser(&pieceReader{data: []byte(big), pieces: pieces}), -1, nil)
		if _, err := io.CopyBuffer(&out, struct{ io.Reader }{rr}, make([]byte, 32<<10)); err != nil || out.String() != bigWant {
			t.Errorf("32 KiB reads, pieces %v: err %v, equal %v", pieces, err, out.String() == bigWant)
		}
	}
	// The reader also behaves under iotest's adversarial readers.
	src := strings.Repeat("ab SECRETTOKEN cd ", 2000)
	want := strings.ReplaceAll(src, "SECRETTOKEN", "***********")
	for _, wrap := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
		out, err := io.ReadAll(newRedactReader(red, io.NopCloser(wrap(strings.NewReader(src))), int64(len(src)), nil))
		if err != nil || string(out) != want {
			t.Errorf("iotest reader: err %v, equal %v", err, string(out) == want)
		}
	}
}

// TestRedactHoldsOnlyPrefixes: a stream that does not end inside a token
// prefix is passed on in full by each read (SSE latency depends on it).
func TestRedactHoldsOnlyPrefixes(t *testing.T) {
	red := newRedactor([]string{"SECRETTOKEN"})
	for in, hold := range map[string]int{"event\n\n": 0, "xxSECRET": 6, "xxS": 1, "xxSECRETTOKEN": 0, "SECRETTOKEN"[:10]: 10} {
		if got := red.holdLen([]byte(in)); got != hold {
			t.Errorf("holdLen(%q) = %d; want %d", in, got, hold)
		}
	}
	var buf bytes.Buffer
	buf.WriteString("data: 1\n\n")
	pr, pw := io.Pipe()
	r := newRedactReader(red, pr, -1, nil)
	go func() { _, _ = pw.Write(buf.Bytes()) }()
	p := make([]byte, 100)
	n, err := r.Read(p)
	if err != nil || string(p[:n]) != "data: 1\n\n" {
		t.Errorf("first read = %q, %v; want the whole event", p[:n], err)
	}
	pw.Close()
}

// TestTokenForms: the forms of an injected token that an attack run got
// through to the agent (issue 15 hole 2) are masked in a response body,
// wherever they sit in the text.
func TestTokenForms(t *testing.T) {
	tok := "tok-A-0123456789abcdefSECRET"
	tbl, err := buildTable(&sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "a.test", Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}}}},
		func(string) string { return tok })
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + tok
	rev := []rune(tok)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	var le []byte
	for _, c := range auth {
		le = append(le, byte(c), 0)
	}
	b64 := base64.StdEncoding.EncodeToString
	for name, form := range map[string]string{
		"upper":            strings.ToUpper(tok),
		"lower":            strings.ToLower(tok),
		"reversed":         string(rev),
		"rot13":            "gbx-N-0123456789nopqrsFRPERG",
		"base32":           base32.StdEncoding.EncodeToString([]byte(auth)),
		"base32 lower":     strings.ToLower(base32.StdEncoding.EncodeToString([]byte("x" + auth))),
		"base64 of base64": b64([]byte(b64([]byte(auth)))),
		"utf-16le":         string(le),
	} {
		for _, pre := range []string{"", "a", "ab", "abc", "abcd"} {
			body := []byte(pre + form + " tail")
			tbl.redactor.inPlace(body)
			if bytes.Equal(body, []byte(pre+form+" tail")) {
				t.Errorf("%s after %q: not masked: %q", name, pre, body)
			}
		}
	}
}
