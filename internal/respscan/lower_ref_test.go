package respscan

import "encoding/binary"

// The SWAR lower-casing Scan used before lowerMark: the reference the
// kernel's tests hold its view to.

// lowerASCII lower-cases ASCII letters only, so offsets are unchanged.
func lowerASCII(b []byte) []byte { return lowerInto(nil, b) }

// lowerInto is lowerASCII into dst's storage when it is large enough.
func lowerInto(dst, b []byte) []byte {
	o := dst[:0]
	if cap(o) >= len(b) {
		o = o[:len(b)]
	} else {
		o = make([]byte, len(b))
	}
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		// For each byte c < 0x80: 0x80 set in (c+0x3f) iff c >= 'A', and
		// in (c+0x25) iff c > 'Z'; bytes >= 0x80 are left alone.
		const m = 0x7f7f7f7f7f7f7f7f
		ascii := ^v & 0x8080808080808080
		low7 := v & m
		ge := (low7 + 0x3f3f3f3f3f3f3f3f) & 0x8080808080808080
		gt := (low7 + 0x2525252525252525) & 0x8080808080808080
		upper := ge &^ gt & ascii
		binary.LittleEndian.PutUint64(o[i:], v|upper>>2)
	}
	for ; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		o[i] = c
	}
	return o
}
