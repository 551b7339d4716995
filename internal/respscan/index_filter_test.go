package respscan

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestMaybeLiteralKeepsEveryLiteral: the filters in front of the bucket
// walk never drop a literal, whatever bytes follow it.
func TestMaybeLiteralKeepsEveryLiteral(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for l := range literalID {
		for range 200 {
			var w [8]byte
			for i := range w {
				w[i] = byte(r.IntN(256))
			}
			copy(w[:], l)
			if !maybeLiteral(binary.LittleEndian.Uint64(w[:])) {
				t.Fatalf("maybeLiteral drops %q (as %q)", l, w)
			}
		}
	}
	// Text that starts no literal is mostly dropped: the filter pays.
	drop := 0
	for _, s := range []string{"the quic", "for the ", "your cod", "main()  ", "package ", "systemat"} {
		if !maybeLiteral(binary.LittleEndian.Uint64([]byte(s))) {
			drop++
		}
	}
	if drop < 4 {
		t.Fatalf("maybeLiteral keeps most non-literals (%d of 6 dropped)", drop)
	}
}
