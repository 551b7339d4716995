package dlp

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Decoding layers: a secret may be hidden under percent-encoding, base64,
// base32, hex (plain or delimited), JSON or HTML escapes, quoted-printable,
// UTF-16, zero-width characters or compression, possibly nested. Layers
// returns the input plus every decoded view worth scanning, up to MaxDepth
// nested decodings and a total of MaxLayerBytes or three times the input,
// whichever is larger (the rest is not decoded; the raw input is always
// scanned). Percent-encoding is undone to a fixed point in one step, so
// any depth of it (up to maxPercentRounds) costs one layer.
const (
	MaxDepth         = 4
	MaxLayerBytes    = 4 << 20
	minRun           = 16 // shortest base64 / hex run decoded
	maxPercentRounds = 16
	// maxInflate bounds what one compressed layer may expand to (a
	// decompression bomb stops there; the rest is not scanned, and the
	// caller refuses bodies it cannot read whole).
	maxInflate = 16 << 20
)

// Layers returns b followed by its decoded text views.
func Layers(b []byte) [][]byte {
	text, _ := layers(b)
	return text
}

// layers returns b followed by its decoded text views, and separately the
// decoded views that are not text (random-looking bytes: images, or a
// secret behind binary junk). Binary views are searched only for known
// secrets and credential prefixes, and are not decoded further.
func layers(b []byte) (text, bin [][]byte) { return layersCut(b, false) }

// layersCut is layers for an input that may start in the middle of an
// encoded run (a stream window after the first, see BodyStream): the run
// touching the start of every layer is decoded at every phase, since its
// alignment was lost with the bytes before the window.
func layersCut(b []byte, cut bool) (text, bin [][]byte) {
	text = [][]byte{b}
	// The budget grows with the input: a fixed one would let padding push
	// an encoded secret past it.
	budget := max(MaxLayerBytes, 3*len(b))
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		if depth >= MaxDepth {
			return
		}
		t, bi := decodeOnce(b, cut)
		for _, d := range bi {
			if len(d) == 0 || budget < len(d) {
				continue
			}
			budget -= len(d)
			bin = append(bin, d)
			if compressedMagic(d) {
				// base64 of gzip: the binary layer is a compressed stream.
				if z, ok := inflate(d); ok && budget >= len(z) {
					budget -= len(z)
					text = append(text, z)
					walk(z, depth+1)
				}
			}
		}
		for _, d := range t {
			if len(d) == 0 || budget < len(d) || bytes.Equal(d, b) {
				continue
			}
			budget -= len(d)
			text = append(text, d)
			walk(d, depth+1)
		}
	}
	walk(b, 0)
	return text, bin
}

// decodeOnce returns one level of decoded views of b: text ones and binary
// ones. cut: b may start inside an encoded run (layersCut).
func decodeOnce(b []byte, cut bool) (text, bin [][]byte) {
	addT := func(d []byte) {
		if d != nil && !bytes.Equal(d, b) {
			text = append(text, d)
		}
	}
	if d, ok := inflate(b); ok {
		if textLike(head(d)) {
			addT(d)
		} else {
			bin = append(bin, d)
		}
		return text, bin // a compressed stream holds nothing else
	}
	if d := decodeUTF16(b); d != nil {
		addT(d)
	}
	if !binaryLike(b) {
		text = append(text, textOnly(b)...)
	} else if r := printableRuns(b); len(r) > 0 {
		// Text inside binary data (an escaped secret between control
		// bytes) is still unescaped, from its runs alone.
		text = append(text, textOnly(r)...)
	}
	t, bi := decodeRuns(b, cut)
	if len(t) > 0 {
		text = append(text, t)
	}
	bin = append(bin, bi...)
	if u := unwrapLines(b); u != nil {
		t, bi := decodeRuns(u, cut)
		if len(t) > 0 {
			text = append(text, t)
		}
		bin = append(bin, bi...)
	}
	return text, bin
}

// binaryLike: more than 1 % control bytes (other than tab and line
// breaks), which text in any encoding but UTF-16 never has. It samples
// every 7th byte: a wrong "binary" only sends the input through
// printableRuns, which keeps its text.
func binaryLike(b []byte) bool {
	bad, limit := 0, len(b)/700
	for i := 0; i < len(b); i += 7 {
		if c := b[i]; c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			bad++
			if bad > limit {
				return true
			}
		}
	}
	return false
}

// minPrintableRun is the shortest text run printableRuns keeps: shorter
// than any escaped credential, longer than most chance runs in random
// bytes.
const minPrintableRun = 8

