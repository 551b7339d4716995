//go:build amd64 && !purego

package respscan

import "golang.org/x/sys/cpu"

// hasAVX2: x/sys/cpu checks the CPUID bit and that the OS saves the YMM
// registers (XGETBV).
var hasAVX2 = cpu.X86.HasAVX2

// lowerMarkAVX2 lowers and marks nblk blocks of 32 positions from 0: it
// reads src[:32*nblk+2] and writes dst[:32*nblk] (dst nil: no writes) and
// the 32-bit halves of marks for those positions. It reports whether a
// byte >= 0x80 was among src[:32*nblk].
//
//go:noescape
func lowerMarkAVX2(dst, src *byte, marks *uint64, nblk int, tab *[6][16]uint8) (nonASCII bool)

// lowerMark writes the ASCII-lower-cased src into dst (dst nil: src is
// lower-cased already and only the marks are wanted; len(dst) >=
// len(src)), clears marks[:(len(src)+63)/64] and sets bit i%64 of
// marks[i/64] for every Teddy candidate position i, and reports whether
// src holds a byte >= 0x80.
func lowerMark(dst, src []byte, marks []uint64) (nonASCII bool) {
	return lowerMarkTab(&teddy, dst, src, marks)
}

func lowerMarkTab(t *teddyTables, dst, src []byte, marks []uint64) (nonASCII bool) {
	n := len(src)
	if !hasAVX2 || n < 34 {
		return lowerMarkGeneric(t, dst, src, marks)
	}
	// Each block reads 2 bytes past its 32: the last 2..33 bytes are Go's.
	nblk := (n - 2) / 32
	nw := (n + 63) / 64
	_ = marks[nw-1]
	var d *byte
	if dst != nil {
		_ = dst[n-1]
		d = &dst[0]
	}
	// The kernel writes whole 32-bit halves; the words from the one it
	// may half-fill on are Go's to clear.
	clear(marks[nblk/2 : nw])
	nonASCII = lowerMarkAVX2(d, &src[0], &marks[0], nblk, &t.nib)
	return lowerMarkFrom(t, dst, src, marks, 32*nblk) || nonASCII
}
