// Package secretenc lists the encoded forms a secret can take inside a
// longer text: hex, URL escapes, and base64 at every byte alignment. Egress
// masks these forms of the tokens it injects in responses; pipelock's DLP
// looks for them in requests. No dependencies, so the egress daemon stays
// free of the DLP engine.
package secretenc

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// AlignedRun encodes value after off zero bytes and keeps only the output
// characters whose bits all come from value: the run that appears in the
// encoding of any longer text holding value at that byte offset.
func AlignedRun(enc func([]byte) string, bitsPerChar, off int, value string) string {
	buf := append(make([]byte, off), value...)
	s := strings.TrimRight(enc(buf), "=")
	startBit, endBit := 8*off, 8*(off+len(value))
	lo := (startBit + bitsPerChar - 1) / bitsPerChar
	hi := endBit / bitsPerChar
	if hi > len(s) {
		hi = len(s)
	}
	if lo >= hi {
		return ""
	}
	return s[lo:hi]
}

// Encodings returns value and its hex (both cases), URL-escaped and
// base64 / base64url forms at the three byte alignments, each once, none
// shorter than minLen.
func Encodings(value string, minLen int) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= minLen && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(value)
	add(hex.EncodeToString([]byte(value)))
	add(strings.ToUpper(hex.EncodeToString([]byte(value))))
	add(url.QueryEscape(value))
	add(url.PathEscape(value))
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for off := range 3 {
			add(AlignedRun(e.EncodeToString, 6, off, value))
		}
	}
	return out
}
