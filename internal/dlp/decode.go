package dlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Decoding layers: a secret may be hidden under percent-encoding, base64,
// hex or JSON string escapes, possibly nested. Layers returns the input plus
// every decoded view worth scanning, up to MaxDepth nested decodings and a
// total of MaxLayerBytes or three times the input, whichever is larger
// (the rest is not decoded; the raw input is always scanned).
const (
	MaxDepth      = 3
	MaxLayerBytes = 4 << 20
	minRun        = 16 // shortest base64 / hex run decoded
)

// Layers returns b followed by its decoded views.
func Layers(b []byte) [][]byte {
	out := [][]byte{b}
	// The budget grows with the input: a fixed one would let padding push
	// an encoded secret past it.
	budget := max(MaxLayerBytes, 3*len(b))
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		if depth >= MaxDepth {
			return
		}
		for _, d := range decodeOnce(b) {
			if len(d) == 0 || budget < len(d) || bytes.Equal(d, b) {
				continue
			}
			budget -= len(d)
			out = append(out, d)
			walk(d, depth+1)
		}
	}
	walk(b, 0)
	return out
}

// decodeOnce returns one level of decoded views of b.
func decodeOnce(b []byte) [][]byte {
	var out [][]byte
	if hasPercentEscape(b) {
		if d := percentDecode(b); !bytes.Equal(d, b) {
			out = append(out, d)
		}
	}
	if bytes.Contains(b, []byte(`\u`)) || bytes.Contains(b, []byte(`\x`)) || bytes.Contains(b, []byte(`\/`)) {
		if d := unescapeJSONish(b); !bytes.Equal(d, b) {
			out = append(out, d)
		}
	}
	if d := decodeRuns(b); len(d) > 0 {
		out = append(out, d)
	}
	if u := unwrapLines(b); u != nil {
		if d := decodeRuns(u); len(d) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// minWrapped is the shortest line taken as part of wrapped base64 (tools
// wrap at 60, 64 or 76 characters).
const minWrapped = 40

// unwrapLines joins lines that end in a long base64 run to the next line
// (wrapped base64, as `base64` and PEM write it) so a secret across a line break decodes whole. It returns nil when
// there is nothing to join.
func unwrapLines(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 {
		return nil
	}
	var out []byte
	joined := false
	start := 0
	for start < len(b) {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			out = append(out, b[start:]...)
			break
		}
		line := b[start : start+end]
		trim := bytes.TrimSuffix(line, []byte{'\r'})
		out = append(out, trim...)
		if tailB64(trim) >= minWrapped {
			joined = true // drop the line break
		} else {
			out = append(out, '\n')
		}
		start += end + 1
	}
	if !joined {
		return nil
	}
	return out
}

// tailB64 is the length of the base64 run that ends the line ("data: "
// before the first wrapped line is common).
func tailB64(l []byte) int {
	n := 0
	for i := len(l) - 1; i >= 0 && (charClass[l[i]]&clB64 != 0 || l[i] == '='); i-- {
		n++
	}
	return n
}

func hasPercentEscape(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '%')
		if i < 0 || i+2 >= len(b) {
			return false
		}
		if isHex(b[i+1]) && isHex(b[i+2]) {
			return true
		}
		b = b[i+1:]
	}
}

// percentDecode decodes %XX escapes leniently: a bad escape is kept as is
// instead of failing the whole input. '+' stays '+' (it is a base64
// character far more often than an encoded space in what we scan).
func percentDecode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

// unescapeJSONish decodes \uXXXX, \xXX and \/ escapes anywhere in b.
func unescapeJSONish(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			switch b[i+1] {
			case 'u':
				if i+5 < len(b) && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]) {
					r := rune(unhex(b[i+2]))<<12 | rune(unhex(b[i+3]))<<8 | rune(unhex(b[i+4]))<<4 | rune(unhex(b[i+5]))
					out = utf8.AppendRune(out, r)
					i += 5
					continue
				}
			case 'x':
				if i+3 < len(b) && isHex(b[i+2]) && isHex(b[i+3]) {
					out = append(out, unhex(b[i+2])<<4|unhex(b[i+3]))
					i += 3
					continue
				}
			case '/':
				out = append(out, '/')
				i++
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

