package respscan

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
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

// TestLowerIndexIntoReuse: an index built in the storage of another
// (more hits, fewer, none) is the index built afresh, nil entries
// included.
func TestLowerIndexIntoReuse(t *testing.T) {
	texts := indexTexts(t)
	names := slices.Sorted(maps.Keys(texts))
	names = append(names, names...)
	var ix index
	var buf []byte
	for _, name := range append(names, "") {
		text := texts[name]
		_, want, _ := lowerIndex(nil, text)
		low, got, _ := lowerIndexInto(buf, text, &ix)
		buf = low
		for id := range want.pos {
			if !slices.Equal(got.pos[id], want.pos[id]) || (got.pos[id] == nil) != (want.pos[id] == nil) {
				t.Fatalf("%s: literal %d at %v, fresh %v", name, id, got.pos[id], want.pos[id])
			}
		}
	}
}
