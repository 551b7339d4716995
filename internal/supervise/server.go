// Package supervise is the MCP server the agent calls when it is blocked
// (DESIGN §1): each tool call becomes a proposal file in the bottle's queue
// dir; the operator decides in `claude-bottle dashboard`; the answer file
// comes back through the same dir and the tool call returns it.
//
// Waiting for a person: an answer may come half an hour later, far past any
// MCP client's request timeout. So a call never waits longer than Hold
// (default 45 s, under the common 60 s client default). While it waits it
// sends progress notifications every ProgressEvery when the client gave a
// progress token (clients that reset their timeout on progress keep the call
// alive). If no answer came, the call returns status "pending" with the
// proposal id and the instruction to call `wait-for-decision` with that id,
// which long-polls the same way and may be called again and again. Every
// piece of state is in the queue dir, so a restarted daemon (or a second
// one) answers those calls just the same, and the same request repeated
// after a timeout maps to the pending proposal instead of a duplicate.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/internal/agentcontract"
	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// DefaultHold is how long a call waits before it returns "pending". The
// agent is told the matching MCP tool timeout (agentcontract), so the value
// lives there.
const DefaultHold = agentcontract.DefaultHold

// Version is reported in the MCP handshake.
const Version = "0.1.0"

// Config of one daemon.
type Config struct {
	QueueDir     string // the bottle's queue dir
	Slug         string // the bottle's slug, recorded in proposals
	RoutesFile   string // live routes.json (read only), for list-egress-routes
	PipelockFile string // live pipelock.json (read only)
	// Hold is how long one call waits for the operator before it returns
	// "pending"; Poll how often it looks for the answer file;
	// ProgressEvery how often it sends a progress notification.
	Hold, Poll, ProgressEvery time.Duration
	Logger                    *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Hold <= 0 {
		c.Hold = DefaultHold
	}
	if c.Poll <= 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = daemonlog.New(os.Stdout, layout.DaemonSupervise)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Tool names.
const (
	ToolEgress     = "egress-block"
	ToolPipelock   = "pipelock-block"
	ToolCapability = "capability-block"
	ToolListRoutes = "list-egress-routes"
	ToolWait       = "wait-for-decision"
)

// Status values of a Decision besides the queue's decisions.
const StatusPending = "pending"

// EgressInput is the egress-block tool's input.
type EgressInput struct {
	Host          string             `json:"host" jsonschema:"bare host name the request was blocked for, e.g. api.github.com (no scheme, port or path)"`
	PathAllowlist []string           `json:"path_allowlist,omitempty" jsonschema:"optional path prefixes to allow, each starting with /; omit for any path"`
	Auth          *queue.AuthRequest `json:"auth,omitempty" jsonschema:"optional: ask for a credential on this route (the operator chooses which; you never see it)"`
	Justification string             `json:"justification" jsonschema:"why you need it: the task, the command that was blocked and the block message"`
}

// PipelockInput is the pipelock-block tool's input.
type PipelockInput struct {
	Hosts         []string `json:"hosts" jsonschema:"bare host names to add to the firewall allowlist (no credential is injected for them)"`
	Justification string   `json:"justification" jsonschema:"why you need them: the task, the command that was blocked and the block message"`
}

// CapabilityInput is the capability-block tool's input.
type CapabilityInput struct {
	Dockerfile    string `json:"dockerfile" jsonschema:"the whole new Dockerfile of your container (ordinary Dockerfile, no # syntax= line); approval rebuilds the bottle"`
	Justification string `json:"justification" jsonschema:"why you need it: the missing tool or package and what you tried"`
}

// WaitInput is the wait-for-decision tool's input.
type WaitInput struct {
	ID string `json:"id" jsonschema:"the proposal id a *-block tool returned with status pending"`
}

// Decision is what every proposing tool and wait-for-decision return.
type Decision struct {
	ID              string `json:"id"`
	Status          string `json:"status" jsonschema:"pending, approved, modified or rejected"`
	Notes           string `json:"notes,omitempty"`
	Applied         string `json:"applied,omitempty"`
	RestartRequired bool   `json:"restart_required,omitempty"`
	Message         string `json:"message"`
	// Current: what the bottle allows today for the hosts asked about, so
	// the agent can tell a missing route from a narrow one.
	Current string `json:"current,omitempty"`
}

// RoutesOutput is list-egress-routes' output.
type RoutesOutput struct {
	Routes    []RouteInfo `json:"routes"`
	Allowlist []string    `json:"allowlist"`
	Message   string      `json:"message,omitempty"`
}

// RouteInfo is one live route as the agent may see it (no slot names).
type RouteInfo struct {
	Host          string   `json:"host"`
	PathAllowlist []string `json:"path_allowlist,omitempty"`
	Credential    bool     `json:"credential" jsonschema:"true when egress injects a credential on this route"`
}

type daemon struct{ cfg Config }

// NewServer returns the MCP server with its tools.
func NewServer(cfg Config) *mcp.Server {
	cfg.defaults()
	d := &daemon{cfg: cfg}
	s := mcp.NewServer(&mcp.Implementation{Name: "claude-bottle-supervise", Version: Version}, &mcp.ServerOptions{
		Instructions: "You run in a sandbox (a bottle). When the network or your image blocks you, ask the operator with " +
			ToolEgress + " (an HTTP(S) host, optionally with a credential), " + ToolPipelock + " (hosts for the firewall allowlist) or " +
			ToolCapability + " (a new Dockerfile). A person decides; that can take long. If a call returns status pending, call " +
			ToolWait + " with the id until the status is approved, modified or rejected.",
	})
	mcp.AddTool(s, &mcp.Tool{Name: ToolEgress, Description: "Ask the operator to let the bottle reach an HTTP(S) host through egress (optionally with a credential the operator picks). Blocks until decided or returns status pending with an id for " + ToolWait + "."}, d.egress)
	mcp.AddTool(s, &mcp.Tool{Name: ToolPipelock, Description: "Ask the operator to add hosts to the firewall allowlist (no credential). Blocks until decided or returns status pending with an id for " + ToolWait + "."}, d.pipelock)
	mcp.AddTool(s, &mcp.Tool{Name: ToolCapability, Description: "Propose a new Dockerfile for your container (e.g. to install a package). Approval rebuilds the bottle: your session restarts. Returns status pending with an id for " + ToolWait + " if not decided in time."}, d.capability)
	mcp.AddTool(s, &mcp.Tool{Name: ToolListRoutes, Description: "List the hosts and paths the bottle can reach now (egress routes and the firewall allowlist)."}, d.listRoutes)
	mcp.AddTool(s, &mcp.Tool{Name: ToolWait, Description: "Wait for the operator's decision on a proposal. Returns status pending again if still undecided; call it again."}, d.wait)
	return s
}

// Handler serves the MCP streamable HTTP transport. It is stateless: no
// session lives in memory, so a restarted daemon serves an agent's next call
// without a new handshake.
func Handler(cfg Config) http.Handler {
	s := NewServer(cfg)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		Stateless: true,
		Logger:    cfg.Logger,
		// 64 KiB Dockerfile plus JSON overhead.
		MaxRequestBodyBytes: 1 << 20,
	})
}

