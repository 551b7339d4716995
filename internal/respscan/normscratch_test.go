package respscan

import (
	"bytes"
	"slices"
	"testing"
)

// TestNormalizeIntoReuse: a decoded view built in storage left by a
// longer or shorter one is the view built afresh, map included.
func TestNormalizeIntoReuse(t *testing.T) {
	texts := []string{
		"a &lt;b&gt; \\u0041 z\u200bw &#105;gnore",
		"",
		"plain ascii text with no entity at all, a bit longer than the rest of them",
		"x&amp;y\\n\u00e9\u202e!",
	}
	var ns normScratch
	for round := range 2 {
		for _, s := range texts {
			want, wm := normalizeInto(nil, &normMap{}, []byte(s))
			got, gm := normalizeInto(ns.buf, &ns.m, []byte(s))
			ns.buf = got
			if !bytes.Equal(got, want) || !slices.Equal(gm.segs, wm.segs) || gm.srcLen != wm.srcLen || gm.viewLen != wm.viewLen {
				t.Fatalf("round %d, %q: reused view %q %+v, fresh %q %+v", round, s, got, *gm, want, *wm)
			}
		}
	}
}