// Character classes for the run finder: one table load per byte.
const (
	clB64  = 1 << iota // base64 (standard or URL) alphabet
	clHex              // hex digit
	clDash             // '-'
)

var charClass = func() (t [256]uint8) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_" {
		t[c] |= clB64
	}
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] |= clHex
	}
	t['-'] |= clDash
	return t
}()

// decodeRuns finds runs of base64 or hex characters and decodes the ones
// that turn into text. The decoded runs are joined by newlines.
func decodeRuns(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		if charClass[b[i]]&clB64 == 0 {
			i++
			continue
		}
		j := i
		and := uint8(0xff)
		for j < len(b) {
			c := charClass[b[j]]
			if c&clB64 == 0 {
				break
			}
			and &= c
			j++
		}
		allHex := and&clHex != 0
		run := b[i:j]
		i = j
		for i < len(b) && b[i] == '=' { // padding
			i++
		}
		if len(run) < minRun {
			continue
		}
		if !allHex && hexOrDash(run) {
			continue // UUID-like: hex groups, never encoded text
		}
		if d := decodeRun(run, allHex); d != nil {
			out = append(append(out, d...), '\n')
		}
	}
	return out
}

func decodeRun(run []byte, allHex bool) []byte {
	if allHex {
		// Hex text is decoded as hex only: base64 of text practically never
		// stays inside the hex alphabet, and digests are common.
		if len(run)%2 != 0 {
			run = run[:len(run)-1]
		}
		d := make([]byte, len(run)/2)
		if _, err := hex.Decode(d, run); err == nil && textLike(d) {
			return d
		}
		return nil
	}
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	d := make([]byte, enc.DecodedLen(len(run)))
	// Try the run as it is and shifted by up to 3 characters: a run that
	// starts with letters of the preceding text still decodes.
	for shift := 0; shift < 4 && len(run)-shift >= minRun; shift++ {
		r := run[shift:]
		if len(r)%4 == 1 {
			r = r[:len(r)-1]
		}
		n, err := enc.Decode(d, r)
		if err == nil && textLike(d[:n]) {
			return d[:n]
		}
	}
	return nil
}

// textLike: mostly printable, so worth scanning for secrets (which are text).
func textLike(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	bad, limit := 0, len(d)/10
	for _, c := range d {
		if !(c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t') {
			bad++
			if bad > limit {
				return false // random bytes fail fast
			}
		}
	}
	return true
}

func hexOrDash(r []byte) bool {
	for _, c := range r {
		if charClass[c]&(clHex|clDash) == 0 {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// BodyParts splits a request body by its media type into the texts to scan:
// form values, multipart parts (each part's own transfer encoding undone),
// JSON as is. Unknown types are scanned as they are. It never fails: what
// cannot be parsed is scanned raw.
func BodyParts(contentType string, body []byte) [][]byte {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return [][]byte{body}
		}
		var b strings.Builder
		for k, vs := range vals {
			b.WriteString(k + "\n")
			for _, v := range vs {
				b.WriteString(v + "\n")
			}
		}
		return [][]byte{body, []byte(b.String())}
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		out := [][]byte{body}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for range 1000 {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			data, err := io.ReadAll(io.LimitReader(p, int64(len(body))))
			if err != nil {
				break
			}
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
				if d, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(data), nil))); err == nil {
					data = d
				}
			}
			out = append(out, []byte(p.FormName()+"\n"+p.FileName()+"\n"))
			out = append(out, BodyParts(p.Header.Get("Content-Type"), data)[0:]...)
		}
		return out
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		// JSON strings may hide text behind escapes; the generic layers undo
		// \u and \/ escapes. A valid document is also re-encoded without
		// HTML escaping so "<" and "&" read naturally.
		if bytes.Contains(body, []byte(`\`)) && json.Valid(body) {
			var v any
			if json.Unmarshal(body, &v) == nil {
				var b bytes.Buffer
				flattenJSON(&b, v)
				return [][]byte{body, b.Bytes()}
			}
		}
	}
	return [][]byte{body}
}

// flattenJSON writes every string (keys and values) of v on its own line.
func flattenJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			b.WriteString(k + "\n")
			flattenJSON(b, e)
		}
	case []any:
		for _, e := range x {
			flattenJSON(b, e)
		}
	case string:
		b.WriteString(x + "\n")
	}
}