func (d *daemon) egress(ctx context.Context, req *mcp.CallToolRequest, in EgressInput) (*mcp.CallToolResult, Decision, error) {
	p := &queue.Proposal{Kind: queue.KindEgress, Justification: in.Justification,
		Route: &queue.RouteRequest{Host: strings.ToLower(strings.TrimSpace(in.Host)), PathAllowlist: in.PathAllowlist, Auth: in.Auth}}
	return d.propose(ctx, req, p)
}

func (d *daemon) pipelock(ctx context.Context, req *mcp.CallToolRequest, in PipelockInput) (*mcp.CallToolResult, Decision, error) {
	hosts := make([]string, len(in.Hosts))
	for i, h := range in.Hosts {
		hosts[i] = strings.ToLower(strings.TrimSpace(h))
	}
	return d.propose(ctx, req, &queue.Proposal{Kind: queue.KindPipelock, Justification: in.Justification, Hosts: hosts})
}

func (d *daemon) capability(ctx context.Context, req *mcp.CallToolRequest, in CapabilityInput) (*mcp.CallToolResult, Decision, error) {
	return d.propose(ctx, req, &queue.Proposal{Kind: queue.KindCapability, Justification: in.Justification, Dockerfile: in.Dockerfile})
}

func (d *daemon) propose(ctx context.Context, req *mcp.CallToolRequest, p *queue.Proposal) (*mcp.CallToolResult, Decision, error) {
	p.Slug = d.cfg.Slug
	p.CreatedAt = d.cfg.Now().UTC()
	p.ID = queue.NewID(p.CreatedAt)
	if err := p.Validate(); err != nil {
		d.cfg.Logger.Info("proposal refused", "kind", p.Kind, "err", err.Error())
		return nil, Decision{}, fmt.Errorf("proposal refused: %w", err)
	}
	// The same request again (the agent retried after a client timeout)
	// gets the pending proposal back rather than a duplicate. The budgets
	// (pending count, file and queue size) are checked in the same locked
	// step as the write.
	prev, err := queue.Enqueue(d.cfg.QueueDir, p)
	if err != nil {
		var be *queue.BudgetError
		if errors.As(err, &be) {
			d.cfg.Logger.Info("proposal refused: budget", "kind", p.Kind, "err", err.Error())
		}
		return nil, Decision{}, fmt.Errorf("proposal refused: %w", err)
	}
	if prev != "" {
		d.cfg.Logger.Info("proposal repeated", "id", prev, "kind", p.Kind)
		return d.await(ctx, req, prev)
	}
	d.cfg.Logger.Info("proposal queued", "id", p.ID, "kind", p.Kind, "slug", p.Slug)
	cur := d.current(p) // before the operator can change it
	res, dec, err := d.await(ctx, req, p.ID)
	if err == nil && res != nil {
		if cur != "" {
			dec.Current = cur
			res = text(dec)
		}
	}
	return res, dec, err
}

