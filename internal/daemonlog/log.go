// Package daemonlog is the log schema of every daemon (egress, pipelock,
// git-gate, supervise): JSON lines on stdout, the same keys for the same
// facts, the daemon's name on every line, and agent-written text escaped.
// It is a leaf: git-gate and supervise use it without linking a proxy.
package daemonlog

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The log schema every daemon (egress, pipelock, git-gate, supervise)
// writes: one JSON object per line, with these keys where they apply.
const (
	KeyDaemon   = "daemon"   // the daemon's name (layout.Daemon*), on every line
	KeyErr      = "err"      // an error's text
	KeyRule     = "rule"     // the rule that blocked
	KeyReason   = "reason"   // why, in words
	KeyDecision = "decision" // allow, block, error, ...
	KeyConfig   = "config"   // the config file a line is about
	KeyAddr     = "addr"     // a listen address
)

// New is every daemon's logger: JSON lines on w, each carrying
// daemon=<name>. String values are passed through Escape, because much of
// what the daemons log (paths, hosts, methods, git refs, error texts) is
// written by the agent, and the log ends up in the operator's terminal and
// in compose.log.
func New(w io.Writer, daemon string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: escapeAttr})
	return slog.New(h).With(KeyDaemon, daemon)
}

func escapeAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindString {
		if s := a.Value.String(); needsEscape(s) {
			a.Value = slog.StringValue(Escape(s))
		}
	}
	return a
}

// Escape makes agent-written text safe to print: every control character
// (C0, DEL, C1: terminal escape sequences start with ESC or the 8-bit
// CSI), bidi override and isolate, zero-width and other invisible format
// character, and every invalid UTF-8 byte, is written as a visible \xNN or
// \u{NNNN}.
// Printable text, spaces included, is kept as it is.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case hidden(r):
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u{%04x}`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || hidden(r) {
			return true
		}
		i += n
	}
	return false
}

// hidden reports a rune that does not show as itself on a terminal.
func hidden(r rune) bool {
	return r != ' ' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) ||
		unicode.Is(unicode.Zp, r) || (unicode.IsSpace(r) && r >= 0x80))
}
