package activity

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// DaemonOf names the daemon behind a log source: a legacy container
// ("claude-bottle-pipelock-<slug>"), a compose service ("pipelock-1",
// "pipelock_1") or the bundle ("sidecars", whose lines carry a
// "[daemon] " prefix instead). The agent's own container is "agent".
func DaemonOf(source, slug string) string {
	s := source
	if slug != "" {
		if s == layout.AgentContainer(slug) {
			return "agent"
		}
		s = strings.TrimSuffix(s, "-"+slug)
		s = strings.TrimPrefix(s, layout.ProjectPrefix+"-")
	}
	// compose v2 "<service>-<n>", v1 "<project>_<service>_<n>" or a
	// container name; strip a trailing replica number.
	if i := strings.LastIndexAny(s, "-_"); i > 0 && strings.Trim(s[i+1:], "0123456789") == "" {
		s = s[:i]
	}
	for _, d := range append(append([]string{}, layout.DaemonOrder...), "sidecars", "agent") {
		if s == d || strings.HasSuffix(s, "_"+d) {
			return d
		}
	}
	return s
}

// Human writes one event as a line for a terminal. Every field that an
// agent, an upstream or a proposal can set goes through Escape.
func Human(w io.Writer, e Event) error {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("2006-01-02 15:04:05.000"))
	fmt.Fprintf(&b, "  %-9s", daemonlog.Escape(e.Daemon))
	add := func(k, v string) {
		if v != "" {
			b.WriteString("  ")
			if k != "" {
				b.WriteString(k)
				b.WriteByte('=')
			}
			b.WriteString(daemonlog.Escape(v))
		}
	}
	switch e.Kind {
	case KindRequest:
		verdict := "ALLOW"
		switch {
		case e.Decision == Block:
			verdict = "BLOCK"
		case e.Decision == "error":
			verdict = "ERROR"
		case e.Decision == "warn", e.Decision == "strip":
			// pipelock's response scan: prompt injection passed or stripped
			verdict = strings.ToUpper(e.Decision)
		}
		fmt.Fprintf(&b, "  %-5s", verdict)
		target := e.Host
		if e.Port != "" && e.Port != "443" && e.Port != "80" {
			target += ":" + e.Port
		}
		add("", strings.TrimSpace(e.Method+" "+target))
		if e.Status != 0 {
			add("status", fmt.Sprint(e.Status))
		}
		add("route", e.Route)
		add("injected", e.Slot)
		add("rule", e.Rule)
		add("", e.Reason)
	case KindPush, KindFetch:
		fmt.Fprintf(&b, "  %-5s", strings.ToUpper(e.Kind))
		add("", e.Decision)
		add("remote", e.Remote)
		add("refs", e.Refs)
		add("rule", e.Rule)
		add("", e.Reason)
	case KindProposal:
		fmt.Fprintf(&b, "  %-5s", "ASK")
		add("id", e.ID)
		add("kind", e.What)
		add("", e.Decision)
		add("", e.Reason)
	case KindAnswer:
		fmt.Fprintf(&b, "  %-5s", "ANSWR")
		add("id", e.ID)
		add("kind", e.What)
		add("", e.Decision)
		add("by", e.Operator)
		add("", e.Message)
		add("error", e.Reason)
	default:
		fmt.Fprintf(&b, "  %-5s", strings.ToUpper(e.Kind))
		add("", e.Message)
		add("", e.Reason)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes one event as a JSON line (encoding/json escapes every
// control character).
func JSON(w io.Writer, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
