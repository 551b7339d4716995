package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/internal/approve"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/supervise"
)

type recSignaller struct{ calls []string }

func (r *recSignaller) Signal(_ context.Context, c, s string) error {
	r.calls = append(r.calls, s+" "+c)
	return nil
}

// TestAgentToOperatorToBottle: the agent asks through the real daemon (MCP
// over loopback HTTP, the bottle's queue dir), the operator's backend
// approves it, the live routes change, egress and pipelock are told to
// reload, and the agent's waiting call returns the decision.
func TestAgentToOperatorToBottle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	paths := setupHome(t)
	dir := layout.StateDir(paths.StateDir(tmuxSlug))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	srv := &http.Server{Handler: supervise.Handler(supervise.Config{
		QueueDir: paths.QueueDir(tmuxSlug), Slug: tmuxSlug, RoutesFile: dir.RoutesFile(), PipelockFile: dir.PipelockFile(),
		Hold: 50 * time.Second, Poll: 10 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "0"}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: "http://" + ln.Addr().String() + "/", MaxRetries: -1}, nil)
	check(t, err)
	defer s.Close()

	type result struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: supervise.ToolEgress, Arguments: map[string]any{
			"host": "registry.npmjs.org", "justification": "npm install: blocked: host not allowed"}})
		done <- result{res, err}
	}()

	sig := &recSignaller{}
	b := &FileBackend{Paths: paths, Applier: &approve.Applier{Paths: paths, Signaller: sig, Operator: "op"}}
	var items []Item
	for len(items) == 0 {
		items, _, err = b.Load()
		check(t, err)
		select {
		case <-ctx.Done():
			t.Fatal("the proposal never reached the dashboard")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if items[0].Entry.Slug != tmuxSlug || !strings.Contains(items[0].Diff, `"host": "registry.npmjs.org"`) {
		t.Fatalf("item %+v", items[0])
	}
	status, err := b.Approve(ctx, items[0])
	check(t, err)
	if !strings.Contains(status, "registry.npmjs.org") {
		t.Fatalf("status %q", status)
	}
	r := <-done
	check(t, r.err)
	raw, _ := json.Marshal(r.res.StructuredContent)
	var d supervise.Decision
	check(t, json.Unmarshal(raw, &d))
	if d.Status != "approved" || !strings.Contains(d.Applied, "registry.npmjs.org") || !strings.Contains(d.Current, "no egress route") {
		t.Fatalf("agent got %s", raw)
	}
	rt, err := sidecarconfig.LoadRoutes(dir.RoutesFile())
	check(t, err)
	if rt.Routes[len(rt.Routes)-1].Host != "registry.npmjs.org" {
		t.Fatalf("routes %+v", rt.Routes)
	}
	if strings.Join(sig.calls, ",") != "HUP claude-bottle-pipelock-demo-abc12,HUP claude-bottle-egress-demo-abc12" {
		t.Fatalf("signals %v", sig.calls)
	}
	// The agent's next list-egress-routes sees it.
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: supervise.ToolListRoutes, Arguments: map[string]any{}})
	check(t, err)
	raw, _ = json.Marshal(res.StructuredContent)
	if !strings.Contains(string(raw), "registry.npmjs.org") {
		t.Fatalf("list-egress-routes %s", raw)
	}
}

// TestEditCancelled: an emptied edit document decides nothing.
func TestEditCancelled(t *testing.T) {
	paths := setupHome(t)
	q := paths.QueueDir(tmuxSlug)
	p := &queue.Proposal{Kind: queue.KindPipelock, Hosts: []string{"pypi.org"}, Justification: "pip", CreatedAt: time.Now()}
	p.ID = queue.NewID(p.CreatedAt)
	check(t, queue.WriteProposal(q, p))
	b := &FileBackend{Paths: paths, Applier: &approve.Applier{Paths: paths, Signaller: &recSignaller{}}, TempDir: t.TempDir()}
	items, _, err := b.Load()
	check(t, err)
	path, err := b.EditFile(items[0])
	check(t, err)
	doc, _ := os.ReadFile(path)
	if !strings.Contains(string(doc), `"pypi.org"`) {
		t.Fatalf("edit document:\n%s", doc)
	}
	check(t, os.WriteFile(path, nil, 0o600))
	status, err := b.ApplyEdit(context.Background(), items[0], path)
	if err != nil || !strings.Contains(status, "edit cancelled") {
		t.Fatalf("ApplyEdit = %q, %v", status, err)
	}
	if _, err := queue.ReadAnswer(q, p.ID); !os.IsNotExist(err) {
		t.Fatalf("answered after a cancelled edit: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("edit document left behind")
	}
}
