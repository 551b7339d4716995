package secretscan_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

func scanner(t testing.TB) *secretscan.Scanner {
	t.Helper()
	s, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hasRule(fs []secretscan.Finding, id string) bool {
	for _, f := range fs {
		if f.RuleID == id {
			return true
		}
	}
	return false
}

// Every generated provider secret is found by its own rule, in plain text,
// and the finding never carries the secret.
func TestKindsFound(t *testing.T) {
	s := scanner(t)
	g := secrettest.New(1)
	for _, k := range secrettest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			sec := k.Make(g)
			text := fmt.Sprintf("config:\n  token = \"%s\"\n", sec)
			fs := s.ScanString(text)
			if !hasRule(fs, k.RuleID) {
				t.Fatalf("rule %s did not fire on %s; findings %v", k.RuleID, k.Name, fs)
			}
			for _, f := range fs {
				if len(sec) > 8 && strings.Contains(f.Redacted, sec[4:]) {
					t.Fatalf("finding leaks the secret: %q", f.Redacted)
				}
				if len([]rune(f.Redacted)) > 5 {
					t.Fatalf("redacted form too long: %q", f.Redacted)
				}
			}
		})
	}
}

func TestBase64WrappedFound(t *testing.T) {
	s := scanner(t)
	sec := secrettest.Kinds()[1].Make(secrettest.New(2)) // github-pat
	wrapped := "data: " + base64.StdEncoding.EncodeToString([]byte("token "+sec+"\n")) + "\n"
	if fs := s.ScanString(wrapped); !hasRule(fs, "github-pat") {
		t.Fatalf("base64-wrapped token missed: %v", fs)
	}
	// The bulk path leaves decoding to its caller: the decoded text is found.
	dec, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(wrapped, "data: ")))
	if fs := s.ScanBulk(string(dec)); !hasRule(fs, "github-pat") {
		t.Fatalf("bulk: decoded token missed: %v", fs)
	}
}

func TestBenignClean(t *testing.T) {
	s := scanner(t)
	g := secrettest.New(3)
	cases := map[string]string{
		"uuid":    "request id " + g.UUID(),
		"sha256":  "sha256:" + g.HexDigest(64),
		"prose":   "The quick brown fox jumps over the lazy dog.\nNothing to see here.",
		"json":    `{"name":"demo","version":"1.2.3","dependencies":{"left-pad":"^1.3.0"}}`,
		"gitsha":  "commit " + g.HexDigest(40),
		"url":     "https://example.com/api/v1/items?page=2&per_page=50&sort=created",
		"example": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
	}
	for name, in := range cases {
		if fs := s.ScanString(in); len(fs) != 0 {
			t.Errorf("%s: unexpected findings %v", name, fs)
		}
	}
}

// A secret on a chunk boundary is found once, with its line.
func TestChunkBoundary(t *testing.T) {
	s := scanner(t)
	sec := secrettest.Kinds()[0].Make(secrettest.New(4)) // aws
	line := strings.Repeat("x", 99) + "\n"
	var b strings.Builder
	for b.Len() < secretscan.ChunkSize-10 {
		b.WriteString(line)
	}
	lines := strings.Count(b.String(), "\n")
	b.WriteString("key " + sec + " end\n")
	for b.Len() < 3*secretscan.ChunkSize {
		b.WriteString(line)
	}
	for _, fn := range []func(string) []secretscan.Finding{s.ScanString, s.ScanBulk} {
		fs := fn(b.String())
		n := 0
		for _, f := range fs {
			if f.RuleID == "aws-access-token" {
				n++
				if f.Line != lines+1 {
					t.Errorf("line = %d, want %d", f.Line, lines+1)
				}
			}
		}
		if n != 1 {
			t.Fatalf("found %d times, want once: %v", n, fs)
		}
	}
}

func TestBulkSkipsGeneric(t *testing.T) {
	s := scanner(t)
	in := `api_key = "Zx8Qv2Lr7Tn4Wk9Pm3Hs6Jd1"`
	if fs := s.ScanString(in); !hasRule(fs, secretscan.GenericRuleID) {
		t.Fatalf("full scan should fire %s: %v", secretscan.GenericRuleID, fs)
	}
	if fs := s.ScanBulk(in); hasRule(fs, secretscan.GenericRuleID) {
		t.Fatalf("bulk scan ran %s: %v", secretscan.GenericRuleID, fs)
	}
}

