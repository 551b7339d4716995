package manifest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/examples"
)

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPjd5LkDLWFjX/+oZP0RFL68PeZTVxCKlgPRJhwijTM"

// TestExamplesParse loads every shipped example, so an example that stops
// parsing fails the build.
func TestExamplesParse(t *testing.T) {
	for _, kind := range []string{"bottles", "agents"} {
		entries, err := fs.ReadDir(examples.FS, kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			t.Fatalf("no examples in %s", kind)
		}
		for _, e := range entries {
			data, err := fs.ReadFile(examples.FS, kind+"/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(e.Name(), ".md")
			if kind == "bottles" {
				_, err = ParseBottle(name, "examples/"+kind+"/"+e.Name(), data)
			} else {
				_, err = ParseAgent(name, "examples/"+kind+"/"+e.Name(), data)
			}
			if err != nil {
				t.Errorf("example %s/%s: %v", kind, e.Name(), err)
			}
		}
	}
}

func TestParseBottleFull(t *testing.T) {
	src := `---
env:
  PLAIN: hello
  TOKEN: ${HOST_TOKEN}
  ASKED: "?Your name"
git:
  - name: demo
    upstream: ssh://git@git.example.com:22/org/demo.git
    identity_file: ~/.ssh/id
    known_host_key: "` + hostKey + `"
    push_branches: ["agent/*"]
    extra_hosts: { git.example.com: 10.0.0.5 }
    allow_force_push: true
egress:
  allowlist: [pypi.org]
  routes:
    - host: api.github.com
      path_allowlist: [/repos/org/demo]
      auth: { scheme: Bearer, token_ref: GH_PAT }
    - host: example.org
    - host: gitlab.example.com
      auth: { header: PRIVATE-TOKEN, token_ref: GL_TOKEN }
supervise: true
image: my-agent:latest
dockerfile: ./Dockerfile
---
notes
`
	b, err := ParseBottle("full", "/home/u/.claude-bottle/bottles/full.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Env) != 3 || b.Env[0].Kind != EnvLiteral || b.Env[1].Kind != EnvHostVar || b.Env[1].Value != "HOST_TOKEN" || b.Env[2].Kind != EnvPrompt || b.Env[2].Value != "Your name" {
		t.Errorf("env = %+v", b.Env)
	}
	g := b.Git[0]
	if g.Name != "demo" || g.PushBranches[0] != "agent/*" || g.ExtraHosts[0] != (HostIP{"git.example.com", "10.0.0.5"}) || !g.AllowForcePush || g.AllowDelete {
		t.Errorf("git = %+v", g)
	}
	if b.Routes[0].Auth == nil || b.Routes[0].Auth.TokenRef != "GH_PAT" || b.Routes[1].Auth != nil ||
		b.Routes[2].Auth == nil || *b.Routes[2].Auth != (Auth{Header: "PRIVATE-TOKEN", TokenRef: "GL_TOKEN"}) {
		t.Errorf("routes = %+v", b.Routes)
	}
	if !b.Supervise || b.Image != "my-agent:latest" || b.Dockerfile != "/home/u/.claude-bottle/bottles/Dockerfile" {
		t.Errorf("bottle = %+v", b)
	}
	if strings.TrimSpace(b.Body) != "notes" {
		t.Errorf("body = %q", b.Body)
	}
}

// TestBadManifests: each bad input gets an error naming the file and the
// key (and, where it helps, the line), and says what to do.
func TestBadManifests(t *testing.T) {
	git := func(extra string) string {
		return "---\ngit:\n  - name: demo\n    upstream: ssh://git@h/o/r.git\n    identity_file: ~/.ssh/id\n" + extra + "---\n"
	}
	cases := []struct {
		name  string
		agent bool
		file  string
		src   string
		want  []string
	}{
		{"unknown key with suggestion", false, "b", "---\nsupervice: true\n---\n", []string{"b.md:2", `unknown key "supervice"`, `did you mean "supervise"`}},
		{"unknown nested key", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      paths: [/x]\n---\n", []string{"b.md:5", "egress.routes[0].paths", "unknown key"}},
		{"unknown key far from any", false, "b", "---\nzzzzzzzz: 1\n---\n", []string{"known keys here"}},
		{"wildcard over a TLD", false, "b", "---\negress:\n  allowlist: ['*.com']\n---\n", []string{"egress.allowlist[0]", "top-level domain"}},
		{"dlp unknown class", false, "b", "---\ndlp:\n  pi: off\n---\n", []string{"b.md:3", "dlp.pi", `did you mean "pii"`}},
		{"dlp bad value", false, "b", "---\ndlp:\n  pii: sometimes\n---\n", []string{"b.md:3", "dlp.pii", "expected on or off"}},
		{"dlp not a mapping", false, "b", "---\ndlp: off\n---\n", []string{"b.md:2", "dlp"}},
		{"responses bad mode", false, "b", "---\nresponses: quiet\n---\n", []string{"b.md:2", "responses", `expected one of warn, strip, block, off, found "quiet"`}},
		{"responses bad mapping mode", false, "b", "---\nresponses:\n  mode: [warn]\n---\n", []string{"b.md:3", "responses.mode", "found a list"}},
		{"responses unknown kind", false, "b", "---\nresponses:\n  css-hiden: off\n---\n", []string{"b.md:3", "responses.css-hiden", `did you mean "css-hidden"`}},
		{"responses bad kind value", false, "b", "---\nresponses:\n  override: maybe\n---\n", []string{"b.md:3", "responses.override", "expected on or off"}},
		{"bad bottle name", false, "Bad_Name", "---\n---\n", []string{"Bad_Name.md", "[a-z][a-z0-9-]*"}},
		{"bad agent name", true, "9agent", "---\nbottle: b\n---\n", []string{"9agent.md", "[a-z][a-z0-9-]*"}},
		{"agent without bottle", true, "a", "---\ndescription: x\n---\n", []string{"a.md", "key bottle", "is required"}},
		{"agent bad bottle name", true, "a", "---\nbottle: Not Valid\n---\n", []string{"key bottle", "not a bottle name"}},
		{"duplicate git name", false, "b", "---\ngit:\n  - {name: d, upstream: 'ssh://g@h/o.git', identity_file: k, known_host_key: '" + hostKey + "'}\n  - {name: d, upstream: 'ssh://g@h/p.git', identity_file: k, known_host_key: '" + hostKey + "'}\n---\n", []string{"b.md:4", "git[1].name", "unique"}},
		{"empty auth", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {}\n---\n", []string{"b.md:5", "egress.routes[0].auth", "is empty"}},
		{"auth without scheme or header", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {token_ref: T}\n---\n", []string{"b.md:5", "auth.scheme", "or give header:"}},
		{"auth bad header", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {header: 'X Api', token_ref: T}\n---\n", []string{"b.md:5", "auth.header", "not an HTTP header name"}},
		{"auth framing header", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {header: content-length, token_ref: T}\n---\n", []string{"auth.header", "cannot carry a credential"}},
		{"auth two-word scheme", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {scheme: 'Bearer x', token_ref: T}\n---\n", []string{"auth.scheme", "one word"}},
		{"auth typo", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {heder: X-Api-Key, token_ref: T}\n---\n", []string{"auth.heder", `did you mean "header"`}},
		{"auth without token_ref", false, "b", "---\negress:\n  routes:\n    - host: a.com\n      auth: {scheme: Bearer}\n---\n", []string{"auth.token_ref", "is required"}},
		{"git without known_host_key", false, "b", git(""), []string{"git[0].known_host_key", "never trusts on first use"}},
		{"git bad known_host_key", false, "b", git("    known_host_key: nope\n"), []string{"git[0].known_host_key", "not an ssh public key"}},
		{"git https upstream", false, "b", "---\ngit:\n  - {name: d, upstream: 'https://h/o.git', identity_file: k, known_host_key: '" + hostKey + "'}\n---\n", []string{"git[0].upstream", "only ssh"}},
		{"malformed frontmatter: no opening", false, "b", "env: {}\n", []string{"b.md:1", "malformed frontmatter", "must start"}},
		{"malformed frontmatter: no closing", false, "b", "---\nenv: {}\n", []string{"malformed frontmatter", "no closing"}},
		{"malformed frontmatter: bad yaml", false, "b", "---\nenv: [\n---\n", []string{"malformed frontmatter", "line"}},
		{"frontmatter not a mapping", false, "b", "---\n- a\n---\n", []string{"expected a mapping"}},
		{"wrong type", false, "b", "---\nsupervise: yes please\n---\n", []string{"key supervise", "true or false"}},
		{"duplicate key", false, "b", "---\nimage: a\nimage: b\n---\n", []string{"key image"}},
		{"bad host", false, "b", "---\negress:\n  allowlist: [https://x.com/]\n---\n", []string{"egress.allowlist[0]", "no scheme"}},
		{"duplicate route", false, "b", "---\negress:\n  routes: [{host: a.com}, {host: A.com}]\n---\n", []string{"egress.routes[1].host", "two routes"}},
		{"bad passthrough host", false, "b", "---\negress:\n  passthrough: [api.anthropic.com:443]\n---\n", []string{"b.md:3", "egress.passthrough[0]", "no scheme, port or path"}},
		{"passthrough twice", false, "b", "---\negress:\n  passthrough: [a.com, A.com]\n---\n", []string{"egress.passthrough[1]", "listed twice"}},
		{"passthrough route host", false, "b", "---\negress:\n  routes: [{host: a.com}]\n  passthrough: [a.com]\n---\n", []string{"egress.passthrough[0]", "is a route host"}},
		{"passthrough not a list", false, "b", "---\negress:\n  passthrough: a.com\n---\n", []string{"egress.passthrough"}},
		{"path without slash", false, "b", "---\negress:\n  routes: [{host: a.com, path_allowlist: [x]}]\n---\n", []string{"path_allowlist[0]", "must start with /"}},
		{"reserved env", false, "b", "---\nenv:\n  HTTPS_PROXY: x\n---\n", []string{"env.HTTPS_PROXY", "set by claude-bottle"}},
		{"mixed host var", false, "b", "---\nenv:\n  A: pre-${X}\n---\n", []string{"env.A", "whole value"}},
		{"empty prompt", false, "b", "---\nenv:\n  A: '?'\n---\n", []string{"env.A", "prompt needs text"}},
		{"bad env name", false, "b", "---\nenv:\n  1A: x\n---\n", []string{"env.1A", "not an environment variable name"}},
		{"skill path", true, "a", "---\nbottle: b\nskills: [../x]\n---\n", []string{"skills[0]", "not a path"}},
		{"bad extra_hosts ip", false, "b", git("    known_host_key: '" + hostKey + "'\n    extra_hosts: {h.com: nope}\n"), []string{"extra_hosts.h.com", "not an IP"}},
		{"allowlist IP literal", false, "b", "---\negress:\n  allowlist: [10.0.0.5]\n---\n", []string{"egress.allowlist[0]", "IP literal", "allow_ip_literals"}},
		{"allowlist decimal IP literal", false, "b", "---\negress:\n  allowlist: [2130706433]\n---\n", []string{"egress.allowlist[0]", "IP literal"}},
		{"allowlist hex IP literal", false, "b", "---\negress:\n  allowlist: [0x7f.1]\n---\n", []string{"egress.allowlist[0]", "IP literal"}},
		{"allowlist localhost", false, "b", "---\negress:\n  allowlist: [localhost]\n---\n", []string{"egress.allowlist[0]", "own container"}},
		{"route localhost", false, "b", "---\negress:\n  routes: [{host: api.localhost}]\n---\n", []string{"egress.routes[0].host", "own container"}},
		{"private ip literal", false, "b", "---\negress:\n  allow_ip_literals: [192.168.1.1]\n---\n", []string{"egress.allow_ip_literals[0]", "internal address"}},
		{"max_upload not a size", false, "b", "---\negress:\n  max_upload: lots\n---\n", []string{"b.md:3", "egress.max_upload", `"lots"`, "like 100MiB"}},
		{"max_upload zero", false, "b", "---\negress:\n  max_upload: 0\n---\n", []string{"egress.max_upload", "leave the key out"}},
		{"max_upload a list", false, "b", "---\negress:\n  max_upload: [1]\n---\n", []string{"egress.max_upload", "expected a size"}},
		{"bad ip literal", false, "b", "---\negress:\n  allow_ip_literals: [example.com]\n---\n", []string{"egress.allow_ip_literals[0]", "not an IP address"}},
		{"path with dot-dot", false, "b", "---\negress:\n  routes: [{host: a.com, path_allowlist: [/repos/../admin]}]\n---\n", []string{"path_allowlist[0]", `".." segment`, "never match"}},
		{"path with glob", false, "b", "---\negress:\n  routes: [{host: a.com, path_allowlist: [/repos/*/issues]}]\n---\n", []string{"path_allowlist[0]", "glob", "never match"}},
		{"env value too large", false, "b", "---\nenv:\n  BIG: " + strings.Repeat("x", 200<<10) + "\n---\n", []string{"env.BIG", "204800 bytes", "argument list"}},
		{"bad glob", false, "b", git("    known_host_key: '" + hostKey + "'\n    push_branches: ['[']\n"), []string{"push_branches[0]", "not a valid glob"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := "/home/u/.claude-bottle/x/" + c.file + ".md"
			var err error
			if c.agent {
				_, err = ParseAgent(c.file, file, []byte(c.src))
			} else {
				_, err = ParseBottle(c.file, file, []byte(c.src))
			}
			if err == nil {
				t.Fatalf("no error for %q", c.src)
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("error does not name the file %s: %v", file, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDLPKey(t *testing.T) {
	b, err := ParseBottle("crm", "/h/bottles/crm.md", []byte("---\ndlp:\n  pii: off\n  financial: on\n  crypto: false\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.DLPOff, ","); got != "crypto,pii" {
		t.Fatalf("DLPOff = %q, want crypto,pii", got)
	}
}

func TestResponsesKey(t *testing.T) {
	for _, c := range []struct{ front, mode, off string }{
		{"responses: BLOCK\n", "block", ""},
		{"responses:\n  mode: strip\n  role: off\n  override: on\n  authority: false\n", "strip", "authority,role"},
		{"responses:\n  invisible: off\n", "", "invisible"},
	} {
		b, err := ParseBottle("b", "/h/bottles/b.md", []byte("---\n"+c.front+"---\n"))
		if err != nil {
			t.Fatalf("%q: %v", c.front, err)
		}
		if b.Responses != c.mode || strings.Join(b.ResponsesOff, ",") != c.off {
			t.Errorf("%q: Responses = %q, off %v; want %q, %q", c.front, b.Responses, b.ResponsesOff, c.mode, c.off)
		}
	}
}

func TestAgentPassThrough(t *testing.T) {
	a, err := ParseAgent("rev", "rev.md", []byte("---\nbottle: demo\nskills: [lint]\nmodel: opus\ncolor: blue\ntools: [Read, Grep]\n---\n\nReview code.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Bottle != "demo" || a.Skills[0] != "lint" || a.Extra["model"] != "opus" || a.Extra["color"] != "blue" || a.Prompt != "Review code." {
		t.Errorf("agent = %+v", a)
	}
	if tools, ok := a.Extra["tools"].([]any); !ok || len(tools) != 2 {
		t.Errorf("tools = %#v", a.Extra["tools"])
	}
}

func TestFrontmatterVariants(t *testing.T) {
	for name, src := range map[string]string{
		"crlf":         "---\r\nbottle: b\r\n---\r\nbody\r\n",
		"bom":          "\xef\xbb\xbf---\nbottle: b\n---\nbody\n",
		"dots closing": "---\nbottle: b\n...\nbody\n",
		"no body":      "---\nbottle: b\n---",
	} {
		if _, err := ParseAgent("a", "a.md", []byte(src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// writeTree lays out files under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFinderTrustBoundary(t *testing.T) {
	home := t.TempDir()
	cwd := t.TempDir()
	writeTree(t, home, map[string]string{
		"bottles/safe.md": "---\n---\n",
		"agents/both.md":  "---\nbottle: safe\n---\nhome prompt\n",
	})
	writeTree(t, cwd, map[string]string{
		".claude-bottle/bottles/evil.md": "---\negress:\n  allowlist: [evil.example]\n---\n",
		".claude-bottle/bottles/safe.md": "---\negress:\n  allowlist: [evil.example]\n---\n",
		".claude-bottle/agents/repo.md":  "---\nbottle: safe\n---\nrepo prompt\n",
		".claude-bottle/agents/both.md":  "---\nbottle: safe\n---\nrepo prompt\n",
		".claude-bottle/agents/grab.md":  "---\nbottle: evil\n---\n",
	})
	f := Finder{Home: home, Cwd: cwd}

	// A repo agent resolves, with the HOME bottle, never the repo's copy.
	r, err := f.Resolve("repo")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Agent.FromCwd || len(r.Bottle.Allowlist) != 0 || r.Bottle.File != filepath.Join(home, "bottles", "safe.md") {
		t.Errorf("repo agent resolved to %+v / %+v", r.Agent, r.Bottle)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "ignoring "+filepath.Join(cwd, ".claude-bottle", "bottles")) {
		t.Errorf("warnings = %q", r.Warnings)
	}
	// A repo agent naming a bottle only the repo has fails, and says why.
	_, err = f.Resolve("grab")
	if err == nil || !strings.Contains(err.Error(), `bottle "evil" not found`) || !strings.Contains(err.Error(), "never read from the work tree") || !strings.Contains(err.Error(), "grab.md: key bottle") {
		t.Errorf("grab: %v", err)
	}
	// Home wins over the work tree for the same agent name, with a warning.
	r, err = f.Resolve("both")
	if err != nil {
		t.Fatal(err)
	}
	if r.Agent.FromCwd || r.Agent.Prompt != "home prompt" {
		t.Errorf("both: %+v", r.Agent)
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "using the one in your home") {
		t.Errorf("both warnings = %q", r.Warnings)
	}
	// Unknown agent: lists what exists.
	if _, err := f.Resolve("nope"); err == nil || !strings.Contains(err.Error(), "agents here: both, grab, repo") {
		t.Errorf("nope: %v", err)
	}
	names, _ := f.ListAgents()
	if strings.Join(names, ",") != "both,grab,repo" {
		t.Errorf("ListAgents = %v", names)
	}
}

func TestFinderCwdIsHome(t *testing.T) {
	// Running from $HOME: ~/.claude-bottle/bottles is the home folder, not a
	// work-tree one, so no warning.
	parent := t.TempDir()
	home := filepath.Join(parent, ".claude-bottle")
	writeTree(t, home, map[string]string{"bottles/b.md": "---\n---\n", "agents/a.md": "---\nbottle: b\n---\n"})
	r, err := Finder{Home: home, Cwd: parent}.Resolve("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings = %q", r.Warnings)
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{"supervice": "supervise", "enviroment": "", "Image": "image", "git": "git", "egres": "egress", "x": ""} {
		if got := suggest(in, bottleKeys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
