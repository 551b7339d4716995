//go:build !amd64 || purego

package respscan

// lowerMark writes the ASCII-lower-cased src into dst (dst nil: src is
// lower-cased already and only the marks are wanted; len(dst) >=
// len(src)), clears marks[:(len(src)+63)/64] and sets bit i%64 of
// marks[i/64] for every Teddy candidate position i, and reports whether
// src holds a byte >= 0x80.
func lowerMark(dst, src []byte, marks []uint64) (nonASCII bool) {
	return lowerMarkGeneric(&teddy, dst, src, marks)
}

func lowerMarkTab(t *teddyTables, dst, src []byte, marks []uint64) (nonASCII bool) {
	return lowerMarkGeneric(t, dst, src, marks)
}