// printableRuns returns the runs of text (printable ASCII, tab, line
// breaks and whole UTF-8 sequences) of at least minPrintableRun bytes in
// binary data, one a line, like strings(1).
func printableRuns(b []byte) []byte {
	var out []byte
	start := -1
	flush := func(end int) {
		if start >= 0 && end-start >= minPrintableRun {
			out = append(append(out, b[start:end]...), '\n')
		}
		start = -1
	}
	for i := 0; i < len(b); {
		c := b[i]
		n := 1
		ok := c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t'
		if c >= 0x80 {
			r, size := utf8.DecodeRune(b[i:])
			ok, n = r != utf8.RuneError, size
		}
		if ok {
			if start < 0 {
				start = i
			}
		} else {
			flush(i)
		}
		i += n
	}
	flush(len(b))
	return out
}

// textOnly undoes the escapes of text (percent, JSON, HTML, quoted-
// printable, zero-width characters). Input that is not text (random bytes,
// an archive) skips them: each would copy all of it into one more layer of
// noise, decoded again to the budget, at several times the scan's cost;
// the rules still read it raw, and its base64/hex runs and UTF-16 are
// still decoded.
func textOnly(b []byte) (text [][]byte) {
	addT := func(d []byte) {
		if d != nil && !bytes.Equal(d, b) {
			text = append(text, d)
		}
	}
	if hasPercentEscape(b) {
		addT(percentDecodeAll(b))
	}
	if bytes.Contains(b, []byte(`\u`)) || bytes.Contains(b, []byte(`\x`)) || bytes.Contains(b, []byte(`\/`)) {
		addT(unescapeJSONish(b))
	}
	if hasEntity(b) {
		addT([]byte(html.UnescapeString(string(b))))
	}
	if hasQP(b) {
		addT(qpDecode(b))
	}
	if d := unhide(b); d != nil {
		addT(d)
	}
	if d := undelimit(b); d != nil {
		addT(d)
	}
	return text
}

func head(d []byte) []byte { return d[:min(len(d), 512)] }

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
		if isHex(b[i+1]) && isHex(b[i+2]) || isPercentU(b[i:]) {
			return true
		}
		b = b[i+1:]
	}
}

// isPercentU: b starts with IIS's %uXXXX escape.
func isPercentU(b []byte) bool {
	return len(b) >= 6 && (b[1] == 'u' || b[1] == 'U') && isHex(b[2]) && isHex(b[3]) && isHex(b[4]) && isHex(b[5])
}

// percentDecodeAll undoes percent-encoding until nothing changes (or
// maxPercentRounds): %2525252541 is as much an "A" as %41.
func percentDecodeAll(b []byte) []byte {
	for range maxPercentRounds {
		d := percentDecode(b)
		if bytes.Equal(d, b) {
			break
		}
		b = d
		if !hasPercentEscape(b) {
			break
		}
	}
	return b
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
		if c == '%' && isPercentU(b[i:]) {
			r := rune(unhex(b[i+2]))<<12 | rune(unhex(b[i+3]))<<8 | rune(unhex(b[i+4]))<<4 | rune(unhex(b[i+5]))
			out = utf8.AppendRune(out, r)
			i += 5
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
					if utf16.IsSurrogate(r) && i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' && isHex(b[i+8]) && isHex(b[i+9]) && isHex(b[i+10]) && isHex(b[i+11]) {
						r2 := rune(unhex(b[i+8]))<<12 | rune(unhex(b[i+9]))<<8 | rune(unhex(b[i+10]))<<4 | rune(unhex(b[i+11]))
						out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
						i += 11
						continue
					}
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
	clB64     = 1 << iota // base64 (standard or URL) alphabet
	clHex                 // hex digit
	clDash                // '-'
	clB32U                // upper-case base32 alphabet
	clB32L                // lower-case base32 alphabet
	clHexDash             // hex digit or '-' (UUID-like runs)
)

var charClass = func() (t [256]uint8) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_" {
		t[c] |= clB64
	}
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] |= clHex
	}
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" {
		t[c] |= clB32U
	}
	for _, c := range "abcdefghijklmnopqrstuvwxyz234567" {
		t[c] |= clB32L
	}
	t['-'] |= clDash | clHexDash
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] |= clHexDash
	}
	return t
}()

