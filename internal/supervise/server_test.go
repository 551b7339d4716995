package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// startDaemon serves Handler(cfg) on a loopback port; the returned stop
// shuts it down (also done at cleanup).
func startDaemon(t *testing.T, cfg Config) (url string, stop func()) {
	return startDaemonB(t, cfg)
}

func startDaemonB(t testing.TB, cfg Config) (url string, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: Handler(cfg), BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(ln)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			srv.Shutdown(sctx)
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String() + "/", stop
}

func connect(t *testing.T, ctx context.Context, url string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "0"}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func decision(t *testing.T, res *mcp.CallToolResult) Decision {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", resultText(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	var d Decision
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
	return d
}

func resultText(res *mcp.CallToolResult) string {
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	return sb.String()
}

// waitForProposal polls dir until one pending proposal appears (bounded).
func waitForProposal(t *testing.T, ctx context.Context, dir string) *queue.Proposal {
	t.Helper()
	for {
		es, _, _ := queue.List(dir, "")
		for _, e := range es {
			if e.Answer == nil {
				return e.Proposal
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no proposal appeared in %s", dir)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestToolsListAndRoutes(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.json")
	pl := filepath.Join(dir, "pipelock.json")
	fileio.WriteJSON(routes, sidecarconfig.Routes{Routes: []sidecarconfig.Route{{Host: "api.github.com", PathAllowlist: []string{"/repos/org"}, Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}}}}, 0o644)
	fileio.WriteJSON(pl, sidecarconfig.Pipelock{Allowlist: []string{"api.github.com", "pypi.org"}}, 0o644)
	url, _ := startDaemon(t, Config{QueueDir: filepath.Join(dir, "q"), Slug: "demo-abc12", RoutesFile: routes, PipelockFile: pl})
	ctx := testCtx(t)
	s := connect(t, ctx, url)
	if got := s.InitializeResult().ServerInfo.Name; got != "claude-bottle-supervise" {
		t.Fatalf("server name %q", got)
	}
	tl, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tl.Tools {
		names = append(names, tool.Name)
	}
	for _, want := range []string{ToolEgress, ToolPipelock, ToolCapability, ToolListRoutes, ToolWait} {
		if !strings.Contains(strings.Join(names, ","), want) {
			t.Errorf("tools/list %v lacks %s", names, want)
		}
	}
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolListRoutes, Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("list-egress-routes: %v %s", err, resultText(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	var out RoutesOutput
	json.Unmarshal(b, &out)
	if len(out.Routes) != 1 || out.Routes[0].Host != "api.github.com" || !out.Routes[0].Credential || len(out.Allowlist) != 2 {
		t.Fatalf("routes output %s", b)
	}
	if bytes.Contains(b, []byte("EGRESS_TOKEN")) {
		t.Fatalf("slot name leaked to the agent: %s", b)
	}
	// A proposal's answer says what the bottle allowed before.
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolEgress, Arguments: map[string]any{"host": "api.github.com", "path_allowlist": []string{"/repos/other"}, "justification": "j"}})
		done <- res
	}()
	p := waitForProposal(t, ctx, filepath.Join(dir, "q"))
	queue.WriteAnswer(filepath.Join(dir, "q"), &queue.Answer{ID: p.ID, Decision: queue.Rejected, DecidedAt: time.Now()})
	d := decision(t, <-done)
	if d.Current != "api.github.com: egress route for paths /repos/org with a credential, on the firewall allowlist" {
		t.Fatalf("current %q", d.Current)
	}
}

