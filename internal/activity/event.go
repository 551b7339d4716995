// Package activity turns what a bottle's sidecars logged into one stream
// of decisions the operator can read: requests allowed and blocked (with
// the rule and reason), credentials injected (by slot), pushes accepted or
// refused, proposals and answers, daemon starts and restarts.
//
// Every field comes from a fixed list: a log key this package does not know
// is dropped, so a value a daemon logs for debugging (a request path, which
// may carry the very secret that was blocked) never reaches the operator's
// terminal through `claude-bottle logs`.
package activity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kinds of event.
const (
	KindRequest  = "request"  // an HTTP(S) request or tunnel, allowed or blocked
	KindPush     = "push"     // a git push, accepted or refused
	KindFetch    = "fetch"    // a git fetch/clone served (or refused)
	KindProposal = "proposal" // the agent asked supervise for something
	KindAnswer   = "answer"   // the operator decided a proposal
	KindStart    = "start"    // a daemon started (listening)
	KindRestart  = "restart"  // a daemon died and is being restarted
	KindReload   = "reload"   // a daemon re-read its config
	KindError    = "error"    // a daemon reported an error or warning
)

// Decisions, normalised across daemons.
const (
	Allow = "allow"
	Block = "block"
)

// Event is one thing a sidecar decided or reported.
type Event struct {
	Time     time.Time `json:"time"`
	Daemon   string    `json:"daemon"`
	Kind     string    `json:"kind"`
	Decision string    `json:"decision,omitempty"`
	Method   string    `json:"method,omitempty"`
	Host     string    `json:"host,omitempty"`
	Port     string    `json:"port,omitempty"`
	Route    string    `json:"route,omitempty"`
	// Slot is the token slot egress injected (EGRESS_TOKEN_<N>): the name,
	// never the value.
	Slot   string `json:"slot,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	Status int    `json:"status,omitempty"`
	Remote string `json:"remote,omitempty"`
	Refs   string `json:"refs,omitempty"`
	// ID and What describe a proposal (its id and kind).
	ID       string `json:"id,omitempty"`
	What     string `json:"what,omitempty"`
	Message  string `json:"message,omitempty"`
	Operator string `json:"operator,omitempty"`
}

// Blocked reports whether the event is a refusal: a blocked request, a
// refused push or fetch, a rejected proposal.
func (e Event) Blocked() bool {
	switch e.Decision {
	case Block, "refused", "reject":
		return true
	}
	return false
}

// record is the subset of a daemon's slog line this package reads. Keys
// not named here are dropped on purpose (see the package comment).
type record struct {
	Time     time.Time       `json:"time"`
	Level    string          `json:"level"`
	Msg      string          `json:"msg"`
	Daemon   string          `json:"daemon"`
	Decision string          `json:"decision"`
	Method   string          `json:"method"`
	Host     string          `json:"host"`
	Port     json.RawMessage `json:"port"`
	Path     string          `json:"path"` // read only to cut it out of reasons
	Route    string          `json:"route"`
	Slot     string          `json:"injected_slot"`
	Rule     string          `json:"rule"`
	Reason   string          `json:"reason"`
	Status   int             `json:"status"`
	Remote   string          `json:"remote"`
	Service  string          `json:"service"`
	Refs     string          `json:"refs"`
	OK       *bool           `json:"ok"`
	Err      string          `json:"err"`
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Code     *int            `json:"code"`
}

// Line is one raw log line and where it came from.
type Line struct {
	// Source names the container or compose service the line came from
	// ("claude-bottle-pipelock-demo-abc12", "pipelock-1", "pipelock_1").
	Source string
	// Stamp is the engine's timestamp for the line, if it had one.
	Stamp time.Time
	Text  string
}

// SplitComposeLine splits one line of `compose logs --timestamps` (or of
// `docker logs --timestamps`, which has no source prefix) into its parts.
func SplitComposeLine(s string) Line {
	var l Line
	s = strings.TrimRight(s, "\r\n")
	if i := strings.Index(s, " | "); i > 0 && !strings.ContainsAny(s[:i], "{\"") {
		l.Source, s = strings.TrimSpace(s[:i]), s[i+3:]
	} else if i := strings.Index(s, "| "); i > 0 && !strings.ContainsAny(s[:i], " {\"") {
		l.Source, s = s[:i], s[i+2:]
	}
	if sp := strings.IndexByte(s, ' '); sp > 0 {
		if t, err := time.Parse(time.RFC3339Nano, s[:sp]); err == nil {
			l.Stamp, s = t, s[sp+1:]
		}
	}
	l.Text = s
	return l
}

// Parse reads one sidecar log line. ok is false for a line that is not a
// decision or report this package knows (health probes, plain text).
// fallback names the daemon when neither the line nor a "[daemon] "
// prefix does (a legacy container runs one daemon).
func Parse(l Line, fallback string) (Event, bool) {
	text := l.Text
	daemon := fallback
	if strings.HasPrefix(text, "[") {
		if i := strings.Index(text, "] "); i > 1 && i < 20 {
			daemon, text = text[1:i], text[i+2:]
		}
	}
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "{") {
		return Event{}, false
	}
	var r record
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	if err := dec.Decode(&r); err != nil {
		return Event{}, false
	}
	if r.Daemon != "" {
		daemon = r.Daemon
	}
	e := Event{Time: r.Time, Daemon: daemon}
	if e.Time.IsZero() {
		e.Time = l.Stamp
	}
	switch {
	case r.Msg == "request" || r.Msg == "decision":
		e.Kind = KindRequest
		e.Method, e.Host, e.Route, e.Rule, e.Reason, e.Status = r.Method, r.Host, r.Route, r.Rule, r.Reason, r.Status
		e.Port = portString(r.Port)
		e.Slot = r.Slot
		switch r.Decision {
		case "block":
			e.Decision = Block
		case "error":
			e.Decision = "error"
		case "":
			return Event{}, false
		case "warn", "strip":
			// pipelock's response scan (issue 16): passed or stripped
			// prompt injection, which the operator should see as such.
			e.Decision = r.Decision
		default: // allow, forward, tunnel
			e.Decision = Allow
		}
		// A reason may quote the path (egress: "path ... is outside
		// path_allowlist"), and the path may be the exfiltration.
		e.Reason = cut(e.Reason, r.Path, fmt.Sprintf("<path, %d bytes>", len(r.Path)))
		if e.Decision == Block && strings.HasPrefix(e.Rule, "dlp.") {
			// The host itself may be the exfiltration (a secret in a
			// subdomain): keep only the registrable part, here and in
			// the reason.
			short := redactHost(e.Host)
			e.Reason = cut(e.Reason, e.Host, short)
			e.Host = short
		}
	case r.Msg == "push":
		// git-gate's decision (receive-pack's own "session done" says
		// ok even when the hook refused).
		e.Kind, e.Remote, e.Refs, e.Rule, e.Reason = KindPush, r.Remote, r.Refs, r.Rule, r.Reason
		e.Decision = pushDecision(r)
	case r.Msg == "session done" && r.Service == "git-upload-pack":
		e.Kind, e.Remote = KindFetch, r.Remote
		e.Decision = pushDecision(r)
		if e.Decision == "refused" {
			e.Reason = r.Err
		}
	case r.Msg == "refused: upstream fetch failed" || r.Msg == "unknown repository":
		e.Kind, e.Remote, e.Decision, e.Reason = KindFetch, r.Remote, "refused", firstNonEmpty(r.Err, r.Msg)
	case r.Msg == "proposal queued" || r.Msg == "proposal repeated":
		e.Kind, e.ID, e.What, e.Message = KindProposal, r.ID, r.Kind, r.Msg
	case r.Msg == "proposal refused":
		e.Kind, e.What, e.Decision, e.Reason = KindProposal, r.Kind, "refused", r.Err
	case r.Msg == "listening" || r.Msg == "pipelock listening" || r.Msg == "daemon started":
		e.Kind = KindStart
		if r.Daemon != "" {
			e.Daemon = r.Daemon
		}
	case strings.HasPrefix(r.Msg, "daemon died") || strings.HasPrefix(r.Msg, "daemon restarting"):
		e.Kind, e.Message = KindRestart, r.Msg
		if r.Code != nil {
			e.Message += fmt.Sprintf(" (exit code %d)", *r.Code)
		}
	case r.Msg == "routes reloaded" || r.Msg == "config reloaded":
		e.Kind = KindReload
	case r.Level == "ERROR" || (r.Level == "WARN" && r.Msg != "goproxy"):
		e.Kind, e.Message, e.Reason = KindError, r.Msg, r.Err
	default:
		return Event{}, false
	}
	return e, true
}

// cut replaces every occurrence of s (raw and Go-quoted) in text.
func cut(text, s, with string) string {
	if len(s) < 2 || text == "" {
		return text
	}
	text = strings.ReplaceAll(text, strconv.Quote(s), with)
	return strings.ReplaceAll(text, s, with)
}

func pushDecision(r record) string {
	switch {
	case r.Decision == "accept" || r.Decision == "accepted" || r.Decision == Allow:
		return "accepted"
	case r.Decision != "":
		return "refused"
	case r.OK != nil && *r.OK:
		return "accepted"
	default:
		return "refused"
	}
}

func portString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return fmt.Sprint(n)
	}
	return ""
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

// redactHost keeps the last two labels of a host and says how much was cut.
func redactHost(h string) string {
	labels := strings.Split(h, ".")
	if len(labels) <= 2 {
		return h
	}
	cut := strings.Join(labels[:len(labels)-2], ".")
	return fmt.Sprintf("[%d bytes redacted].%s", len(cut), strings.Join(labels[len(labels)-2:], "."))
}

// Answer turns one line of a state dir's audit.jsonl into an event.
func Answer(line []byte) (Event, bool) {
	var a struct {
		Time       time.Time `json:"time"`
		ProposalID string    `json:"proposal_id"`
		Kind       string    `json:"kind"`
		Decision   string    `json:"decision"`
		Operator   string    `json:"operator"`
		Applied    string    `json:"applied"`
		Restart    bool      `json:"restart_required"`
		Error      string    `json:"error"`
	}
	if json.Unmarshal(line, &a) != nil || a.ProposalID == "" {
		return Event{}, false
	}
	e := Event{Time: a.Time, Daemon: "operator", Kind: KindAnswer, ID: a.ProposalID, What: a.Kind, Decision: a.Decision, Operator: a.Operator, Reason: a.Error}
	switch {
	case a.Restart:
		e.Message = "applies at the next resume"
	case a.Applied != "":
		e.Message = "applied"
	}
	return e, true
}
