package supervise

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// TestRealBinary builds claude-bottle-sidecar and runs "supervise" as the
// bottle does, configured through the environment.
func TestRealBinary(t *testing.T) {
	bin := testkit.Binary(t, "cmd/claude-bottle-sidecar")
	ctx := testCtx(t)
	q := filepath.Join(t.TempDir(), "queue")
	cmd := exec.CommandContext(ctx, bin, "supervise", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SUPERVISE_QUEUE_DIR="+q, "SUPERVISE_BOTTLE_SLUG=bin-abc12", "SUPERVISE_HOLD=30s")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	})
	lines := make(chan map[string]any, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			select {
			case lines <- m:
			default:
			}
		}
		close(lines)
		waitErr = cmd.Wait()
		close(exited)
	}()
	var addr string
	for addr == "" {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("daemon exited before listening")
			}
			if m["msg"] == "listening" {
				addr, _ = m["addr"].(string)
				if m["slug"] != "bin-abc12" || m["queue_dir"] != q {
					t.Fatalf("env not honoured: %v", m)
				}
			}
		case <-ctx.Done():
			t.Fatal("no listening line")
		}
	}
	s := connect(t, ctx, "http://"+addr+"/")
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolPipelock, Arguments: map[string]any{"hosts": []string{"pypi.org", "files.pythonhosted.org"}, "justification": "pip install requests"}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	p := waitForProposal(t, ctx, q)
	if p.Slug != "bin-abc12" || strings.Join(p.Hosts, ",") != "pypi.org,files.pythonhosted.org" {
		t.Fatalf("proposal %+v", p)
	}
	if err := queue.WriteAnswer(q, &queue.Answer{ID: p.ID, Decision: queue.Approved, Applied: "allowlist += pypi.org", DecidedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res == nil {
		t.FailNow()
	}
	if d := decision(t, res); d.Status != queue.Approved || d.Applied == "" {
		t.Fatalf("decision %+v", d)
	}
	s.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v", waitErr)
		}
	case <-ctx.Done():
		t.Fatal("daemon did not stop on SIGTERM")
	}
}

func TestHelpAndBadFlags(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "wait-for-decision") {
		t.Fatalf("--help: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--hold", "0s"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--hold") {
		t.Fatalf("--hold 0: %d %q", code, errb.String())
	}
}
