package manifest

import (
	"bytes"
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

// FuzzSplitFrontmatter: the offsets SplitFrontmatter gives point at what
// they name in the file as read, and inserting a line at Close moves only
// Close and Body (what approve relies on to add a key).
func FuzzSplitFrontmatter(f *testing.F) {
	for _, s := range []string{"---\na: 1\n---\nbody", "\xef\xbb\xbf---\r\na: 1\r\n...\r\nbody", "---\n---\n", "---\na: 1\n--- \n---", "---\r\n---\r", "---"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, err := SplitFrontmatter("f", data)
		if err != nil {
			return
		}
		if !(0 < fm.Start && fm.Start <= fm.Close && fm.Close <= fm.Body && fm.Body <= len(data)) {
			t.Fatalf("offsets out of order: %+v (len %d)", fm, len(data))
		}
		if !bytes.Equal(fm.YAML, data[fm.Start:fm.Close]) {
			t.Fatalf("YAML is not data[Start:Close]")
		}
		closing := string(bytes.TrimRight(data[fm.Close:fm.Body], "\r\n"))
		if closing != "---" && closing != "..." {
			t.Fatalf("closing line %q", closing)
		}
		ins := []byte("k: v\n")
		edited := append(append(append([]byte{}, data[:fm.Close]...), ins...), data[fm.Close:]...)
		fm2, err := SplitFrontmatter("f", edited)
		if err != nil || fm2.Start != fm.Start || fm2.Close != fm.Close+len(ins) || fm2.Body != fm.Body+len(ins) {
			t.Fatalf("after inserting a line at Close: %+v, %v (was %+v)", fm2, err, fm)
		}
	})
}
