package dlp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
)

// Transforms an agent can put between a secret and the wire that the run
// decoders (base64/hex) do not undo: compression whatever the headers say,
// UTF-16, zero-width characters, HTML entities, quoted-printable and
// delimited hex.

// inflate undoes gzip or zlib when b starts with their magic bytes, so a
// compressed body sent with no Content-Encoding (or "identity") is read
// anyway. Brotli has no magic bytes: it is tried only on input that is not
// text, and kept only if it inflates to text. Output stops at maxInflate.
func inflate(b []byte) ([]byte, bool) {
	if len(b) < 8 {
		return nil, false
	}
	var r io.Reader
	var err error
	switch {
	case b[0] == 0x1f && b[1] == 0x8b:
		r, err = gzip.NewReader(bytes.NewReader(b))
	case isZlib(b):
		// Random binary layers (hex digests) pass the 16-bit header check
		// one time in 31; a new reader would allocate and clear deflate's
		// 32 KiB window each time, so readers are reused.
		zr, _ := zlibPool.Get().(io.ReadCloser)
		if zr == nil {
			zr, err = zlib.NewReader(bytes.NewReader(b))
		} else {
			err = zr.(zlib.Resetter).Reset(bytes.NewReader(b), nil)
		}
		if zr != nil {
			defer zlibPool.Put(zr)
		}
		r = zr
	case !textLike(head(b)):
		d, _ := readCapped(brotli.NewReader(bytes.NewReader(b)), maxInflate)
		if len(d) >= 8 && textLike(head(d)) {
			return d, true
		}
		return nil, false
	default:
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	d, _ := readCapped(r, maxInflate)
	return d, len(d) > 0
}

var zlibPool sync.Pool // of zlib readers (io.ReadCloser, zlib.Resetter)

// isZlib: b starts with a zlib header (deflate, window <= 32 KiB, check
// bits right).
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// compressedMagic: b starts like a gzip or zlib stream.
func compressedMagic(b []byte) bool {
	return len(b) >= 8 && (b[0] == 0x1f && b[1] == 0x8b || isZlib(b))
}

// readCapped reads up to n bytes; a stream cut short still gives what was
// read before the error (a truncated gzip member still hides a secret).
func readCapped(r io.Reader, n int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, n))
}

// ErrUnknownEncoding: a Content-Encoding pipelock cannot undo.
var ErrUnknownEncoding = errors.New("unknown content-coding")

// ErrTooLarge: the decoded body is over the cap.
var ErrTooLarge = errors.New("decoded body over the cap")

// DecodeContent undoes every coding of a Content-Encoding header value
// ("gzip", "identity, gzip", "br, gzip"), last applied first, so every
// value is read, not only the first. limit caps the decoded size.
func DecodeContent(contentEncoding string, body []byte, limit int64) ([]byte, error) {
	r, err := ContentReader(contentEncoding, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	d, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(d)) > limit {
		return nil, ErrTooLarge
	}
	return d, nil
}

// ContentReader is DecodeContent as a stream: it reads r through every
// coding of contentEncoding, so a large body is decoded in constant
// memory (the decoders keep at most their own window, 32 KiB for deflate
// and up to 16 MiB for brotli). Errors name the coding.
func ContentReader(contentEncoding string, r io.Reader) (io.Reader, error) {
	codings := strings.Split(contentEncoding, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		c := strings.ToLower(strings.TrimSpace(codings[i]))
		var err error
		switch c {
		case "", "identity":
			continue
		case "gzip", "x-gzip":
			r, err = gzip.NewReader(r)
		case "deflate":
			// RFC 9110 says zlib; some clients send raw deflate.
			br := bufio.NewReader(r)
			if h, _ := br.Peek(2); isZlib(h) {
				r, err = zlib.NewReader(br)
			} else {
				r = flate.NewReader(br)
			}
		case "br":
			r = brotli.NewReader(r)
		default:
			return nil, fmt.Errorf("%w %q", ErrUnknownEncoding, c)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		r = namedErr{c, r}
	}
	return r, nil
}

// namedErr prefixes a decoder's errors with its coding.
type namedErr struct {
	coding string
	r      io.Reader
}

func (n namedErr) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", n.coding, err)
	}
	return k, err
}