// decodeRuns finds runs of base64, base32 or hex characters and decodes
// them: runs that turn into text go to text, the others (whole runs of at
// least minBinRun characters, so short identifiers do not add noise) to
// bin. The decoded runs are joined by newlines. cut: the run at the start
// of b may have lost its first characters, so it is decoded at every phase
// (decodeCutRun).
func decodeRuns(b []byte, cut bool) (text []byte, bin [][]byte) {
	// Binary results go into one buffer (sliced at the end): clean text
	// has many digests and ids, and one allocation each would dominate.
	var binBuf, scratch []byte
	var ends []int
	// Only some stretches of b can decode to anything: base64 runs of
	// minRun or more; delimited hex without "0x", which lies inside a run
	// of minDelimHex hex digits and separators; and "0x"/"0X" (hexRunAt
	// then skips each pair's two prefix bytes unread, so no class bounds
	// it). They are found by skipping (nextLongRun, IndexByte). Every
	// other run is too short to decode and cannot start delimited hex, so
	// the walk jumps over them: the words of prose are not read at all.
	long := longRuns{b: b, in: &charClass, n: minRun}
	hexy := longRuns{b: b, in: &hexishClass, n: minDelimHex}
	x0 := prefixes{b: b, x: 'x'}
	X0 := prefixes{b: b, x: 'X'}
	for i := 0; i < len(b); {
		r := min(max(i, long.after(i)), max(i, hexy.after(i)), max(i, x0.after(i)), max(i, X0.after(i)))
		if r >= len(b) {
			break
		}
		// Start at the start of the run r is in, as the full walk would.
		for r > i && charClass[b[r-1]]&clB64 != 0 {
			r--
		}
		i = r
		if charClass[b[i]]&clB64 == 0 {
			i++
			continue
		}
		j := i
		for j < len(b) && charClass[b[j]]&clB64 != 0 {
			j++
		}
		run := b[i:j]
		runStart := i
		i = j
		for i < len(b) && b[i] == '=' { // padding
			i++
		}
		// Delimited hex ("de:ad:be:ef", "0x41,0x42", "de-ad-be-ef") is
		// found here, from the runs it is made of, so it costs no pass of
		// its own.
		if j < len(b) && hexSep[b[j]] && (len(run) == 2 && charClass[run[0]]&charClass[run[1]]&clHex != 0 || len(run) == 4 && run[0] == '0' && run[1]|0x20 == 'x') ||
			len(run) >= 23 && run[2] == '-' && run[5] == '-' && hexOrDash(run) {
			if n, d := hexRunAt(b, runStart); n > 0 {
				if textLike(d) {
					text = append(append(text, d...), '\n')
				} else {
					binBuf = append(binBuf, d...)
					ends = append(ends, len(binBuf))
				}
				i = max(i, runStart+n)
				continue
			}
		}
		if len(run) < minRun {
			continue
		}
		and := uint8(0xff)
		for _, c := range run {
			and &= charClass[c]
		}
		allHex := and&clHex != 0
		if !allHex && and&clHexDash != 0 {
			continue // UUID-like: hex groups, never encoded text
		}
		if cut && runStart == 0 {
			t, bi := decodeCutRun(run, allHex, and&(clB32U|clB32L) != 0)
			for _, d := range t {
				text = append(append(text, d...), '\n')
			}
			for _, d := range bi {
				binBuf = append(binBuf, d...)
				ends = append(ends, len(binBuf))
			}
			continue
		}
		var d []byte
		var isText bool
		d, isText, scratch = decodeRun(run, allHex, and&(clB32U|clB32L) != 0, scratch)
		switch {
		case d == nil:
		case isText:
			text = append(append(text, d...), '\n')
		case len(run) >= minBinRun:
			binBuf = append(binBuf, d...)
			ends = append(ends, len(binBuf))
		}
	}
	start := 0
	if len(ends) > 0 {
		bin = make([][]byte, 0, len(ends))
	}
	for _, e := range ends {
		bin = append(bin, binBuf[start:e:e])
		start = e
	}
	return text, bin
}

// minDelimHex is the shortest delimited hex hexRunAt accepts: 8 pairs and
// 7 one-character separators.
const minDelimHex = 8*2 + 7

// hexishClass is what delimited hex without "0x" is made of: hex digits
// and hexRunAt's separators.
var hexishClass = func() (t [256]uint8) {
	for c := range t {
		if isHex(byte(c)) || hexSep[c] {
			t[c] = 1
		}
	}
	return t
}()

// longRuns walks the maximal runs of at least n bytes of a class, in
// order (see nextLongRun).
type longRuns struct {
	b    []byte
	in   *[256]uint8
	n    int
	s, e int // the current run
	next int // where to look for the one after it
}

// after returns the start of the first run that ends after i (i <
// len(b)), or len(b).
func (r *longRuns) after(i int) int {
	for r.e <= i {
		if r.next >= len(r.b) {
			r.s, r.e = len(r.b), len(r.b)
			break
		}
		r.s, r.e, _ = nextLongRun(r.b, r.in, r.n, r.next)
		r.next = r.e + 1 // b[e] is not in the class
	}
	return r.s
}

// prefixes walks the occurrences of "0" followed by x (x0 for 'x', X0 for
// 'X'). It looks for the letter, much rarer than the digit.
type prefixes struct {
	b    []byte
	x    byte
	p    int // the current one, len(b) if none; it covers b[p:p+2]
	next int // where to look for the letter of the one after it
	init bool
}

