package manifest

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to both parsers: they must never panic,
// and every error must name the file.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"---\n---\n",
		"---\nbottle: b\nskills: [a]\nmodel: x\n---\nprompt",
		"---\nenv:\n  A: ${B}\n  C: '?q'\ngit:\n  - {name: d, upstream: 'ssh://g@h/o.git', identity_file: k, known_host_key: '" + hostKey + "'}\negress:\n  allowlist: [a.com]\n  routes:\n    - {host: b.com, path_allowlist: [/x], auth: {scheme: Bearer, token_ref: T}}\nsupervise: true\n---\n",
		"---\negress:\n  routes:\n    - {host: b.com, auth: {header: X-Api-Key, token_ref: T}}\n---\n",
		"---\nenv: [\n---\n",
		"\xef\xbb\xbf---\r\na: &x [*x]\r\n---",
		"---\n- 1\n---\n",
		"---\nbottle: {a: b}\n---\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		const file = "fuzz.md"
		if _, err := ParseBottle("b", file, []byte(src)); err != nil && !strings.Contains(err.Error(), file) {
			t.Fatalf("bottle error without file name: %v", err)
		}
		if _, err := ParseAgent("a", file, []byte(src)); err != nil && !strings.Contains(err.Error(), file) {
			t.Fatalf("agent error without file name: %v", err)
		}
	})
}