// TestCallWaitsForAnswer: the call blocks until the answer file appears.
func TestCallWaitsForAnswer(t *testing.T) {
	q := t.TempDir()
	url, _ := startDaemon(t, Config{QueueDir: q, Slug: "demo-abc12", Hold: 50 * time.Second, Poll: 10 * time.Millisecond})
	ctx := testCtx(t)
	s := connect(t, ctx, url)
	type result struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolEgress, Arguments: map[string]any{
			"host": "API.Example.com", "path_allowlist": []string{"/v1/"},
			"auth":          map[string]any{"scheme": "Bearer", "description": "read token"},
			"justification": "pip install failed: blocked: host not allowed",
		}})
		done <- result{res, err}
	}()
	p := waitForProposal(t, ctx, q)
	if p.Kind != queue.KindEgress || p.Route.Host != "api.example.com" || p.Slug != "demo-abc12" || p.Route.Auth.Description != "read token" {
		t.Fatalf("proposal %+v", p)
	}
	select {
	case r := <-done:
		t.Fatalf("call returned before the answer: %v %+v", r.err, r.res)
	default:
	}
	if err := queue.WriteAnswer(q, &queue.Answer{ID: p.ID, Decision: queue.Modified, Notes: "only /v1/repos", Applied: "route api.example.com /v1/repos", DecidedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	d := decision(t, r.res)
	if d.Status != queue.Modified || d.ID != p.ID || d.Notes != "only /v1/repos" || !strings.Contains(resultText(r.res), "status: modified") {
		t.Fatalf("decision %+v / %q", d, resultText(r.res))
	}
}

func TestMalformedProposalsRefused(t *testing.T) {
	q := t.TempDir()
	url, _ := startDaemon(t, Config{QueueDir: q, Hold: time.Second})
	ctx := testCtx(t)
	s := connect(t, ctx, url)
	tests := []struct {
		name string
		tool string
		args map[string]any
		want string
	}{
		{"url as host", ToolEgress, map[string]any{"host": "https://evil.example.com/x", "justification": "j"}, "route.host"},
		{"no justification", ToolEgress, map[string]any{"host": "a.example.com", "justification": " "}, "justification"},
		{"relative path", ToolEgress, map[string]any{"host": "a.example.com", "path_allowlist": []string{"v1"}, "justification": "j"}, "path_allowlist[0]"},
		{"missing host", ToolEgress, map[string]any{"justification": "j"}, "host"},
		{"token smuggled", ToolEgress, map[string]any{"host": "a.example.com", "justification": "j", "auth": map[string]any{"token_ref": "AWS_SECRET"}}, "token_ref"},
		{"empty hosts", ToolPipelock, map[string]any{"hosts": []string{}, "justification": "j"}, "hosts"},
		{"wildcard", ToolPipelock, map[string]any{"hosts": []string{"*.example.com"}, "justification": "j"}, "hosts[0]"},
		{"fragment dockerfile", ToolCapability, map[string]any{"dockerfile": "RUN apt-get install -y jq", "justification": "j"}, "FROM"},
		{"bad wait id", ToolWait, map[string]any{"id": "../../etc/passwd"}, "not a proposal id"},
		{"unknown wait id", ToolWait, map[string]any{"id": "20261127T120000Z-0a1b2c"}, "no proposal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args})
			msg := ""
			if err != nil {
				msg = err.Error()
			} else if res.IsError {
				msg = resultText(res)
			} else {
				t.Fatalf("accepted: %s", resultText(res))
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not name %q", msg, tc.want)
			}
		})
	}
	left, _ := os.ReadDir(q)
	if len(left) != 0 {
		t.Fatalf("refused proposals left files: %v", left)
	}
}

