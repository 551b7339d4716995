package pipelock

import (
	"fmt"
	"net/http"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/proxykit"
)

// Decisions, as logged.
const (
	decAllow = "allow"
	decBlock = "block"
	decError = "error"
)

// Rule names that are not DLP rules (those live in package dlp).
const (
	RuleAllowlist    = "allowlist"
	RuleIPLiteral    = "ip-literal"
	RuleSSRF         = "ssrf"
	RuleSNI          = "sni-mismatch"
	RuleHostMismatch = "host-mismatch"
	RuleBodyTooLarge = "body-too-large"
	RuleCompressed   = "compressed-body"
	RuleBadRequest   = "bad-request"
	RuleUpgrade      = "protocol-upgrade"
	RuleMethod       = "method"
	RulePath         = proxykit.RulePath
)

// decision is one logged decision: one JSON line per request (per
// connection for passthrough tunnels).
type decision struct {
	Mode     string // "http", "mitm", "passthrough", "connect"
	Method   string
	Host     string
	Port     string
	PathLen  int // the path itself may hold the very secret that was blocked
	Decision string
	Rule     string
	Reason   string
	Status   int
	start    time.Time
}

func (s *Server) logDecision(d *decision) {
	attrs := []any{
		"mode", d.Mode, "method", d.Method, "host", d.Host, "port", d.Port,
		"decision", d.Decision,
	}
	if d.PathLen > 0 {
		attrs = append(attrs, "path_len", d.PathLen)
	}
	if d.Rule != "" {
		attrs = append(attrs, "rule", d.Rule, "reason", d.Reason)
	}
	if d.Status != 0 {
		attrs = append(attrs, "status", d.Status)
	}
	if !d.start.IsZero() {
		attrs = append(attrs, "ms", float64(time.Since(d.start).Microseconds())/1000)
	}
	s.log.Info("decision", attrs...)
}

// blockBody is the text of every block: "blocked: <reason> (rule: <rule>)".
func blockBody(rule, reason string) string {
	return fmt.Sprintf("blocked: %s (rule: %s)\n", reason, rule)
}

// blockResponse is the 403 goproxy sends back for a blocked request.
func blockResponse(req *http.Request, rule, reason string) *http.Response {
	resp := goproxy.NewResponse(req, "text/plain; charset=utf-8", http.StatusForbidden, blockBody(rule, reason))
	resp.Header.Set("X-Pipelock-Rule", rule)
	return resp
}

// writeBlock writes a 403 block directly (CONNECT refusals).
func writeBlock(w http.ResponseWriter, rule, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Pipelock-Rule", rule)
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(blockBody(rule, reason)))
}