func TestConcurrent(t *testing.T) {
	s := scanner(t)
	g := secrettest.New(5)
	sec := secrettest.Kinds()[4].Make(g)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if fs := s.ScanString(fmt.Sprintf("w%d %s\n", i, sec)); !hasRule(fs, "gitlab-pat") {
					errs <- fmt.Sprint(fs)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal("concurrent scan missed:", e)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{"": "…", "abc": "…", "abcdefgh": "ab…", "abcdefghijklmnopqrstuvwxyz": "abcd…"} {
		if got := secretscan.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func cleanJSON(n int) []byte {
	g := secrettest.New(9)
	var b strings.Builder
	b.WriteString(`{"messages":[`)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":"%s","role":"user","content":"Please refactor function number %d in the parser so that it returns errors instead of panicking.","sha":"%s"},`, g.UUID(), i, g.HexDigest(40))
	}
	return []byte(b.String()[:n])
}

func BenchmarkScanBulk64KiBJSON(b *testing.B) {
	s := scanner(b)
	body := string(cleanJSON(64 << 10))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		s.ScanBulk(body)
	}
}

func BenchmarkScanFull64KiBJSON(b *testing.B) {
	s := scanner(b)
	body := string(cleanJSON(64 << 10))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		s.ScanString(body)
	}
}

func BenchmarkScanFull1KiBHeaders(b *testing.B) {
	s := scanner(b)
	in := strings.Repeat("User-Agent: claude-cli/1.0 (external, cli)\nAccept: application/json\n", 20)[:1024]
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s.ScanString(in)
	}
}

func TestScanBodyFindsKinds(t *testing.T) {
	s := scanner(t)
	g := secrettest.New(11)
	pad := string(cleanJSON(20 << 10))
	for _, k := range secrettest.Kinds() {
		sec := k.Make(g)
		body := pad[:len(pad)/2] + `,"note":"` + strings.ReplaceAll(sec, "\n", `\n`) + `"` + pad[len(pad)/2:]
		if k.Name == "private-key" {
			body = pad[:100] + "\n" + sec + "\n" + pad[100:]
		}
		if fs := s.ScanBody([]byte(body)); !hasRule(fs, k.RuleID) {
			t.Errorf("%s: ScanBody missed rule %s: %v", k.Name, k.RuleID, fs)
		}
	}
}

func TestCandidatesSkipCleanJSON(t *testing.T) {
	if c := secretscan.Candidates(cleanJSON(64 << 10)); len(c) != 0 {
		t.Fatalf("clean JSON produced %d candidate windows, first %v", len(c), c[0])
	}
	g := secrettest.New(12)
	in := []byte("x " + secrettest.Kinds()[0].Make(g) + " y")
	if c := secretscan.Candidates(in); len(c) != 1 {
		t.Fatalf("aws key produced %d windows, want 1", len(c))
	}
}

func BenchmarkScanBody64KiBJSON(b *testing.B) {
	s := scanner(b)
	body := cleanJSON(64 << 10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		s.ScanBody(body)
	}
}

func TestGenericSkipsUUID(t *testing.T) {
	s := scanner(t)
	g := secrettest.New(13)
	if fs := s.ScanString("Idempotency-Key: " + g.UUID() + "\n"); len(fs) != 0 {
		t.Fatalf("UUID idempotency key flagged: %v", fs)
	}
	if fs := s.ScanString(`api_key = "Zx8Qv2Lr7Tn4Wk9Pm3Hs6Jd1"`); !hasRule(fs, secretscan.GenericRuleID) {
		t.Fatal("generic rule lost on a real-looking key")
	}
}

func TestCandidatesSkipDigestsWithPunctuation(t *testing.T) {
	g := secrettest.New(14)
	var b strings.Builder
	for range 200 {
		b.WriteString("see commit " + g.HexDigest(40) + ". and " + g.HexDigest(64) + "/" + g.HexDigest(64) + " ok\n")
	}
	if c := secretscan.Candidates([]byte(b.String())); len(c) != 0 {
		t.Fatalf("%d windows for digests with punctuation", len(c))
	}
}
