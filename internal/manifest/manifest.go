// Package manifest reads bottles and agents: Markdown files with YAML
// frontmatter (DESIGN.md §4). Parsing is strict: unknown keys, wrong types
// and bad values are errors that name the file, line and key, with a "did
// you mean" for typos. Nothing here touches Docker or the host environment.
package manifest

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Bottle is the environment an agent runs in: its env, git remotes, egress
// rules and image. Bottles come from the user's home only.
type Bottle struct {
	Name string
	File string // absolute path of the .md file
	Env  []EnvVar
	Git  []GitRemote
	// Egress
	Allowlist []string
	Routes    []Route
	// AllowIPLiterals are the public IP addresses the agent may address
	// directly (pipelock blocks every other IP literal).
	AllowIPLiterals []string
	// Passthrough: hosts pipelock tunnels without interception (SNI
	// checked). None by default: the model host is inspected like any host.
	Passthrough []string
	// MaxUpload caps one request body in bytes (egress.max_upload); 0 is
	// no cap: pipelock scans bodies as they stream.
	MaxUpload int64
	Supervise bool
	// DLPOff lists the DLP rule classes the bottle turns off (dlp: key),
	// sorted; see sidecarconfig.DLPClasses.
	DLPOff []string
	// Responses is the response-scan mode (responses: key), one of
	// sidecarconfig.ResponseModes; empty means the default, warn.
	Responses string
	// ResponsesOff lists response rule kinds turned off, sorted.
	ResponsesOff []string
	// Claude is how Claude Code reaches its model; nil when not declared.
	Claude *Claude
	Image  string
	// Dockerfile is absolute (resolved against the bottle file's folder).
	Dockerfile string
	Body       string
}

// EnvKind says where an env value comes from.
type EnvKind int

const (
	EnvLiteral EnvKind = iota // the value as written
	EnvHostVar                // ${NAME}: a host environment variable
	EnvPrompt                 // ?text: asked of the user at start
)

// EnvVar is one entry of the bottle's env.
type EnvVar struct {
	Key  string
	Kind EnvKind
	// Value is the literal value, the host variable name, or the prompt text.
	Value string
}

// Secret reports whether the value is kept out of files: host variables and
// prompted values may be secrets, literals are written as they are.
func (e EnvVar) Secret() bool { return e.Kind != EnvLiteral }

// GitRemote is an upstream repository reached only through git-gate.
type GitRemote struct {
	Name           string
	Upstream       string
	IdentityFile   string // as written (~ expanded at launch)
	KnownHostKey   string
	PushBranches   []string
	ExtraHosts     []HostIP
	AllowForcePush bool
	AllowDelete    bool
}

// HostIP is one extra_hosts entry.
type HostIP struct{ Host, IP string }

// Route is an egress route.
type Route struct {
	Host          string
	PathAllowlist []string
	Auth          *Auth
}

// Auth names the credential egress injects: TokenRef is a host variable.
// It goes in Header (Authorization when empty) as "<Scheme> <token>", or
// as the bare token when Scheme is empty.
type Auth struct {
	Scheme   string
	Header   string
	TokenRef string
}

// Claude is the bottle's claude: key: how Claude Code authenticates to its
// model and where the model API is. Egress holds the credential; the agent
// gets a placeholder.
type Claude struct {
	// Auth is nil when the bottle declares only a base_url (a gateway
	// that needs no credential from the bottle).
	Auth *ClaudeAuth
	// BaseURL is a gateway's URL (ANTHROPIC_BASE_URL), "" for the default
	// api.anthropic.com.
	BaseURL string
}

// Claude Code's two credential kinds.
const (
	ClaudeOAuth  = "oauth"   // a token from `claude setup-token`: Authorization: Bearer
	ClaudeAPIKey = "api_key" // a Console API key: x-api-key
)

// ClaudeAuth names the model credential: Kind is ClaudeOAuth or
// ClaudeAPIKey, TokenRef the host variable holding it.
type ClaudeAuth struct {
	Kind     string
	TokenRef string
}

// Agent is a task: a system prompt, skills and the bottle it runs in.
type Agent struct {
	Name   string
	File   string
	Bottle string
	Skills []string
	// Extra holds Claude Code's own subagent keys, passed through as given.
	Extra  map[string]any
	Prompt string // the Markdown body: the agent's system prompt
	// FromCwd is true when the agent came from the work tree, not home.
	FromCwd bool
}

