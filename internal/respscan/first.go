package respscan

import "regexp/syntax"

// firstBytes is the set of bytes a match of the pattern can start with
// (every byte when it can start with an empty-width assertion other than
// \b, or match empty). The pattern is ASCII: a rune range beyond 0x7f
// marks every byte >= 0x80.
func firstBytes(pattern string) *[256]bool {
	var set [256]bool
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic(err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		panic(err)
	}
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
				all(&set)
				return
			}
			walk(in.Out)
		case syntax.InstRune1, syntax.InstRune, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			addRunes(&set, in)
		default: // a match, or a failure: empty matches make every start possible
			all(&set)
		}
	}
	walk(uint32(prog.Start))
	return &set
}

func all(set *[256]bool) {
	for i := range set {
		set[i] = true
	}
}

func addRunes(set *[256]bool, in *syntax.Inst) {
	for c := 0; c < 256; c++ {
		r := rune(c)
		if c >= 0x80 {
			r = 0x80 // any non-ASCII rune starts with a byte >= 0x80
		}
		if c >= 0x80 && (in.Op == syntax.InstRuneAny || in.Op == syntax.InstRuneAnyNotNL || runesAbove(in)) || c < 0x80 && in.MatchRune(r) {
			set[c] = true
		}
	}
}

// runesAbove: the instruction matches some rune >= 0x80.
func runesAbove(in *syntax.Inst) bool {
	if in.Op != syntax.InstRune && in.Op != syntax.InstRune1 {
		return false
	}
	for i := 1; i < len(in.Rune); i += 2 {
		if in.Rune[i] >= 0x80 {
			return true
		}
	}
	return in.Op == syntax.InstRune1 && len(in.Rune) == 1 && in.Rune[0] >= 0x80
}
