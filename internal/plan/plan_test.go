package plan

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

func TestFlagEnabled(t *testing.T) {
	cases := []struct {
		value string
		set   bool
		want  bool
	}{
		{"", false, false}, // unset
		{"", true, false},
		{"0", true, false},
		{"false", true, false},
		{"FALSE", true, false},
		{" no ", true, false},
		{"off", true, false},
		{"Off", true, false},
		{"\tNo\n", true, false},
		{"1", true, true},
		{"true", true, true},
		{"yes", true, true},
		{"on", true, true},
		{"enabled", true, true},
		{"2", true, true},
		{"nope", true, true},
	}
	for _, c := range cases {
		if got := FlagEnabled(c.value, c.set); got != c.want {
			t.Errorf("FlagEnabled(%q, set=%v) = %v, want %v", c.value, c.set, got, c.want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{EnvBundle: " yes ", EnvSidecarImage: "my/sidecars:dev"}
	var o Options
	o.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if !o.Bundle || o.SidecarImage != "my/sidecars:dev" {
		t.Errorf("options = %+v", o)
	}
	o = Options{}
	o.ApplyEnv(func(string) (string, bool) { return "", false })
	if o.Bundle || o.SidecarImage != "" {
		t.Errorf("options = %+v", o)
	}
}

func mustBottle(t *testing.T, src string) *manifest.Bottle {
	t.Helper()
	b, err := manifest.ParseBottle("b", "/h/bottles/b.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func agentFor(bottle string) *manifest.Agent {
	return &manifest.Agent{Name: "a", File: "/h/agents/a.md", Bottle: bottle}
}

func TestTokenSlots(t *testing.T) {
	b := mustBottle(t, `---
egress:
  routes:
    - {host: a.com, auth: {scheme: Bearer, token_ref: TOK_B}}
    - {host: b.com}
    - {host: c.com, auth: {scheme: token, token_ref: TOK_A}}
    - {host: d.com, auth: {scheme: Bearer, token_ref: TOK_B}}
---
`)
	p, err := New(agentFor("b"), b, Options{Slug: "a-00000", Home: "/h"})
	if err != nil {
		t.Fatal(err)
	}
	want := []TokenSlot{{"EGRESS_TOKEN_0", "TOK_B"}, {"EGRESS_TOKEN_1", "TOK_A"}}
	if len(p.TokenSlots) != 2 || p.TokenSlots[0] != want[0] || p.TokenSlots[1] != want[1] {
		t.Errorf("slots = %+v", p.TokenSlots)
	}
	slots := []string{}
	for _, r := range p.Routes.Routes {
		if r.Auth == nil {
			slots = append(slots, "-")
		} else {
			slots = append(slots, r.Auth.TokenSlot)
		}
	}
	if strings.Join(slots, ",") != "EGRESS_TOKEN_0,-,EGRESS_TOKEN_1,EGRESS_TOKEN_0" {
		t.Errorf("route slots = %v", slots)
	}
	if err := p.Routes.Validate(); err != nil {
		t.Errorf("planned routes invalid: %v", err)
	}
	if strings.Join(p.Pipelock.Allowlist, ",") != "a.com,b.com,c.com,d.com" {
		t.Errorf("pipelock allowlist = %v", p.Pipelock.Allowlist)
	}
}

func TestDaemonsAndProxy(t *testing.T) {
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPjd5LkDLWFjX/+oZP0RFL68PeZTVxCKlgPRJhwijTM"
	cases := []struct {
		src     string
		daemons string
		proxy   string
	}{
		{"---\n---\n", "pipelock", "http://claude-bottle-pipelock-a-00000:8888"},
		{"---\nsupervise: true\negress:\n  routes: [{host: x.com}]\n---\n", "egress,pipelock,supervise", "http://egress:9099"},
		{"---\ngit:\n  - {name: d, upstream: 'ssh://g@h/o.git', identity_file: k, known_host_key: '" + key + "'}\n---\n", "pipelock,git-gate", "http://claude-bottle-pipelock-a-00000:8888"},
	}
	for _, c := range cases {
		p, err := New(agentFor("b"), mustBottle(t, c.src), Options{Slug: "a-00000", Home: "/h"})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.Daemons, ","); got != c.daemons {
			t.Errorf("daemons = %s, want %s", got, c.daemons)
		}
		if p.ProxyURL != c.proxy {
			t.Errorf("proxy = %s, want %s", p.ProxyURL, c.proxy)
		}
	}
}

func TestSecretEnvAndMissingHostEnv(t *testing.T) {
	b := mustBottle(t, "---\nenv:\n  LIT: v\n  FROM_HOST: ${HOST_SECRET}\n  ASKED: '?Password'\negress:\n  routes: [{host: x.com, auth: {scheme: Bearer, token_ref: GH_PAT}}]\n---\n")
	p, err := New(agentFor("b"), b, Options{Slug: "a-00000", Home: "/h"})
	if err != nil {
		t.Fatal(err)
	}
	// The agent's secrets, then the route token (a known secret of
	// pipelock too, issue 15 hole 2).
	if len(p.SecretSlots) != 3 || p.SecretSlots[0] != (SecretSlot{Slot: "PIPELOCK_SECRET_0", EnvKey: "FROM_HOST"}) ||
		p.SecretSlots[1] != (SecretSlot{Slot: "PIPELOCK_SECRET_1", EnvKey: "ASKED"}) ||
		p.SecretSlots[2] != (SecretSlot{Slot: "PIPELOCK_SECRET_2", TokenRef: "GH_PAT"}) {
		t.Errorf("secret slots = %+v", p.SecretSlots)
	}
	var fromProcess []string
	for _, e := range p.AgentEnv {
		if e.FromProcess {
			fromProcess = append(fromProcess, e.Key)
			if e.Value != "" {
				t.Errorf("%s carries a value in the plan", e.Key)
			}
		}
	}
	if strings.Join(fromProcess, ",") != "FROM_HOST,ASKED" {
		t.Errorf("from-process env = %v", fromProcess)
	}
	err = p.MissingHostEnv(func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "GH_PAT (egress route token_ref)") || !strings.Contains(err.Error(), "HOST_SECRET (env.FROM_HOST)") || !strings.Contains(err.Error(), "/h/bottles/b.md") {
		t.Errorf("missing env error = %v", err)
	}
	// An empty token is as good as missing; an empty plain variable is a value.
	env := map[string]string{"GH_PAT": "", "HOST_SECRET": ""}
	err = p.MissingHostEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "GH_PAT") || strings.Contains(err.Error(), "HOST_SECRET") {
		t.Errorf("empty token error = %v", err)
	}
	env["GH_PAT"] = "x"
	if err := p.MissingHostEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Errorf("all set: %v", err)
	}
}

func TestSlug(t *testing.T) {
	re := regexp.MustCompile(`^demo-[0-9a-z]{5}$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		s, err := NewSlug("demo", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(s) {
			t.Fatalf("slug %q", s)
		}
		seen[s] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct slugs of 200", len(seen))
	}
	s, _ := NewSlug("x", bytes.NewReader([]byte{255, 0, 35, 36, 71, 1}))
	if s != "x-0z0z1" {
		t.Errorf("deterministic slug = %q", s)
	}
	for _, bad := range []string{"", "UP", "a b", "-a", strings.Repeat("a", 49)} {
		if ValidateSlug(bad) == nil {
			t.Errorf("slug %q accepted", bad)
		}
	}
}

func TestAgentBottleMismatch(t *testing.T) {
	if _, err := New(agentFor("other"), mustBottle(t, "---\n---\n"), Options{Home: "/h"}); err == nil {
		t.Error("mismatch accepted")
	}
}

func TestDockerfileTag(t *testing.T) {
	a := DockerfileTag("claude-bottle-agent-demo", []byte("FROM x\nRUN a\n"))
	b := DockerfileTag("claude-bottle-agent-demo", []byte("FROM x\nRUN b\n"))
	if a == b || !strings.HasPrefix(a, "claude-bottle-agent-demo:df-") || len(a) != len("claude-bottle-agent-demo:df-")+12 {
		t.Fatalf("tags %q and %q", a, b)
	}
	if a != DockerfileTag("claude-bottle-agent-demo", []byte("FROM x\nRUN a\n")) {
		t.Fatal("the same Dockerfile gave another tag")
	}
}

// The bottle's dlp: key reaches pipelock.json, and the plan (start
// --dry-run) says which classes are on.
func TestDLPClassesPlanned(t *testing.T) {
	b := mustBottle(t, "---\ndlp:\n  pii: off\n---\n")
	p, err := New(agentFor("b"), b, Options{Slug: "a-00000", Home: "/h"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Pipelock.DLPOff, ",") != "pii" {
		t.Fatalf("pipelock dlp_off = %v", p.Pipelock.DLPOff)
	}
	var out bytes.Buffer
	p.Describe(&out)
	if !strings.Contains(out.String(), "dlp:          known secrets, credentials, financial, crypto, hostnames, blobs (off: pii)") {
		t.Errorf("the plan does not say which DLP classes are on:\n%s", out.String())
	}
	p, _ = New(agentFor("b"), mustBottle(t, "---\n---\n"), Options{Slug: "a-00000", Home: "/h"})
	out.Reset()
	p.Describe(&out)
	if !strings.Contains(out.String(), "dlp:          known secrets, credentials, financial, crypto, pii, hostnames, blobs\n") {
		t.Errorf("default plan:\n%s", out.String())
	}
}

// The bottle's responses: key reaches pipelock.json, and the plan says
// what pipelock does with prompt injection in responses.
func TestResponsesPlanned(t *testing.T) {
	const model = "; not read from api.anthropic.com (the model's answers)"
	for _, c := range []struct{ front, mode, off, unread, line string }{
		{"", "", "", "api.anthropic.com", "responses:    warn (prompt injection in responses is logged, passed on)" + model + "\n"},
		{"responses: block\n", "block", "", "api.anthropic.com", "responses:    block (a response with prompt injection becomes an error)" + model + "\n"},
		{"responses:\n  mode: strip\n  css-hidden: off\n  exfil-link: off\n", "strip", "css-hidden,exfil-link", "api.anthropic.com", "responses:    strip (prompt injection in responses is overwritten) (off: css-hidden, exfil-link)" + model + "\n"},
		{"responses: off\n", "off", "", "api.anthropic.com", "responses:    off (responses are not read)\n"},
		{"claude:\n  base_url: https://llm-gw.example.com:8443\n", "", "", "llm-gw.example.com", "; not read from llm-gw.example.com (the model's answers)\n"},
	} {
		p, err := New(agentFor("b"), mustBottle(t, "---\n"+c.front+"---\n"), Options{Slug: "a-00000", Home: "/h"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Pipelock.Responses != c.mode || strings.Join(p.Pipelock.ResponsesOff, ",") != c.off || strings.Join(p.Pipelock.ResponsesUnread, ",") != c.unread {
			t.Errorf("%q: pipelock responses = %q off %v unread %v", c.front, p.Pipelock.Responses, p.Pipelock.ResponsesOff, p.Pipelock.ResponsesUnread)
		}
		var out bytes.Buffer
		p.Describe(&out)
		if !strings.Contains(out.String(), c.line) {
			t.Errorf("%q: the plan does not say %q:\n%s", c.front, c.line, out.String())
		}
	}
}

// egress.max_upload reaches pipelock.json as max_body_bytes, and the plan
// says what the cap is (or that there is none).
func TestUploadCapPlanned(t *testing.T) {
	for _, c := range []struct {
		src  string
		want int64
		line string
	}{
		{"---\negress:\n  max_upload: 100MiB\n---\n", 100 << 20, "uploads:      up to 104857600 bytes (egress.max_upload)"},
		{"---\n---\n", 0, "uploads:      any size, scanned as they stream (no egress.max_upload cap)"},
	} {
		p, err := New(agentFor("b"), mustBottle(t, c.src), Options{Slug: "a-00000", Home: "/h"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Pipelock.MaxBodyBytes != c.want {
			t.Errorf("%q: max_body_bytes = %d, want %d", c.src, p.Pipelock.MaxBodyBytes, c.want)
		}
		var out bytes.Buffer
		p.Describe(&out)
		if !strings.Contains(out.String(), c.line) {
			t.Errorf("%q: the plan does not say %q:\n%s", c.src, c.line, out.String())
		}
	}
}
