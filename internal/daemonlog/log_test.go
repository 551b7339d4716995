package daemonlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := map[string]string{
		"plain text, spaces and ünïcode": "plain text, spaces and ünïcode",
		"\x1b[31mred":                    `\x1b[31mred`,
		"csi\u009b31m":                   `csi\u{009b}31m`,
		"bidi\u202eevil":                 `bidi\u{202e}evil`,
		"zero\u200bwidth":                `zero\u{200b}width`,
		"bom\ufeff":                      `bom\u{feff}`,
		"nbsp\u00a0x":                    `nbsp\u{00a0}x`,
		"line\u2028sep":                  `line\u{2028}sep`,
		"bad\xffutf8":                    `bad\xffutf8`,
		"tab\tnl\n":                      `tab\x09nl\x0a`,
	}
	for in, want := range tests {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestNewEscapes: what the agent wrote reaches the log line escaped, and
// every line names its daemon.
func TestNewEscapes(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "egress").Info("request", "path", "/\u009b2J\x1b]0;pwned\x07\u202e", KeyErr, "e\u200b")
	line := buf.String()
	if strings.ContainsAny(line, "\x1b\x07\u009b\u202e\u200b") {
		t.Fatalf("raw control or invisible character in the log line: %q", line)
	}
	var m map[string]string
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m[KeyDaemon] != "egress" || m["path"] != `/\u{009b}2J\x1b]0;pwned\x07\u{202e}` || m[KeyErr] != `e\u{200b}` {
		t.Fatalf("log line %v", m)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a", "\x1b[0m", "\u009b", "\u202e", "\xff", "ok ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Escape(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", in, out)
		}
		for _, r := range out {
			if hidden(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", in, out, r)
			}
		}
		if !needsEscape(in) && out != in {
			t.Fatalf("Escape(%q) = %q changed printable text", in, out)
		}
	})
}
