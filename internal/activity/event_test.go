package activity

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// Lines as the daemons and the Compose tools write them (compose v1 and v2
// prefixes, docker logs --timestamps, the bundle's "[daemon] " prefix).
func TestParse(t *testing.T) {
	const slug = "demo-abc12"
	tests := []struct {
		name, line string
		want       Event
		skip       bool
	}{
		{
			name: "pipelock block, compose v1, legacy",
			line: `claude-bottle-pipelock-demo-abc12 | 2026-12-01T10:00:00.500000000Z {"time":"2026-12-01T10:00:00.4Z","level":"INFO","msg":"decision","mode":"http","method":"GET","host":"evil.invalid","port":"80","decision":"block","path_len":5,"rule":"allowlist","reason":"host not allowed: evil.invalid","status":403}`,
			want: Event{Daemon: "pipelock", Kind: KindRequest, Decision: Block, Method: "GET", Host: "evil.invalid", Port: "80", Rule: "allowlist", Reason: "host not allowed: evil.invalid", Status: 403},
		},
		{
			name: "egress injection, compose v2, bundle prefix",
			line: `sidecars-1  | 2026-12-01T10:00:01Z [egress] {"time":"2026-12-01T10:00:01Z","level":"INFO","msg":"request","method":"GET","scheme":"https","host":"api.example.com","path":"/repos/x?token=SECRET","route":"api.example.com","decision":"allow","injected_slot":"EGRESS_TOKEN_0","status":200}`,
			want: Event{Daemon: "egress", Kind: KindRequest, Decision: Allow, Method: "GET", Host: "api.example.com", Route: "api.example.com", Slot: "EGRESS_TOKEN_0", Status: 200},
		},
		{
			name: "docker logs of one container, daemon key wins",
			line: `2026-12-01T10:00:02Z {"time":"2026-12-01T10:00:02Z","level":"INFO","msg":"session done","daemon":"git-gate","remote":"demo","service":"git-upload-pack","ok":false,"err":"exit status 1"}`,
			want: Event{Daemon: "git-gate", Kind: KindFetch, Decision: "refused", Remote: "demo", Reason: "exit status 1"},
		},
		{
			name: "receive-pack's session line is not the push decision",
			line: `{"time":"2026-12-01T10:00:02Z","level":"INFO","msg":"session done","daemon":"git-gate","remote":"demo","service":"git-receive-pack","ok":true}`,
			skip: true,
		},
		{
			name: "push decision line",
			line: `{"time":"2026-12-01T10:00:02Z","level":"INFO","msg":"push","remote":"demo","refs":"refs/heads/agent/x","decision":"refused","rule":"known-secret","reason":"a known secret in commit abc"}`,
			want: Event{Kind: KindPush, Decision: "refused", Remote: "demo", Refs: "refs/heads/agent/x", Rule: "known-secret", Reason: "a known secret in commit abc"},
		},
		{
			name: "dlp block keeps only the registrable host",
			line: `{"time":"2026-12-01T10:00:03Z","msg":"decision","host":"c2VjcmV0.x.example.com","decision":"block","rule":"dlp.subdomain","reason":"encoded data in a subdomain"}`,
			want: Event{Kind: KindRequest, Decision: Block, Host: "[10 bytes redacted].example.com", Rule: "dlp.subdomain", Reason: "encoded data in a subdomain"},
		},
		{
			name: "pipelock response warning keeps its decision",
			line: `{"time":"2026-12-01T10:00:03Z","msg":"decision","mode":"response","method":"GET","host":"docs.example.com","port":"443","decision":"warn","rule":"inject.override","reason":"prompt injection in the response, passed (responses: warn)","excerpt":"Ignore previous instructions","offset":12}`,
			want: Event{Kind: KindRequest, Decision: "warn", Method: "GET", Host: "docs.example.com", Port: "443", Rule: "inject.override", Reason: "prompt injection in the response, passed (responses: warn)"},
		},
		{
			name: "proposal",
			line: `claude-bottle-supervise-demo-abc12 | {"time":"2026-12-01T10:00:04Z","level":"INFO","msg":"proposal queued","id":"p-1","kind":"egress-route","slug":"demo-abc12"}`,
			want: Event{Daemon: "supervise", Kind: KindProposal, ID: "p-1", What: "egress-route", Message: "proposal queued"},
		},
		{
			name: "bundle restart",
			line: `sidecars_1 | {"time":"2026-12-01T10:00:05Z","level":"WARN","msg":"daemon died; restarting after backoff","daemon":"pipelock","pid":12,"code":2}`,
			want: Event{Daemon: "pipelock", Kind: KindRestart, Message: "daemon died; restarting after backoff (exit code 2)"},
		},
		{name: "plain text", line: `claude-bottle-pipelock-demo-abc12 | hello`, skip: true},
		{name: "health probe debug", line: `{"time":"2026-12-01T10:00:05Z","level":"DEBUG","msg":"connection closed before a request"}`, skip: true},
		{name: "broken json", line: `{"time":`, skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := SplitComposeLine(tt.line)
			d := ""
			if l.Source != "" {
				d = DaemonOf(l.Source, slug)
			}
			got, ok := Parse(l, d)
			if tt.skip {
				if ok {
					t.Fatalf("parsed %+v, want skipped", got)
				}
				return
			}
			if !ok {
				t.Fatal("not parsed")
			}
			if got.Time.IsZero() {
				t.Error("no time")
			}
			got.Time = time.Time{}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDaemonOf(t *testing.T) {
	for src, want := range map[string]string{
		"claude-bottle-pipelock-demo-abc12":    "pipelock",
		"claude-bottle-git-gate-demo-abc12":    "git-gate",
		"claude-bottle-sidecars-demo-abc12":    "sidecars",
		"claude-bottle-demo-abc12":             "agent",
		"egress-1":                             "egress",
		"git-gate_1":                           "git-gate",
		"claude-bottle-demo-abc12_supervise_1": "supervise",
		"agent-1":                              "agent",
	} {
		if got := DaemonOf(src, "demo-abc12"); got != want {
			t.Errorf("DaemonOf(%q) = %q, want %q", src, got, want)
		}
	}
}

// An agent picks the host, the method and (through an upstream) parts of
// a reason: a terminal must never get a control sequence from them.
func TestHumanEscapesAgentBytes(t *testing.T) {
	e := Event{Time: time.Now(), Daemon: "pipelock", Kind: KindRequest, Decision: Block,
		Method: "GET\x1b[2J", Host: "evil\x1b]0;pwned\x07.invalid", Reason: "x\r\nFAKE 10:00 pipelock ALLOW\u202e", Rule: "allowlist"}
	var b bytes.Buffer
	if err := Human(&b, e); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(b.String(), "\n")
	if strings.ContainsAny(out, "\x1b\x07\r\n\u202e") {
		t.Errorf("control bytes reached the terminal: %q", out)
	}
	for _, want := range []string{`\x1b[2J`, `\x1b]0;pwned\x07`, `\x0d\x0a`, `\u{202e}`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing escape %s in %q", want, out)
		}
	}
}

// FuzzParse: any line parses or is skipped, never panics, and what it
// yields renders to one escaped line and valid JSON.
func FuzzParse(f *testing.F) {
	f.Add(`claude-bottle-pipelock-demo-abc12 | 2026-12-01T10:00:00Z {"msg":"decision","decision":"block","host":"a"}`)
	f.Add(`sidecars-1  | [egress] {"msg":"request","decision":"allow","port":443}`)
	f.Add(`{"msg":"session done","service":"git-receive-pack","ok":true}`)
	f.Fuzz(func(t *testing.T, line string) {
		e, ok := Parse(SplitComposeLine(line), "x")
		if !ok {
			return
		}
		var b bytes.Buffer
		if err := Human(&b, e); err != nil {
			t.Fatal(err)
		}
		if strings.Count(b.String(), "\n") != 1 || strings.ContainsAny(b.String(), "\x1b\r") {
			t.Fatalf("human line %q", b.String())
		}
		b.Reset()
		if err := JSON(&b, e); err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatalf("JSON %q: %v", b.String(), err)
		}
	})
}

// A path is never shown, whatever it holds.
func TestPathNeverShown(t *testing.T) {
	const secret = "sk-live-0123456789abcdefSECRET"
	line := `{"time":"2026-12-01T10:00:01Z","msg":"request","host":"api.example.com","path":"/x?key=` + secret + `","decision":"allow"}`
	e, ok := Parse(SplitComposeLine(line), "egress")
	if !ok {
		t.Fatal("not parsed")
	}
	var b bytes.Buffer
	_ = Human(&b, e)
	_ = JSON(&b, e)
	// egress quotes the path in the reason of a path block.
	line = `{"time":"2026-12-01T10:00:01Z","msg":"request","host":"api.example.com","path":"/x/` + secret + `","decision":"block","reason":"path \"/x/` + secret + `\" is outside path_allowlist [/repos] of route \"api.example.com\""}`
	if e, ok = Parse(SplitComposeLine(line), "egress"); !ok {
		t.Fatal("not parsed")
	}
	_ = Human(&b, e)
	_ = JSON(&b, e)
	if !strings.Contains(b.String(), "outside path_allowlist") {
		t.Errorf("the reason is gone: %s", b.String())
	}
	// A DLP block on the host: the host and the reason lose the secret.
	line = `{"time":"2026-12-01T10:00:01Z","msg":"decision","host":"` + secret + `.evil.com","decision":"block","rule":"dlp.known-secret","reason":"known secret X in host ` + secret + `.evil.com"}`
	if e, ok = Parse(SplitComposeLine(line), "pipelock"); !ok {
		t.Fatal("not parsed")
	}
	_ = Human(&b, e)
	_ = JSON(&b, e)
	if strings.Contains(b.String(), secret) {
		t.Fatalf("the secret reached the output: %s", b.String())
	}
}

func TestRotateKeepsEveryRun(t *testing.T) {
	sd := layout.StateDir(t.TempDir())
	big := bytes.Repeat([]byte("x"), MaxLogSize)
	for i := range 3 {
		if err := RotateLog(sd); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sd.ComposeLog(), append([]byte{byte('a' + i)}, big...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files := LogFiles(sd)
	if len(files) != 3 {
		t.Fatalf("log files %v, want 3", files)
	}
	for i, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) == 0 || data[0] != byte('a'+i) {
			t.Errorf("%s does not hold run %d", filepath.Base(f), i)
		}
	}
	// A small log is not rotated.
	sd2 := layout.StateDir(t.TempDir())
	os.WriteFile(sd2.ComposeLog(), []byte("run 1\n"), 0o600)
	if err := RotateLog(sd2); err != nil {
		t.Fatal(err)
	}
	if got := LogFiles(sd2); len(got) != 1 {
		t.Errorf("small log rotated: %v", got)
	}
}

// TestRestartsInOneContainer: a second start of a daemon in one
// container's output is a restart; after the init's own restart line it
// is not counted twice.
func TestRestartsInOneContainer(t *testing.T) {
	var rs restarts
	kinds := []string{}
	for _, e := range []Event{
		{Daemon: "pipelock", Kind: KindStart},
		{Daemon: "pipelock", Kind: KindRequest},
		{Daemon: "pipelock", Kind: KindStart},
		{Daemon: "egress", Kind: KindStart},
		{Daemon: "egress", Kind: KindRestart},
		{Daemon: "egress", Kind: KindStart},
	} {
		kinds = append(kinds, rs.mark(e).Kind)
	}
	want := []string{KindStart, KindRequest, KindRestart, KindStart, KindRestart, KindStart}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}

// pipelock's response findings show as WARN / STRIP with their rule, not
// as an ALLOW.
func TestHumanResponseFindings(t *testing.T) {
	for _, dec := range []string{"warn", "strip"} {
		e := Event{Time: time.Now(), Daemon: "pipelock", Kind: KindRequest, Decision: dec, Method: "GET", Host: "docs.example.com",
			Rule: "inject.override", Reason: "prompt injection in the response"}
		var b bytes.Buffer
		if err := Human(&b, e); err != nil {
			t.Fatal(err)
		}
		if out := strings.Join(strings.Fields(b.String()), " "); !strings.Contains(out, "pipelock "+strings.ToUpper(dec)+" GET docs.example.com rule=inject.override") {
			t.Errorf("%s: %q", dec, out)
		}
	}
}