// decodeUTF16 reads b as UTF-16 when it looks like it: a byte-order mark,
// or NUL in most even (big-endian) or odd (little-endian) positions, as
// ASCII text in UTF-16 has. The result is UTF-8.
func decodeUTF16(b []byte) []byte {
	if len(b) < 8 {
		return nil
	}
	le, be := false, false
	switch {
	case b[0] == 0xff && b[1] == 0xfe:
		le, b = true, b[2:]
	case b[0] == 0xfe && b[1] == 0xff:
		be, b = true, b[2:]
	default:
		nulOdd, nulEven := 0, 0
		n := min(len(b), 4096)
		for i := 0; i+1 < n; i += 2 {
			if b[i] == 0 {
				nulEven++
			}
			if b[i+1] == 0 {
				nulOdd++
			}
		}
		pairs := n / 2
		le = nulOdd*10 >= pairs*3 && nulEven*10 < pairs
		be = nulEven*10 >= pairs*3 && nulOdd*10 < pairs
		if !le && !be {
			// A UTF-16 run inside other text ("data=" then UTF-16).
			return utf16Runs(b)
		}
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if le {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		} else {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// utf16Runs extracts runs of ASCII-in-UTF-16 (a printable byte and a NUL,
// in either order) of at least 8 characters, joined by newlines.
func utf16Runs(b []byte) []byte {
	if bytes.IndexByte(b, 0) < 0 {
		return nil
	}
	var out []byte
	for _, off := range []int{0, 1} {
		i := off
		for i+1 < len(b) {
			j := i
			for j+1 < len(b) {
				c, z := b[j], b[j+1]
				if off == 1 {
					c, z = b[j+1], b[j] // big-endian: NUL first
				}
				if z != 0 || c < 0x20 || c >= 0x7f {
					break
				}
				j += 2
			}
			if (j-i)/2 >= 8 {
				for k := i; k < j; k += 2 {
					if off == 0 {
						out = append(out, b[k])
					} else {
						out = append(out, b[k+1])
					}
				}
				out = append(out, '\n')
			}
			if j == i {
				j++
			}
			i = j
		}
	}
	return out
}

// hasEntity: b holds an HTML character reference (&#65; &#x41; &amp;).
func hasEntity(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '&')
		if i < 0 || i+3 >= len(b) {
			return false
		}
		j := i + 1
		if b[j] == '#' {
			j++
			if j < len(b) && (b[j] == 'x' || b[j] == 'X') {
				j++
			}
		}
		k := j
		for k < len(b) && k-j < 32 && (isHex(b[k]) || b[k] >= 'a' && b[k] <= 'z' || b[k] >= 'A' && b[k] <= 'Z') {
			k++
		}
		if k > j && k < len(b) && b[k] == ';' {
			return true
		}
		b = b[i+1:]
	}
}

// hasQP: at least two quoted-printable escapes (=XX) or soft line breaks;
// one "=12" is a query parameter.
func hasQP(b []byte) bool {
	n := 0
	for {
		i := bytes.IndexByte(b, '=')
		if i < 0 || i+2 >= len(b) {
			return false
		}
		if isHex(b[i+1]) && isHex(b[i+2]) && (b[i+1] < 'a' && b[i+2] < 'a') || b[i+1] == '\n' || b[i+1] == '\r' && b[i+2] == '\n' {
			n++
			if n >= 2 {
				return true
			}
		}
		b = b[i+1:]
	}
}

// qpDecode undoes quoted-printable leniently (a bad escape stays as is).
func qpDecode(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '=' {
			switch {
			case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
				i += 2
				continue
			case i+1 < len(b) && b[i+1] == '\n':
				i++
				continue
			case i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
				out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

// invisible reports the code points that render as nothing: zero-width
// spaces and joiners, word joiner, BOM, soft hyphen, Mongolian vowel
// separator, and the bidi controls. A secret with them inside reads as the
// secret to a human and to any program that strips them.
func invisible(r rune) bool {
	switch {
	case r == 0x00ad, r == 0x180e, r == 0xfeff, r == 0x034f:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// unhide returns b as a reader sees it, or nil if that is b: without
// invisible code points, and with fullwidth ASCII ("ｇｈｐ＿", which
// NFKC and any receiver turn back) and the ideographic space spelled as
// ASCII. The quick check looks for their UTF-8 lead bytes.
func unhide(b []byte) []byte {
	if asciiOnly(b) {
		return nil
	}
	out := make([]byte, 0, len(b))
	changed := false
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r != utf8.RuneError && invisible(r):
			changed = true
		case r >= 0xff01 && r <= 0xff5e:
			out = append(out, byte(r-0xfee0))
			changed = true
		case r == 0x3000:
			out = append(out, ' ')
			changed = true
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if !changed {
		return nil
	}
	return out
}

// asciiOnly: no byte of b is >= 0x80 (so no code point unhide changes),
// 32 bytes at a time: one pass where a search per lead byte was six.
func asciiOnly(b []byte) bool {
	const hi = 0x8080808080808080
	i := 0
	for ; i+32 <= len(b); i += 32 {
		if (binary.LittleEndian.Uint64(b[i:])|binary.LittleEndian.Uint64(b[i+8:])|
			binary.LittleEndian.Uint64(b[i+16:])|binary.LittleEndian.Uint64(b[i+24:]))&hi != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

// minSpelled is the fewest characters undelimit takes for a run spelled
// out one character at a time ("g h p _ a b c", "g-h-p-_-a-b-c"): a
// secret's prefix and then some; shorter runs are ordinary text ("a b c").
const minSpelled = 16

// spelledChar: what undelimit takes as a character of a spelled-out run.
func spelledChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '+' || c == '/' || c == '=' || c == '-'
}

// undelimit returns the runs of b spelled out one character at a time,
// each character followed by the same one-byte separator (a space, '-',
// '.', ',', ':', '|', ...), with the separators taken out, one run a line;
// nil if there is none. An agent told to "put a space between the
// letters" sends a secret no rule reads as sent; every receiver joins it
// back. The scan compares b[j] with b[j+2] eight positions at a time,
// every 16 bytes: a run's separators repeat at stride 2, which ordinary
// text rarely does, and a run of minSpelled characters (31 bytes) holds
// eight such positions at every phase, so skipping every other word misses
// none.
func undelimit(b []byte) []byte {
	var out []byte
	n := len(b)
	for i := 0; i+10 <= n; {
		x := binary.LittleEndian.Uint64(b[i:])
		y := binary.LittleEndian.Uint64(b[i+2:])
		z := zeroBytes(x ^ y) // bit 8k+7 set: b[i+k] == b[i+k+2]
		const even, odd = 0x0080008000800080, 0x8000800080008000
		if z&even != even && z&odd != odd || x == y && x == x>>8|x<<56 {
			i += 16 // no run here, or a run of one byte (indentation, "====")
			continue
		}
		// Maybe a run here: step to a character whose separator repeats,
		// walk back over (character, separator) pairs to the run's start,
		// and read it exactly.
		c := i
		if isAlnum(b[c+1]) || b[c+1] == '_' { // b[c+1] is a character: c is a separator
			c++
		}
		sep := b[c+1]
		for c >= 2 && b[c-1] == sep && b[c-2] != sep && spelledChar(b[c-2]) {
			c -= 2
		}
		run, e := spelledRun(b, c)
		if run != nil {
			out = append(append(out, run...), '\n')
		}
		i = max(e, i+16)
	}
	return out
}

// spelledRun reads a spelled-out run starting at b[s] (a character): the
// characters, if at least minSpelled, and where the run ends.
func spelledRun(b []byte, s int) ([]byte, int) {
	if s+1 >= len(b) || isAlnum(b[s+1]) || b[s+1] == '_' || b[s+1] >= 0x80 || b[s+1] < ' ' {
		return nil, s + 1
	}
	sep := b[s+1] // '-' separates ("g-h-p") or is a character ("k n 0 w n - a")
	char := func(c byte) bool { return c != sep && spelledChar(c) }
	if !char(b[s]) {
		return nil, s + 1
	}
	var chars []byte
	k := s
	for k < len(b) && char(b[k]) && (k+1 == len(b) || b[k+1] == sep || !char(b[k+1])) {
		chars = append(chars, b[k])
		if k+1 >= len(b) || b[k+1] != sep {
			k++
			break
		}
		k += 2
	}
	if len(chars) < minSpelled {
		return nil, k
	}
	return chars, k
}

// zeroBytes has bit 8k+7 set for each zero byte k of v (exact: no
// borrow from a lower byte).
func zeroBytes(v uint64) uint64 {
	const lo7, hi = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	return ^((v&lo7 + lo7) | v | lo7) & hi
}

// hexSep are the separators of delimited hex ("de:ad:be:ef", "de ad",
// "0x41,0x42"); decodeRuns finds such runs and hexRunAt reads them.
var hexSep = func() (t [256]bool) {
	for _, c := range ":- ,;.|" {
		t[c] = true
	}
	return t
}()

// hexRunAt reads "hh<sep>hh<sep>..." (optionally "0xhh") at b[i] with one
// consistent separator; it returns the bytes consumed and decoded, or 0.
func hexRunAt(b []byte, i int) (int, []byte) {
	if i > 0 && isHex(b[i-1]) {
		return 0, nil
	}
	pfx := 0
	if i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') {
		pfx = 2
	}
	var d []byte
	var sep []byte
	j := i
	for {
		k := j + pfx
		if k+1 >= len(b) || !isHex(b[k]) || !isHex(b[k+1]) {
			break
		}
		if k+2 < len(b) && isHex(b[k+2]) {
			break // not a byte pair
		}
		d = append(d, unhex(b[k])<<4|unhex(b[k+1]))
		j = k + 2
		// separator: one of ":- ,;." optionally followed by a space
		s := j
		for s < len(b) && s-j < 2 && strings.IndexByte(":- ,;.|", b[s]) >= 0 {
			s++
		}
		if s == j {
			break
		}
		if sep == nil {
			sep = b[j:s]
		} else if !bytes.Equal(b[j:s], sep) {
			break
		}
		j = s
	}
	if len(d) < 8 || sep == nil {
		return 0, nil
	}
	return j - i, d
}
