package dlp

// nextLongRun returns the first run [s, e) of at least n bytes with
// in[c] != 0, maximal, starting at or after from (b[from-1], if any, must
// not be in the class), and the OR of in[c] over it; s = e = len(b) if
// there is none.
//
// The run scanners (decodeRuns, checkAssignments) act only on long runs,
// and most of the text between them is words of prose. A run of n bytes
// holds one of every n consecutive positions, so only every n-th byte is
// probed; a probe that lands in a short run costs that run's length. The
// byte-at-a-time walk this replaces read every byte.
func nextLongRun(b []byte, in *[256]uint8, n, from int) (s, e int, acc uint8) {
	for p := from + n - 1; p < len(b); {
		if in[b[p]] == 0 {
			p += n
			continue
		}
		s, acc = p, in[b[p]]
		for s > from && in[b[s-1]] != 0 {
			s--
			acc |= in[b[s]]
		}
		e = p + 1
		for e < len(b) && in[b[e]] != 0 {
			acc |= in[b[e]]
			e++
		}
		if e-s >= n {
			return s, e, acc
		}
		from = e + 1 // b[e] is not in the class
		p = from + n - 1
	}
	return len(b), len(b), 0
}