var (
	bottleKeys     = []string{"env", "git", "egress", "supervise", "dlp", "responses", "claude", "image", "dockerfile"}
	claudeKeys     = []string{"auth", "base_url"}
	claudeAuthKeys = []string{"kind", "token_ref"}
	claudeKinds    = []string{ClaudeOAuth, ClaudeAPIKey}
	gitKeys        = []string{"name", "upstream", "identity_file", "known_host_key", "push_branches", "extra_hosts", "allow_force_push", "allow_delete"}
	egressKeys     = []string{"allowlist", "routes", "allow_ip_literals", "passthrough", "max_upload"}
	routeKeys      = []string{"host", "path_allowlist", "auth"}
	authKeys       = []string{"scheme", "header", "token_ref"}
	// Claude Code's subagent frontmatter keys, accepted and passed through.
	claudeAgentKeys = []string{"name", "description", "tools", "disallowedTools", "model", "color", "permissionMode", "mcpServers", "hooks", "maxTurns", "memory", "background", "effort", "isolation", "initialPrompt"}
	agentKeys       = append([]string{"bottle", "skills"}, claudeAgentKeys...)

	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	hostVarRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

// reservedEnv are variables the bottle itself sets in the agent; a bottle
// that set them would silently undo the proxy or CA wiring.
var reservedEnv = []string{
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"ALL_PROXY", "all_proxy", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE",
	"CURL_CA_BUNDLE", "GIT_SSL_CAINFO",
}

// ValidName reports whether s is a valid bottle or agent name.
func ValidName(s string) bool { return sidecarconfig.ValidName(s) }

// parsedFile is a bottle or agent file read: its frontmatter's top
// mapping (keys in order) and the Markdown body after it.
type parsedFile struct {
	d     decoder
	root  *yaml.Node
	order []string
	top   map[string]*yaml.Node
	body  string
}

// parseFile checks a bottle's or agent's name (kind says which) and reads
// its file, whose frontmatter keys must be among keys.
func parseFile(kind, name, file string, data []byte, keys []string) (*parsedFile, error) {
	if !ValidName(name) {
		return nil, &Error{File: file, Msg: fmt.Sprintf("%s name %q must match [a-z][a-z0-9-]*; rename the file", kind, name)}
	}
	front, line, body, err := splitFrontmatter(file, data)
	if err != nil {
		return nil, err
	}
	p := &parsedFile{d: decoder{file: file}, body: body}
	if p.root, err = parseYAML(file, front, line); err != nil {
		return nil, err
	}
	if p.order, p.top, err = p.d.mapping(p.root, "", keys); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseBottle parses a bottle file's contents. name is the file's base name
// without .md; file is its path (for errors and relative paths).
func ParseBottle(name, file string, data []byte) (*Bottle, error) {
	p, err := parseFile("bottle", name, file, data, bottleKeys)
	if err != nil {
		return nil, err
	}
	d, top, body := p.d, p.top, p.body
	b := &Bottle{Name: name, File: file, Body: body}
	if n, ok := top["env"]; ok {
		if b.Env, err = d.env(n); err != nil {
			return nil, err
		}
	}
	if n, ok := top["git"]; ok {
		if b.Git, err = d.gitRemotes(n); err != nil {
			return nil, err
		}
	}
	if n, ok := top["egress"]; ok {
		if b.Allowlist, b.Routes, err = d.egress(n); err != nil {
			return nil, err
		}
		if b.AllowIPLiterals, err = d.ipLiterals(n); err != nil {
			return nil, err
		}
		if b.Passthrough, err = d.passthrough(n, b.Routes); err != nil {
			return nil, err
		}
		if b.MaxUpload, err = d.maxUpload(n); err != nil {
			return nil, err
		}
	}
	if n, ok := top["supervise"]; ok {
		if b.Supervise, err = d.boolean(n, "supervise"); err != nil {
			return nil, err
		}
	}
	if n, ok := top["dlp"]; ok {
		if b.DLPOff, err = d.dlp(n); err != nil {
			return nil, err
		}
	}
	if n, ok := top["responses"]; ok {
		if b.Responses, b.ResponsesOff, err = d.responses(n); err != nil {
			return nil, err
		}
	}
	if n, ok := top["claude"]; ok {
		if b.Claude, err = d.claude(n); err != nil {
			return nil, err
		}
		if err := d.claudeConflicts(b, top); err != nil {
			return nil, err
		}
	}
	if n, ok := top["image"]; ok {
		if b.Image, err = d.nonEmpty(n, "image"); err != nil {
			return nil, err
		}
		if strings.ContainsAny(b.Image, " \t\n") {
			return nil, d.errf(n, "image", "%q is not an image reference", b.Image)
		}
	}
	if n, ok := top["dockerfile"]; ok {
		df, err := d.nonEmpty(n, "dockerfile")
		if err != nil {
			return nil, err
		}
		if !filepath.IsAbs(df) {
			df = filepath.Join(filepath.Dir(file), df)
		}
		b.Dockerfile = filepath.Clean(df)
	}
	return b, nil
}

// dlp reads the dlp: key, e.g. {pii: off, financial: on}: each DLP class
// of pipelock is on unless turned off here. Known secrets are always on.
func (d decoder) dlp(n *yaml.Node) ([]string, error) {
	order, vals, err := d.mapping(n, "dlp", sidecarconfig.DLPClasses)
	if err != nil {
		return nil, err
	}
	var off []string
	for _, k := range order {
		v := vals[k]
		key := "dlp." + k
		if v.Kind != yaml.ScalarNode {
			return nil, d.errf(v, key, "expected on or off, found %s", kindName(v))
		}
		switch strings.ToLower(v.Value) {
		case "off", "false":
			off = append(off, k)
		case "on", "true":
		default:
			return nil, d.errf(v, key, "expected on or off, found %q", v.Value)
		}
	}
	sort.Strings(off)
	return off, nil
}

// responses reads the responses: key: a mode (responses: block), or a
// mapping with the mode and rule kinds turned off
// ({mode: strip, css-hidden: off}).
func (d decoder) responses(n *yaml.Node) (string, []string, error) {
	modes := strings.Join(sidecarconfig.ResponseModes, ", ")
	mode := func(v *yaml.Node, key string) (string, error) {
		if v.Kind != yaml.ScalarNode || !slices.Contains(sidecarconfig.ResponseModes, strings.ToLower(v.Value)) {
			what := kindName(v)
			if v.Kind == yaml.ScalarNode {
				what = fmt.Sprintf("%q", v.Value)
			}
			return "", d.errf(v, key, "expected one of %s, found %s", modes, what)
		}
		return strings.ToLower(v.Value), nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		m, err := mode(n, "responses")
		return m, nil, err
	}
	order, vals, err := d.mapping(n, "responses", append([]string{"mode"}, sidecarconfig.ResponseKinds...))
	if err != nil {
		return "", nil, err
	}
	var m string
	var off []string
	for _, k := range order {
		v := vals[k]
		key := "responses." + k
		if k == "mode" {
			if m, err = mode(v, key); err != nil {
				return "", nil, err
			}
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return "", nil, d.errf(v, key, "expected on or off, found %s", kindName(v))
		}
		switch strings.ToLower(v.Value) {
		case "off", "false":
			off = append(off, k)
		case "on", "true":
		default:
			return "", nil, d.errf(v, key, "expected on or off, found %q", v.Value)
		}
	}
	sort.Strings(off)
	return m, off, nil
}

func (d decoder) env(n *yaml.Node) ([]EnvVar, error) {
	order, vals, err := d.mapping(n, "env", nil)
	if err != nil {
		return nil, err
	}
	var out []EnvVar
	for _, k := range order {
		v := vals[k]
		key := "env." + k
		if !envNameRE.MatchString(k) {
			return nil, d.errf(v, key, "%q is not an environment variable name (letters, digits, _; not starting with a digit)", k)
		}
		if contains(reservedEnv, k) || strings.HasPrefix(k, "EGRESS_TOKEN_") || strings.HasPrefix(k, "PIPELOCK_SECRET_") || strings.HasPrefix(k, "CLAUDE_BOTTLE_") {
			return nil, d.errf(v, key, "%s is set by claude-bottle itself; remove it from env", k)
		}
		if contains(ClaudeEnv, k) {
			return nil, d.errf(v, key, "would give the agent the model credential or endpoint itself; declare claude: {auth: {kind: oauth|api_key, token_ref: HOST_VAR}, base_url: ...} instead (egress injects the credential, the agent holds a placeholder)")
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return nil, d.errf(v, key, "expected a value (text, ${HOST_VAR} or \"?prompt\"), found %s", kindName(v))
		}
		s := v.Value
		switch {
		case strings.HasPrefix(s, "?"):
			if strings.TrimSpace(s[1:]) == "" {
				return nil, d.errf(v, key, "a prompt needs text after \"?\", e.g. \"?GitHub user name\"")
			}
			out = append(out, EnvVar{Key: k, Kind: EnvPrompt, Value: strings.TrimSpace(s[1:])})
		case hostVarRE.MatchString(s):
			out = append(out, EnvVar{Key: k, Kind: EnvHostVar, Value: hostVarRE.FindStringSubmatch(s)[1]})
		case strings.Contains(s, "${"):
			return nil, d.errf(v, key, "%q mixes text and ${...}; a host variable must be the whole value, like ${MY_VAR}", s)
		default:
			if err := CheckEnvSize(k, s); err != nil {
				return nil, d.errf(v, key, "%v", err)
			}
			out = append(out, EnvVar{Key: k, Kind: EnvLiteral, Value: s})
		}
	}
	return out, nil
}

// MaxEnvEntry is the longest "KEY=value" the kernel passes to a process
// (MAX_ARG_STRLEN, 32 pages): a longer one makes the container's start
// fail with "argument list too long".
const MaxEnvEntry = 32*4096 - 1

// CheckEnvSize refuses an env value the agent container could not start
// with. The error gives the size, never the value.
func CheckEnvSize(key, value string) error {
	if n := len(key) + 1 + len(value); n > MaxEnvEntry {
		return fmt.Errorf("the value of %s is %d bytes; a container cannot start with an environment entry over %d bytes (the kernel's per-string limit; start would fail with \"argument list too long\"): put the data in a file the agent reads instead", key, len(value), MaxEnvEntry)
	}
	return nil
}

func (d decoder) gitRemotes(n *yaml.Node) ([]GitRemote, error) {
	items, err := d.list(n, "git")
	if err != nil {
		return nil, err
	}
	var out []GitRemote
	seen := map[string]bool{}
	for i, it := range items {
		p := fmt.Sprintf("git[%d]", i)
		_, f, err := d.mapping(it, p, gitKeys)
		if err != nil {
			return nil, err
		}
		var g GitRemote
		nameNode, ok := f["name"]
		if !ok {
			return nil, d.errf(it, p+".name", "is required: the agent sees git://<gate>/<name>.git")
		}
		if g.Name, err = d.nonEmpty(nameNode, p+".name"); err != nil {
			return nil, err
		}
		if !ValidName(g.Name) {
			return nil, d.errf(nameNode, p+".name", "%q must match [a-z][a-z0-9-]*", g.Name)
		}
		if seen[g.Name] {
			return nil, d.errf(nameNode, p+".name", "%q is used by two git remotes; names must be unique", g.Name)
		}
		seen[g.Name] = true
		up, ok := f["upstream"]
		if !ok {
			return nil, d.errf(it, p+".upstream", "is required (e.g. ssh://git@git.example.com:22/org/repo.git)")
		}
		if g.Upstream, err = d.nonEmpty(up, p+".upstream"); err != nil {
			return nil, err
		}
		if err := checkUpstream(g.Upstream); err != nil {
			return nil, d.errf(up, p+".upstream", "%v", err)
		}
		idf, ok := f["identity_file"]
		if !ok {
			return nil, d.errf(it, p+".identity_file", "is required: the ssh key the gate pushes with (e.g. ~/.ssh/id_ed25519_%s)", g.Name)
		}
		if g.IdentityFile, err = d.nonEmpty(idf, p+".identity_file"); err != nil {
			return nil, err
		}
		khk, ok := f["known_host_key"]
		if !ok {
			return nil, d.errf(it, p+".known_host_key", "is required: pin the upstream's host key (a line of `ssh-keyscan <host>` without the host name); the gate never trusts on first use")
		}
		if g.KnownHostKey, err = d.nonEmpty(khk, p+".known_host_key"); err != nil {
			return nil, err
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(g.KnownHostKey)); err != nil {
			return nil, d.errf(khk, p+".known_host_key", "is not an ssh public key (\"ssh-ed25519 AAAA...\"): %v", err)
		}
		if pb, ok := f["push_branches"]; ok {
			if g.PushBranches, err = d.strList(pb, p+".push_branches"); err != nil {
				return nil, err
			}
			for j, glob := range g.PushBranches {
				if _, err := path.Match(glob, "x"); err != nil {
					return nil, d.errf(pb, fmt.Sprintf("%s.push_branches[%d]", p, j), "%q is not a valid glob: %v", glob, err)
				}
			}
		}
		if eh, ok := f["extra_hosts"]; ok {
			order, hosts, err := d.mapping(eh, p+".extra_hosts", nil)
			if err != nil {
				return nil, err
			}
			for _, h := range order {
				ip, err := d.nonEmpty(hosts[h], p+".extra_hosts."+h)
				if err != nil {
					return nil, err
				}
				if err := sidecarconfig.ValidateHost(h); err != nil {
					return nil, d.errf(hosts[h], p+".extra_hosts."+h, "%v", err)
				}
				if net.ParseIP(ip) == nil {
					return nil, d.errf(hosts[h], p+".extra_hosts."+h, "%q is not an IP address", ip)
				}
				g.ExtraHosts = append(g.ExtraHosts, HostIP{Host: h, IP: ip})
			}
		}
		if v, ok := f["allow_force_push"]; ok {
			if g.AllowForcePush, err = d.boolean(v, p+".allow_force_push"); err != nil {
				return nil, err
			}
		}
		if v, ok := f["allow_delete"]; ok {
			if g.AllowDelete, err = d.boolean(v, p+".allow_delete"); err != nil {
				return nil, err
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// checkUpstream accepts ssh://[user@]host[:port]/path and user@host:path.
func checkUpstream(u string) error {
	if strings.Contains(u, "://") {
		pu, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("%q is not a URL: %v", u, err)
		}
		if pu.Scheme != "ssh" {
			return fmt.Errorf("%q: only ssh upstreams are supported (ssh://git@host/org/repo.git); the gate pushes over ssh with a pinned host key", u)
		}
		if pu.Hostname() == "" || strings.Trim(pu.Path, "/") == "" {
			return fmt.Errorf("%q needs a host and a repository path", u)
		}
		return nil
	}
	at := strings.Index(u, "@")
	colon := strings.Index(u, ":")
	if at <= 0 || colon < at+2 || colon == len(u)-1 {
		return fmt.Errorf("%q is neither ssh://user@host/path nor user@host:path", u)
	}
	return nil
}

// passthrough reads egress.passthrough: hosts whose TLS pipelock does not
// intercept, so nothing sent to them is inspected. It is the bottle's
// explicit choice (issue 15 hole 6: a passthrough model host was a sink);
// a route host cannot be one, since egress intercepts it.
func (d decoder) passthrough(n *yaml.Node, routes []Route) ([]string, error) {
	_, f, err := d.mapping(n, "egress", egressKeys)
	if err != nil {
		return nil, err
	}
	pn, ok := f["passthrough"]
	if !ok {
		return nil, nil
	}
	hosts, err := d.strList(pn, "egress.passthrough")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, h := range hosts {
		key := fmt.Sprintf("egress.passthrough[%d]", i)
		if err := sidecarconfig.ValidateHost(h); err != nil {
			return nil, d.errf(pn, key, "%v", err)
		}
		lh := strings.ToLower(strings.TrimSuffix(h, "."))
		if seen[lh] {
			return nil, d.errf(pn, key, "%q is listed twice; drop one", h)
		}
		seen[lh] = true
		for _, r := range routes {
			if strings.EqualFold(strings.TrimSuffix(r.Host, "."), lh) {
				return nil, d.errf(pn, key, "%q is a route host: egress intercepts it, so pipelock inspects it too; drop it from egress.passthrough", h)
			}
		}
	}
	return hosts, nil
}

func (d decoder) egress(n *yaml.Node) ([]string, []Route, error) {
	_, f, err := d.mapping(n, "egress", egressKeys)
	if err != nil {
		return nil, nil, err
	}
	var allow []string
	if a, ok := f["allowlist"]; ok {
		if allow, err = d.strList(a, "egress.allowlist"); err != nil {
			return nil, nil, err
		}
		for i, h := range allow {
			if err := sidecarconfig.ValidateAllowHost(h); err != nil {
				return nil, nil, d.errf(a, fmt.Sprintf("egress.allowlist[%d]", i), "%v", err)
			}
			if err := passableHost(h); err != nil {
				return nil, nil, d.errf(a, fmt.Sprintf("egress.allowlist[%d]", i), "%v", err)
			}
		}
	}
	var routes []Route
	if r, ok := f["routes"]; ok {
		items, err := d.list(r, "egress.routes")
		if err != nil {
			return nil, nil, err
		}
		seen := map[string]bool{}
		for i, it := range items {
			p := fmt.Sprintf("egress.routes[%d]", i)
			_, rf, err := d.mapping(it, p, routeKeys)
			if err != nil {
				return nil, nil, err
			}
			var rt Route
			hn, ok := rf["host"]
			if !ok {
				return nil, nil, d.errf(it, p+".host", "is required")
			}
			if rt.Host, err = d.nonEmpty(hn, p+".host"); err != nil {
				return nil, nil, err
			}
			if err := sidecarconfig.ValidateHost(rt.Host); err != nil {
				return nil, nil, d.errf(hn, p+".host", "%v", err)
			}
			if err := passableHost(rt.Host); err != nil {
				return nil, nil, d.errf(hn, p+".host", "%v", err)
			}
			if seen[strings.ToLower(rt.Host)] {
				return nil, nil, d.errf(hn, p+".host", "%q has two routes; merge them into one", rt.Host)
			}
			seen[strings.ToLower(rt.Host)] = true
			if pa, ok := rf["path_allowlist"]; ok {
				if rt.PathAllowlist, err = d.strList(pa, p+".path_allowlist"); err != nil {
					return nil, nil, err
				}
				for j, pp := range rt.PathAllowlist {
					if err := matchablePath(pp); err != nil {
						return nil, nil, d.errf(pa, fmt.Sprintf("%s.path_allowlist[%d]", p, j), "%v", err)
					}
				}
			}
			if an, ok := rf["auth"]; ok {
				_, af, err := d.mapping(an, p+".auth", authKeys)
				if err != nil {
					return nil, nil, err
				}
				if len(af) == 0 {
					return nil, nil, d.errf(an, p+".auth", "is empty; give scheme or header, and token_ref (auth: {scheme: Bearer, token_ref: MY_TOKEN}) or remove auth")
				}
				var a Auth
				hn, hasHeader := af["header"]
				if hasHeader {
					if a.Header, err = d.nonEmpty(hn, p+".auth.header"); err != nil {
						return nil, nil, err
					}
					if err := sidecarconfig.ValidateHeaderName(a.Header); err != nil {
						return nil, nil, d.errf(hn, p+".auth.header", "%v", err)
					}
				}
				sn, ok := af["scheme"]
				if !ok && !hasHeader {
					return nil, nil, d.errf(an, p+".auth.scheme", "is required (e.g. Bearer), or give header: to send the bare token in a header of its own (e.g. header: X-Api-Key)")
				}
				if ok {
					if a.Scheme, err = d.nonEmpty(sn, p+".auth.scheme"); err != nil {
						return nil, nil, err
					}
					if err := sidecarconfig.ValidateScheme(a.Scheme); err != nil {
						return nil, nil, d.errf(sn, p+".auth.scheme", "%v", err)
					}
				}
				tn, ok := af["token_ref"]
				if !ok {
					return nil, nil, d.errf(an, p+".auth.token_ref", "is required: the host environment variable holding the token")
				}
				if a.TokenRef, err = d.nonEmpty(tn, p+".auth.token_ref"); err != nil {
					return nil, nil, err
				}
				if !envNameRE.MatchString(a.TokenRef) {
					return nil, nil, d.errf(tn, p+".auth.token_ref", "%q is not an environment variable name", a.TokenRef)
				}
				rt.Auth = &a
			}
			routes = append(routes, rt)
		}
	}
	return allow, routes, nil
}

// passableHost refuses allowlist and route hosts pipelock can never let
// through: IP literals (rule ip-literal, whatever the allowlist says) and
// the loopback names, which are the agent's own container.
func passableHost(h string) error {
	l := strings.ToLower(strings.TrimSuffix(h, "."))
	if isIPLiteral(l) {
		return fmt.Errorf("%q is an IP literal: pipelock blocks those whatever the allowlist says (rule ip-literal); use a host name, or list a public address under egress.allow_ip_literals", h)
	}
	if l == "localhost" || strings.HasSuffix(l, ".localhost") || l == "localhost.localdomain" {
		return fmt.Errorf("%q is the agent's own container, never a host outside the bottle, and the SSRF guard blocks loopback; remove it", h)
	}
	return nil
}

// isIPLiteral reports whether a name that passed ValidateHost is an IPv4
// address in any spelling pipelock reads as one (dotted, decimal, octal,
// hex, short forms): no top-level domain is all digits or 0x-hex.
func isIPLiteral(h string) bool {
	labels := strings.Split(h, ".")
	if len(labels) > 4 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		digits := l
		if strings.HasPrefix(l, "0x") {
			digits = l[2:]
			if strings.Trim(digits, "0123456789abcdef") != "" {
				return false
			}
			continue
		}
		if strings.Trim(digits, "0123456789") != "" {
			return false
		}
	}
	return true
}

// matchablePath refuses path_allowlist entries egress can never match:
// egress refuses every path with a . or .. segment, and compares prefixes
// byte for byte (no globs, no query).
func matchablePath(pp string) error {
	switch {
	case !strings.HasPrefix(pp, "/"):
		return fmt.Errorf("%q must start with /", pp)
	case strings.ContainsAny(pp, "*?["):
		return fmt.Errorf("%q has a glob or query character: path_allowlist holds plain prefixes (/repos/org/app allows everything under it), so it would never match", pp)
	case strings.Contains(pp, "#"):
		return fmt.Errorf("%q has a fragment: a request path never carries one, so it would never match", pp)
	}
	for _, seg := range strings.Split(pp, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q has a %q segment: egress refuses every request path with one, so it would never match; write the path it resolves to", pp, seg)
		}
	}
	return nil
}

// ipLiterals reads egress.allow_ip_literals: public addresses only (the
// SSRF guard blocks internal ones whatever the lists say).
func (d decoder) ipLiterals(n *yaml.Node) ([]string, error) {
	_, f, err := d.mapping(n, "egress", egressKeys)
	if err != nil {
		return nil, err
	}
	a, ok := f["allow_ip_literals"]
	if !ok {
		return nil, nil
	}
	list, err := d.strList(a, "egress.allow_ip_literals")
	if err != nil {
		return nil, err
	}
	for i, s := range list {
		ip, perr := netip.ParseAddr(s)
		key := fmt.Sprintf("egress.allow_ip_literals[%d]", i)
		switch {
		case perr != nil:
			return nil, d.errf(a, key, "%q is not an IP address (dotted IPv4 or IPv6, like 203.0.113.7)", s)
		case ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() || ip.Unmap().IsLinkLocalMulticast():
			return nil, d.errf(a, key, "%q is an internal address: the SSRF guard blocks it whatever the lists say; only public addresses can be allowed", s)
		}
		list[i] = ip.Unmap().String()
	}
	return list, nil
}

// ParseAgent parses an agent file's contents.
func ParseAgent(name, file string, data []byte) (*Agent, error) {
	p, err := parseFile("agent", name, file, data, agentKeys)
	if err != nil {
		return nil, err
	}
	d, root, order, f, body := p.d, p.root, p.order, p.top, p.body
	a := &Agent{Name: name, File: file, Prompt: strings.TrimSpace(body), Extra: map[string]any{}}
	bn, ok := f["bottle"]
	if !ok {
		return nil, &Error{File: file, Line: root.Line, Key: "bottle", Msg: "is required: name the bottle (a file in ~/.claude-bottle/bottles/) this agent runs in"}
	}
	if a.Bottle, err = d.nonEmpty(bn, "bottle"); err != nil {
		return nil, err
	}
	if !ValidName(a.Bottle) {
		return nil, d.errf(bn, "bottle", "%q is not a bottle name ([a-z][a-z0-9-]*)", a.Bottle)
	}
	if sn, ok := f["skills"]; ok {
		if a.Skills, err = d.strList(sn, "skills"); err != nil {
			return nil, err
		}
		for i, s := range a.Skills {
			if strings.ContainsAny(s, `/\`) || s == "." || s == ".." {
				return nil, d.errf(sn, fmt.Sprintf("skills[%d]", i), "%q must be a skill folder name under ~/.claude/skills/, not a path", s)
			}
		}
	}
	for _, k := range order {
		if k == "bottle" || k == "skills" {
			continue
		}
		var v any
		if err := f[k].Decode(&v); err != nil {
			return nil, d.errf(f[k], k, "%v", err)
		}
		a.Extra[k] = v
	}
	return a, nil
}
