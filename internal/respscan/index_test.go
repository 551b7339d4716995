package respscan

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// newIndexBytewise is the index as it was built before the Teddy scan:
// the pair table looked up at every byte. The reference newIndex must
// equal, and the baseline BenchmarkLowerIndex compares with.
func newIndexBytewise(low []byte) *index {
	ix := &index{pos: make([][]int, len(literalID))}
	for i := 0; i+1 < len(low); i++ {
		b := pairBucket[uint16(low[i])<<8|uint16(low[i+1])]
		if b == 0 {
			continue
		}
		for _, l := range buckets[b-1] {
			if bytes.HasPrefix(low[i:], l.b) && !(l.wordStart && i > 0 && isWordByte(low[i-1])) {
				ix.pos[l.id] = append(ix.pos[l.id], i)
			}
		}
	}
	return ix
}

// slowIndex: every occurrence of every literal, by bytes.Index; with
// words, those of a literal only word-start rules read are dropped when a
// word byte precedes them.
func slowIndex(low []byte, words bool) [][]int {
	pos := make([][]int, len(literalID))
	for l, id := range literalID {
		for i := 0; ; i++ {
			j := bytes.Index(low[i:], []byte(l))
			if j < 0 {
				break
			}
			i += j
			if words && wordStartOnly([]byte(l)) && i > 0 && isWordByte(low[i-1]) {
				continue
			}
			pos[id] = append(pos[id], i)
		}
	}
	return pos
}

// indexTexts: documentation HTML, the Go spec, random text made of
// literal pieces, and literals at both ends of short windows.
func indexTexts(t *testing.T) map[string][]byte {
	r := rand.New(rand.NewPCG(7, 8))
	texts := map[string][]byte{}
	page := docsHTML()
	texts["docs-64k"] = page[:64<<10]
	texts["docs-64k-odd"] = page[12345 : 12345+64<<10+7]
	spec, err := os.ReadFile(filepath.Join(goroot(t), "doc", "go_spec.html"))
	if err != nil {
		t.Fatal(err)
	}
	texts["go_spec"] = spec
	ls := allLiterals()
	var soup []byte
	for len(soup) < 200_000 {
		l := ls[r.IntN(len(ls))]
		switch r.IntN(4) {
		case 0:
			soup = append(soup, l...)
		case 1:
			soup = append(soup, l[:1+r.IntN(len(l))]...) // a prefix
		case 2:
			soup = append(soup, bytes.ToUpper([]byte(l))...)
		default:
			soup = append(soup, mixedBytes(r, r.IntN(5))...)
		}
	}
	texts["soup"] = soup
	texts["random"] = mixedBytes(r, 100_000)
	for _, l := range ls {
		for _, pad := range []int{0, 1, 2, 31, 32, 33, 62, 63, 64} {
			filler := bytes.Repeat([]byte("x"), pad)
			texts["end/"+l+"/"+string(rune('a'+pad%26))+string(rune('0'+pad/26))] = append(slices.Clone(filler), l...)
			texts["start/"+l+"/"+string(rune('a'+pad%26))+string(rune('0'+pad/26))] = append([]byte(l), filler...)
		}
		texts["only/"+l] = []byte(l)
		texts["twice/"+l] = []byte(l + l)
	}
	return texts
}

func TestNewIndexMatchesReference(t *testing.T) {
	for name, text := range indexTexts(t) {
		low := lowerASCII(text)
		want := slowIndex(low, true)
		old := newIndexBytewise(low)
		for _, got := range []*index{newIndex(low), func() *index {
			l, ix, na := lowerIndex(nil, text)
			if !bytes.Equal(l, low) {
				t.Fatalf("%s: lowerIndex's view is not lowerASCII", name)
			}
			if na != slices.ContainsFunc(text, func(c byte) bool { return c >= 0x80 }) {
				t.Fatalf("%s: nonASCII %v", name, na)
			}
			return ix
		}()} {
			for l, id := range literalID {
				if !slices.Equal(got.pos[id], want[id]) {
					t.Fatalf("%s: %q at %v, want %v", name, l, got.pos[id], want[id])
				}
				if (got.pos[id] == nil) != (old.pos[id] == nil) {
					t.Fatalf("%s: %q nil-ness differs from the bytewise index", name, l)
				}
			}
		}
		anyWant := slices.ContainsFunc(slowIndex(low, false), func(p []int) bool { return len(p) > 0 })
		if got := anyTrigger(low); got != anyWant {
			t.Fatalf("%s: anyTrigger %v, want %v", name, got, anyWant)
		}
	}
}

// TestTeddyNoFalseNegatives: every occurrence of every literal is a
// candidate, wherever it sits in the window.
func TestTeddyNoFalseNegatives(t *testing.T) {
	for name, text := range indexTexts(t) {
		low := lowerASCII(text)
		marks := make([]uint64, (len(low)+63)/64)
		lowerMark(nil, low, marks)
		for l, pos := range slowIndex(low, false) {
			for _, i := range pos {
				if marks[i/64]>>(i%64)&1 == 0 {
					t.Fatalf("%s: literal %d at %d is no candidate", name, l, i)
				}
			}
		}
	}
}

// TestTeddyFalseCandidates logs how many candidates the exact check
// drops on ordinary text (the figure the bucketing is chosen by).
func TestTeddyFalseCandidates(t *testing.T) {
	texts := indexTexts(t)
	for _, name := range []string{"docs-64k", "go_spec"} {
		text, ok := texts[name]
		if !ok {
			continue
		}
		low := lowerASCII(text)
		marks := make([]uint64, (len(low)+63)/64)
		lowerMark(nil, low, marks)
		cand := 0
		for _, m := range marks {
			for ; m != 0; m &= m - 1 {
				cand++
			}
		}
		hits := 0
		for i := range low {
			seen := false
			for l := range literalID {
				if !seen && bytes.HasPrefix(low[i:], []byte(l)) {
					hits++
					seen = true
				}
			}
		}
		t.Logf("%s: %d bytes, %d candidates (%.2f%% of bytes), %d true (%.2f%%), false %.2f%% of bytes",
			name, len(low), cand, 100*float64(cand)/float64(len(low)), hits, 100*float64(hits)/float64(len(low)),
			100*float64(cand-hits)/float64(len(low)))
	}
}

// BenchmarkLowerIndex: the lower-cased view and its index of one 64 KiB
// docs window, as Scan needs them; bytewise is lowerInto+newIndex as
// they were.
func BenchmarkLowerIndex(b *testing.B) {
	w := docsHTML()[:64<<10]
	buf := make([]byte, len(w))
	b.Run("teddy", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			lowerIndex(buf, w)
		}
	})
	b.Run("bytewise", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			newIndexBytewise(lowerInto(buf, w))
		}
	})
}
