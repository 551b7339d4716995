package agentcontract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// GateURL is the URL the agent uses for a remote: git://<gate>/<name>.git.
func GateURL(gateHost, name string) string {
	return "git://" + gateHost + "/" + name + ".git"
}

// AgentGitConfig renders the part of the agent's ~/.gitconfig that sends
// each declared upstream URL to the gate (DESIGN.md §2.4):
//
//	[url "git://<gateHost>/<name>.git"]
//		insteadOf = <upstream>
//
// insteadOf applies to fetch and push alike, so the agent can use the
// upstream URL it knows and still only ever talks to the gate. gateHost is
// the gate's name on the internal network (layout.SidecarContainer
// ("git-gate", slug)). Pure: the caller writes the file. Remotes are
// rendered sorted by name so the output is stable.
func AgentGitConfig(gateHost string, remotes []sidecarconfig.GateRemote) (string, error) {
	if err := sidecarconfig.ValidateHost(gateHost); err != nil {
		return "", fmt.Errorf("git-gate host: %w", err)
	}
	rs := slices.Clone(remotes)
	slices.SortFunc(rs, func(a, b sidecarconfig.GateRemote) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.WriteString("# Written by claude-bottle: every declared upstream goes through the git-gate.\n")
	seen := map[string]string{}
	for i, r := range rs {
		if !sidecarconfig.ValidName(r.Name) {
			return "", fmt.Errorf("git[%d].name: %q must match [a-z][a-z0-9-]*", i, r.Name)
		}
		if r.Upstream == "" {
			return "", fmt.Errorf("git[%d].upstream (%s): must be set", i, r.Name)
		}
		if strings.ContainsFunc(r.Upstream, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return "", fmt.Errorf("git[%d].upstream (%s): %q contains control characters", i, r.Name, r.Upstream)
		}
		if other, dup := seen[r.Upstream]; dup {
			return "", fmt.Errorf("git[%d].upstream (%s): %q is also the upstream of %q; one URL can go to one gate repo only", i, r.Name, r.Upstream, other)
		}
		seen[r.Upstream] = r.Name
		fmt.Fprintf(&b, "[url %s]\n\tinsteadOf = %s\n", quoteGitConfig(GateURL(gateHost, r.Name)), quoteGitConfig(r.Upstream))
	}
	return b.String(), nil
}

// quoteGitConfig double-quotes a subsection name or value for git config:
// only \ and " need escaping once inside quotes (control characters were
// refused before).
func quoteGitConfig(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