// after returns the first occurrence that ends after i, or len(b).
func (x *prefixes) after(i int) int {
	for !x.init || x.p+2 <= i && x.p < len(x.b) {
		x.init = true
		for {
			k := bytes.IndexByte(x.b[x.next:], x.x)
			if k < 0 {
				x.p, x.next = len(x.b), len(x.b)
				return x.p
			}
			k += x.next
			x.next = k + 1
			if k > 0 && x.b[k-1] == '0' {
				x.p = k - 1
				break
			}
		}
	}
	return x.p
}

// minBinRun: a run shorter than this that does not decode to text is an
// identifier, not hidden data.
const minBinRun = 24

// decodeRun decodes one run into scratch (returned, possibly grown);
// isText says whether the result reads as text. The result aliases
// scratch: the caller copies it before the next call.
func decodeRun(run []byte, allHex, b32 bool, scratch []byte) (d []byte, isText bool, _ []byte) {
	if allHex {
		// Hex text is decoded as hex only: base64 of text practically never
		// stays inside the hex alphabet, and digests are common.
		if len(run)%2 != 0 {
			run = run[:len(run)-1]
		}
		scratch = grow(scratch, len(run)/2)
		if _, err := hex.Decode(scratch, run); err == nil {
			return scratch, textLike(scratch), scratch
		}
		return nil, false, scratch
	}
	if b32 {
		if d := decodeBase32(run); d != nil && textLike(d) {
			return d, true, scratch
		}
	}
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	scratch = grow(scratch, enc.DecodedLen(len(run)))
	var first []byte
	// Try the run as it is and shifted by up to 3 characters: a run that
	// starts with letters of the preceding text still decodes.
	for shift := 0; shift < 4 && len(run)-shift >= minRun; shift++ {
		r := run[shift:]
		if len(r)%4 == 1 {
			r = r[:len(r)-1]
		}
		n, err := enc.Decode(scratch, r)
		if err != nil {
			continue
		}
		if textLike(scratch[:n]) {
			return scratch[:n], true, scratch
		}
		if first == nil {
			if shift == 0 {
				return scratch[:n], false, scratch
			}
			first = bytes.Clone(scratch[:n])
		}
	}
	return first, false, scratch
}

// decodeCutRun decodes a run that may have lost up to a quantum's worth of
// leading characters (hex 2, base64 4, base32 8) at every phase: the
// phases that read as text go to text; if none does, every binary decoding
// goes to bin (one of them is aligned with the original run).
func decodeCutRun(run []byte, allHex, b32 bool) (text, bin [][]byte) {
	var bins [][]byte
	try := func(d []byte) {
		switch {
		case d == nil:
		case textLike(d):
			text = append(text, d)
		case len(run) >= minBinRun:
			bins = append(bins, d)
		}
	}
	if allHex {
		for shift := range 2 {
			r := run[shift:]
			r = r[:len(r)&^1]
			d := make([]byte, len(r)/2)
			if _, err := hex.Decode(d, r); err == nil {
				try(d)
			}
		}
		if len(text) > 0 {
			return text, nil
		}
		return nil, bins
	}
	if b32 {
		for shift := range 8 {
			if d := decodeBase32(run[shift:]); d != nil && textLike(d) {
				text = append(text, d)
			}
		}
	}
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	for shift := 0; shift < 4 && len(run)-shift >= minRun; shift++ {
		r := run[shift:]
		r = r[:len(r)&^3] // whole quanta: a partial last one only adds noise
		d := make([]byte, enc.DecodedLen(len(r)))
		if n, err := enc.Decode(d, r); err == nil {
			try(d[:n])
		}
	}
	if len(text) > 0 {
		return text, nil
	}
	return nil, bins
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, max(n, 2*cap(b)))
	}
	return b[:n]
}

// decodeBase32 decodes an unpadded base32 run in either letter case, from
// its start (base32 quanta are 8 characters; a partial last one is cut).
func decodeBase32(run []byte) []byte {
	r := bytes.ToUpper(run)
	if len(r)%8 != 0 {
		// Unpadded: only lengths 2, 4, 5, 7 mod 8 are valid; cut to one.
		for len(r)%8 != 0 && len(r)%8 != 2 && len(r)%8 != 4 && len(r)%8 != 5 && len(r)%8 != 7 {
			r = r[:len(r)-1]
		}
	}
	d := make([]byte, base32.StdEncoding.WithPadding(base32.NoPadding).DecodedLen(len(r)))
	n, err := base32.StdEncoding.WithPadding(base32.NoPadding).Decode(d, r)
	if err != nil {
		return nil
	}
	return d[:n]
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
