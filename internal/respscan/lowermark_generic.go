package respscan

import "encoding/binary"

// lowerMarkGeneric is lowerMark in portable Go: the reference the AVX2
// kernel is tested against, the path where AVX2 is missing, and (through
// lowerMarkFrom) the last bytes of a window on the AVX2 path.
func lowerMarkGeneric(t *teddyTables, dst, src []byte, marks []uint64) (nonASCII bool) {
	clear(marks[:(len(src)+63)/64])
	return lowerMarkFrom(t, dst, src, marks, 0)
}

// lowerMarkFrom lowers src[p:] into dst[p:] (dst nil: only marks) and
// sets the marks of positions p and up, whose bits must be clear.
func lowerMarkFrom(t *teddyTables, dst, src []byte, marks []uint64, p int) (nonASCII bool) {
	n := len(src)
	low := src
	if dst != nil {
		low = dst[:n]
		var or uint64
		i := p
		for ; i+8 <= n; i += 8 {
			v := binary.LittleEndian.Uint64(src[i:])
			or |= v
			binary.LittleEndian.PutUint64(low[i:], lower8(v))
		}
		for ; i < n; i++ {
			c := src[i]
			or |= uint64(c)
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		nonASCII = or&0x8080808080808080 != 0
	} else {
		for _, c := range src[p:] {
			if c >= 0x80 {
				nonASCII = true
				break
			}
		}
	}
	// low is the lower-cased text from p on (src itself when dst is nil:
	// the caller passes text that is lower-cased already).
	m0, m1, m2 := &t.mask[0], &t.mask[1], &t.mask[2]
	i := p
	for ; i+2 < n; i++ {
		if m0[low[i]]&m1[low[i+1]]&m2[low[i+2]] != 0 {
			marks[i/64] |= 1 << (i % 64)
		}
	}
	// Bytes beyond the end match every bucket.
	if i == n-2 {
		if m0[low[i]]&m1[low[i+1]] != 0 {
			marks[i/64] |= 1 << (i % 64)
		}
		i++
	}
	if i == n-1 && m0[low[i]] != 0 {
		marks[i/64] |= 1 << (i % 64)
	}
	return nonASCII
}

// lower8 lower-cases the ASCII letters of 8 bytes at once. For each byte
// c < 0x80: 0x80 is set in (c+0x3f) iff c >= 'A', and in (c+0x25) iff
// c > 'Z'; bytes >= 0x80 are left alone.
func lower8(v uint64) uint64 {
	const m = 0x7f7f7f7f7f7f7f7f
	ascii := ^v & 0x8080808080808080
	low7 := v & m
	ge := (low7 + 0x3f3f3f3f3f3f3f3f) & 0x8080808080808080
	gt := (low7 + 0x2525252525252525) & 0x8080808080808080
	return v | (ge&^gt&ascii)>>2
}