// TestTwoBottlesConcurrent: two daemons (two bottles) take proposals at
// the same time; each answer reaches its own agent.
func TestTwoBottlesConcurrent(t *testing.T) {
	root := t.TempDir()
	ctx := testCtx(t)
	slugs := []string{"one-aaaaa", "two-bbbbb"}
	var wg sync.WaitGroup
	results := make([]Decision, len(slugs))
	for i, slug := range slugs {
		url, _ := startDaemon(t, Config{QueueDir: filepath.Join(root, slug), Slug: slug, Hold: 50 * time.Second, Poll: 10 * time.Millisecond})
		s := connect(t, ctx, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolPipelock, Arguments: map[string]any{"hosts": []string{slug + ".example.com"}, "justification": "j"}})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = decision(t, res)
		}()
	}
	var pend []queue.Entry
	for len(pend) < 2 {
		pend, _, _ = queue.Pending(root)
		select {
		case <-ctx.Done():
			t.Fatalf("pending %v", pend)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, e := range pend {
		if e.Proposal.Hosts[0] != e.Slug+".example.com" || e.Proposal.Slug != e.Slug {
			t.Fatalf("proposal in the wrong queue: %s has %+v", e.Slug, e.Proposal)
		}
		dec := queue.Approved
		if e.Slug == "two-bbbbb" {
			dec = queue.Rejected
		}
		if err := queue.WriteAnswer(e.Dir, &queue.Answer{ID: e.Proposal.ID, Decision: dec, DecidedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if results[0].Status != queue.Approved || results[1].Status != queue.Rejected {
		t.Fatalf("results %+v", results)
	}
}

// TestPendingSurvivesRestart: the call returns pending after Hold, the
// daemon restarts, the operator answers, wait-for-decision on the new daemon
// returns the answer; a repeated request maps to the same proposal.
func TestPendingSurvivesRestart(t *testing.T) {
	q := t.TempDir()
	ctx := testCtx(t)
	cfg := Config{QueueDir: q, Slug: "demo-abc12", Hold: 300 * time.Millisecond, Poll: 10 * time.Millisecond}
	url, stop := startDaemon(t, cfg)
	s := connect(t, ctx, url)
	args := map[string]any{"dockerfile": "FROM debian:bookworm-slim\nRUN apt-get install -y jq\n", "justification": "jq missing"}
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolCapability, Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	d := decision(t, res)
	if d.Status != StatusPending || !strings.Contains(d.Message, ToolWait) || !strings.Contains(d.Message, d.ID) {
		t.Fatalf("first call %+v", d)
	}
	again := decision(t, must(s.CallTool(ctx, &mcp.CallToolParams{Name: ToolCapability, Arguments: args})))
	if again.ID != d.ID {
		t.Fatalf("a repeated request made a second proposal %s (first %s)", again.ID, d.ID)
	}
	stop()
	s.Close()

	url2, _ := startDaemon(t, cfg)
	s2 := connect(t, ctx, url2)
	if err := queue.WriteAnswer(q, &queue.Answer{ID: d.ID, Decision: queue.Approved, Applied: "rebuild", RestartRequired: true, DecidedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got := decision(t, must(s2.CallTool(ctx, &mcp.CallToolParams{Name: ToolWait, Arguments: map[string]any{"id": d.ID}})))
	if got.Status != queue.Approved || !got.RestartRequired || got.ID != d.ID {
		t.Fatalf("after restart %+v", got)
	}
}

// TestProgressNotifications: a client that sends a progress token gets
// notifications while the call waits.
func TestProgressNotifications(t *testing.T) {
	q := t.TempDir()
	url, _ := startDaemon(t, Config{QueueDir: q, Hold: 50 * time.Second, Poll: 10 * time.Millisecond, ProgressEvery: 20 * time.Millisecond})
	ctx := testCtx(t)
	got := make(chan string, 100)
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "0"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			select {
			case got <- r.Params.Message:
			default:
			}
		},
	})
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		_, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolPipelock, Meta: mcp.Meta{"progressToken": "p1"},
			Arguments: map[string]any{"hosts": []string{"pypi.org"}, "justification": "j"}})
		done <- err
	}()
	var msg string
	select {
	case msg = <-got:
	case <-ctx.Done():
		t.Fatal("no progress notification")
	}
	p := waitForProposal(t, ctx, q)
	if !strings.Contains(msg, p.ID) {
		t.Fatalf("progress message %q does not name %s", msg, p.ID)
	}
	queue.WriteAnswer(q, &queue.Answer{ID: p.ID, Decision: queue.Rejected, DecidedAt: time.Now()})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func must(r *mcp.CallToolResult, err error) *mcp.CallToolResult {
	if err != nil {
		panic(err)
	}
	return r
}

func TestTooManyPending(t *testing.T) {
	q := t.TempDir()
	url, _ := startDaemon(t, Config{QueueDir: q, Hold: time.Millisecond})
	ctx := testCtx(t)
	s := connect(t, ctx, url)
	for i := range queue.MaxPending + 1 {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolPipelock, Arguments: map[string]any{"hosts": []string{fmt.Sprintf("h%d.example.com", i)}, "justification": "j"}})
		if err != nil {
			t.Fatal(err)
		}
		if i < queue.MaxPending {
			if d := decision(t, res); d.Status != StatusPending {
				t.Fatalf("call %d: %+v", i, d)
			}
			continue
		}
		if !res.IsError || !strings.Contains(resultText(res), "already wait for the operator") {
			t.Fatalf("proposal %d accepted: %s", i, resultText(res))
		}
	}
}

// Issue 15, hole 1: a Dockerfile inside the decoded limit whose file would
// be far over the file limit (JSON escapes `<` as 6 bytes) is refused with
// an error the agent can act on, and nothing is written.
func TestOversizedEncodingRefused(t *testing.T) {
	q := t.TempDir()
	url, _ := startDaemon(t, Config{QueueDir: q, Hold: time.Millisecond})
	ctx := testCtx(t)
	s := connect(t, ctx, url)
	df := "FROM debian:bookworm-slim\nRUN true "
	df += strings.Repeat("<", queue.MaxDockerfile-len(df))
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolCapability, Arguments: map[string]any{"dockerfile": df, "justification": "j"}})
	if err != nil {
		t.Fatal(err)
	}
	if msg := resultText(res); !res.IsError || !strings.Contains(msg, "its file would be") || !strings.Contains(msg, "shorten the dockerfile") {
		t.Fatalf("oversized proposal not refused clearly: %s", msg)
	}
	if u, err := queue.DirUsage(q); err != nil || u.Pending != 0 {
		t.Fatalf("pending after the refusal: %+v %v", u, err)
	}
}
