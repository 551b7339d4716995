package sidecarinit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// EnvDaemons names the environment variable that lists the daemons the
// bundle runs (DESIGN.md §2.2), e.g. "egress,pipelock,git-gate,supervise".
const EnvDaemons = "CLAUDE_BOTTLE_SIDECAR_DAEMONS"

// Ports maps each daemon to the port it listens on inside the bottle.
var Ports = map[string]int{
	layout.DaemonEgress:    layout.EgressPort,
	layout.DaemonPipelock:  layout.PipelockPort,
	layout.DaemonGitGate:   layout.GitGatePort,
	layout.DaemonSupervise: layout.SupervisePort,
}

// ParseDaemons parses the value of CLAUDE_BOTTLE_SIDECAR_DAEMONS. Blanks
// around names and empty entries are ignored, the given order is kept, a
// repeated name counts once (two copies would fight over one port). An
// unknown name, or a list naming no daemon, is an error that names the value.
func ParseDaemons(csv string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(csv, ",") {
		name := strings.TrimSpace(f)
		if name == "" {
			continue
		}
		if _, ok := Ports[name]; !ok {
			hint := ""
			if _, ok := Ports[strings.ToLower(name)]; ok {
				hint = fmt.Sprintf(" (did you mean %q? names are lower-case)", strings.ToLower(name))
			}
			return nil, fmt.Errorf("%s=%q: unknown daemon %q%s; known daemons: %s",
				EnvDaemons, csv, name, hint, strings.Join(layout.DaemonOrder, ", "))
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s=%q names no daemon; set it to a comma-separated subset of %s",
			EnvDaemons, csv, strings.Join(layout.DaemonOrder, ","))
	}
	return out, nil
}

// Variables only some daemons may see. Egress tokens are real credentials
// (DESIGN.md §2.3): egress alone. The agent's own secrets (PIPELOCK_SECRET_*)
// are matched by pipelock in requests and by git-gate in pushed commits.
var privateEnvPrefix = map[string][]string{
	"EGRESS_TOKEN_":    {layout.DaemonEgress},
	"PIPELOCK_SECRET_": {layout.DaemonPipelock, layout.DaemonGitGate},
}

// proxyEnv must never reach a daemon in the bundle: they would send
// git-gate's ssh and fetches, and pipelock's own upstream traffic, through
// pipelock (DESIGN.md §2.2). The renderer never sets them; this is the
// belt to its braces.
var proxyEnv = map[string]bool{
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
}

// ChildEnv returns the environment daemon name gets from the init's
// environment base: everything except other daemons' private variables and
// the proxy variables. The second result lists the names that were dropped
// (names only, never values) so the init can log them.
func ChildEnv(name string, base []string) (env []string, dropped []string) {
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if proxyEnv[k] {
			dropped = append(dropped, k)
			continue
		}
		keep := true
		for prefix, owners := range privateEnvPrefix {
			if strings.HasPrefix(k, prefix) && !slices.Contains(owners, name) {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env, dropped
}