// current describes the live config for the hosts of p ("" if unknown).
func (d *daemon) current(p *queue.Proposal) string {
	var hosts []string
	switch {
	case p.Route != nil:
		hosts = []string{p.Route.Host}
	case len(p.Hosts) > 0:
		hosts = p.Hosts
	default:
		return ""
	}
	routes, rerr := sidecarconfig.LoadRoutes(d.cfg.RoutesFile)
	pl, perr := sidecarconfig.LoadPipelock(d.cfg.PipelockFile)
	if rerr != nil && perr != nil {
		return ""
	}
	var parts []string
	for _, h := range hosts {
		s := h + ":"
		if rerr == nil {
			found := false
			for _, rt := range routes.Routes {
				if strings.EqualFold(rt.Host, h) {
					found = true
					s += " egress route"
					if len(rt.PathAllowlist) > 0 {
						s += " for paths " + strings.Join(rt.PathAllowlist, ",")
					}
					if rt.Auth != nil {
						s += " with a credential"
					}
				}
			}
			if !found {
				s += " no egress route"
			}
		}
		if perr == nil {
			if slices.ContainsFunc(pl.Allowlist, func(x string) bool { return strings.EqualFold(x, h) }) {
				s += ", on the firewall allowlist"
			} else {
				s += ", not on the firewall allowlist"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func (d *daemon) wait(ctx context.Context, req *mcp.CallToolRequest, in WaitInput) (*mcp.CallToolResult, Decision, error) {
	if !queue.ValidID(in.ID) {
		return nil, Decision{}, fmt.Errorf("id: %q is not a proposal id (like 20261127T120000Z-0a1b2c); use the id a *-block tool returned", in.ID)
	}
	if _, err := os.Stat(queue.ProposalPath(d.cfg.QueueDir, in.ID)); err != nil {
		return nil, Decision{}, fmt.Errorf("id: no proposal %s in this bottle's queue", in.ID)
	}
	return d.await(ctx, req, in.ID)
}

// await long-polls the answer file of id for at most Hold.
func (d *daemon) await(ctx context.Context, req *mcp.CallToolRequest, id string) (*mcp.CallToolResult, Decision, error) {
	var token any
	if req != nil && req.Params != nil {
		token = req.Params.GetProgressToken()
	}
	deadline := time.NewTimer(d.cfg.Hold)
	defer deadline.Stop()
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	progress := time.NewTicker(d.cfg.ProgressEvery)
	defer progress.Stop()
	waited := 0.0
	for {
		a, err := queue.ReadAnswer(d.cfg.QueueDir, id)
		if err == nil {
			return answered(a)
		}
		if !errors.Is(err, os.ErrNotExist) {
			// A broken answer file is the host's fault; tell the agent to
			// wait rather than fail its task.
			d.cfg.Logger.Warn("answer unreadable", "id", id, "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return pending(id)
		case <-deadline.C:
			return pending(id)
		case <-progress.C:
			waited += d.cfg.ProgressEvery.Seconds()
			if token != nil && req.Session != nil {
				_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: token, Progress: waited,
					Message: "waiting for the operator's decision on " + id,
				})
			}
		case <-poll.C:
		}
	}
}

func answered(a *queue.Answer) (*mcp.CallToolResult, Decision, error) {
	dec := Decision{ID: a.ID, Status: a.Decision, Notes: a.Notes, Applied: a.Applied, RestartRequired: a.RestartRequired}
	switch a.Decision {
	case queue.Rejected:
		dec.Message = "The operator rejected proposal " + a.ID + "."
	case queue.Modified:
		dec.Message = "The operator approved proposal " + a.ID + " with changes; read applied and notes."
	default:
		dec.Message = "The operator approved proposal " + a.ID + "."
	}
	if a.Notes != "" {
		dec.Message += " Notes: " + a.Notes
	}
	if a.RestartRequired {
		dec.Message += " It takes effect only after the bottle restarts."
	}
	return text(dec), dec, nil
}

func pending(id string) (*mcp.CallToolResult, Decision, error) {
	dec := Decision{ID: id, Status: StatusPending,
		Message: "Proposal " + id + " is waiting for the operator. Call " + ToolWait + ` with {"id":"` + id + `"} to keep waiting; it is not lost if this call timed out.`}
	return text(dec), dec, nil
}

func text(d Decision) *mcp.CallToolResult {
	s := fmt.Sprintf("status: %s\nid: %s\n%s", d.Status, d.ID, d.Message)
	if d.Applied != "" {
		s += "\napplied: " + d.Applied
	}
	if d.Current != "" {
		s += "\nbefore this proposal: " + d.Current
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func (d *daemon) listRoutes(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, RoutesOutput, error) {
	out := RoutesOutput{Routes: []RouteInfo{}, Allowlist: []string{}}
	var notes []string
	r, err := sidecarconfig.LoadRoutes(d.cfg.RoutesFile)
	switch {
	case err == nil:
		for _, rt := range r.Routes {
			out.Routes = append(out.Routes, RouteInfo{Host: rt.Host, PathAllowlist: rt.PathAllowlist, Credential: rt.Auth != nil})
		}
	case errors.Is(err, os.ErrNotExist):
		notes = append(notes, "this bottle has no egress routes")
	default:
		return nil, out, fmt.Errorf("reading the routes: %w", err)
	}
	p, err := sidecarconfig.LoadPipelock(d.cfg.PipelockFile)
	switch {
	case err == nil:
		out.Allowlist = append(out.Allowlist, p.Allowlist...)
	case errors.Is(err, os.ErrNotExist):
		notes = append(notes, "the firewall config is not visible here")
	default:
		return nil, out, fmt.Errorf("reading the firewall config: %w", err)
	}
	out.Message = strings.Join(notes, "; ")
	return nil, out, nil
}
