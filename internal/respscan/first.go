package respscan

import "regexp/syntax"

// startSet holds the two-byte prefixes a match of a pattern can start
// with: bit c2 of pairs[c1]. It is conservative (a superset): empty-width
// assertions are passed over, any rune beyond ASCII marks every byte >=
// 0x80, and a pattern that can match one byte or none allows anything
// after it.
type startSet struct {
	pairs [256][4]uint64
}

func (s *startSet) has(c1, c2 byte) bool { return s.pairs[c1][c2>>6]&(1<<(c2&63)) != 0 }

// at: a match can start at low[p] (with low[p+1] after it, if any).
func (s *startSet) at(low []byte, p int) bool {
	if p+1 < len(low) {
		return s.has(low[p], low[p+1])
	}
	return s.pairs[low[p]] != [4]uint64{}
}

func startsOf(pattern string) *startSet {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic(err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		panic(err)
	}
	set := &startSet{}
	first, anyFirst := runeInsts(prog, uint32(prog.Start))
	for c1 := 0; c1 < 256; c1++ {
		var next []*syntax.Inst
		matched := anyFirst
		for _, in := range first {
			if matchesByte(in, byte(c1)) {
				n, any := runeInsts(prog, in.Out)
				next = append(next, n...)
				matched = matched || any
			}
		}
		for c2 := 0; c2 < 256; c2++ {
			ok := matched
			for _, in := range next {
				ok = ok || matchesByte(in, byte(c2))
			}
			if ok {
				set.pairs[c1][c2>>6] |= 1 << (c2 & 63)
			}
		}
	}
	return set
}

// runeInsts are the rune instructions reachable from pc without reading
// a byte; any: a match (or an assertion this does not model) is.
func runeInsts(prog *syntax.Prog, pc uint32) (out []*syntax.Inst, any bool) {
	seen := map[uint32]bool{}
	var walk func(pc uint32)
	walk = func(pc uint32) {
		if seen[pc] {
			return
		}
		seen[pc] = true
		in := &prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			walk(in.Out)
			walk(in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			walk(in.Out)
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary|syntax.EmptyBeginText|syntax.EmptyBeginLine) != 0 {
				any = true
				return
			}
			walk(in.Out)
		case syntax.InstRune1, syntax.InstRune, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			out = append(out, in)
		default: // InstMatch, InstFail
			any = true
		}
	}
	walk(pc)
	return out, any
}

// matchesByte: in can match a rune starting with byte c (any rune >= 0x80
// for a byte >= 0x80).
func matchesByte(in *syntax.Inst, c byte) bool {
	switch in.Op {
	case syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
		return c != '\n' || in.Op == syntax.InstRuneAny
	}
	if c < 0x80 {
		return in.MatchRune(rune(c))
	}
	for i := 1; i < len(in.Rune); i += 2 {
		if in.Rune[i] >= 0x80 {
			return true
		}
	}
	return in.Op == syntax.InstRune1 && len(in.Rune) == 1 && in.Rune[0] >= 0x80
}
