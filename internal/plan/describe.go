package plan

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Describe writes the plan for a person to read before saying y/N. It shows
// names and sources of secrets, never values.
func (p *Plan) Describe(w io.Writer) {
	shape := "legacy (one service per sidecar)"
	if p.Bundle {
		shape = "bundle (one sidecars service)"
	}
	fmt.Fprintf(w, "Bottle plan\n")
	fmt.Fprintf(w, "  agent:        %s (%s)\n", p.Agent.Name, p.Agent.File)
	if p.Agent.FromCwd {
		fmt.Fprintf(w, "                (supplied by the work tree)\n")
	}
	fmt.Fprintf(w, "  bottle:       %s (%s)\n", p.Bottle.Name, p.Bottle.File)
	fmt.Fprintf(w, "  slug:         %s\n", p.Slug)
	fmt.Fprintf(w, "  project:      %s\n", p.Project)
	fmt.Fprintf(w, "  shape:        %s\n", shape)
	if p.AgentBuild != nil {
		fmt.Fprintf(w, "  agent image:  %s, built from %s/%s\n", p.AgentImage, p.AgentBuild.Context, p.AgentBuild.Dockerfile)
	} else {
		fmt.Fprintf(w, "  agent image:  %s\n", p.AgentImage)
	}
	fmt.Fprintf(w, "  sidecars:     %s (image %s)\n", strings.Join(p.Daemons, ", "), p.SidecarImage)
	fmt.Fprintf(w, "  agent proxy:  %s\n", p.ProxyURL)

	if p.Model != nil {
		fmt.Fprintf(w, "  model:        %s\n", p.Model.describe())
	} else {
		fmt.Fprintf(w, "  model:        no claude: key; Claude Code must log in inside the bottle (declare claude.auth to inject a credential)\n")
	}
	fmt.Fprintf(w, "  allowlist:    %s\n", listOrNone(p.Pipelock.Allowlist, " (plus pipelock's built-in hosts for the agent)"))
	if len(p.Bottle.Routes) == 0 {
		fmt.Fprintf(w, "  routes:       none\n")
	} else {
		fmt.Fprintf(w, "  routes:\n")
		for i, r := range p.Bottle.Routes {
			paths := "any path"
			if len(r.PathAllowlist) > 0 {
				paths = strings.Join(r.PathAllowlist, ", ")
			}
			auth := "no credential"
			if r.Auth != nil {
				a := p.Routes.Routes[i].Auth
				auth = fmt.Sprintf("%s: %s injected from ${%s} (%s)", a.HeaderName(), a.Value("<token>"), r.Auth.TokenRef, a.TokenSlot)
			}
			fmt.Fprintf(w, "    - %s  [%s]  %s\n", r.Host, paths, auth)
		}
	}
	fmt.Fprintf(w, "  uploads:      %s\n", uploadLine(p.Pipelock.MaxBodyBytes))
	if len(p.Bottle.Git) == 0 {
		fmt.Fprintf(w, "  git:          none\n")
	} else {
		fmt.Fprintf(w, "  git:\n")
		for _, g := range p.Bottle.Git {
			push := "any branch"
			if len(g.PushBranches) > 0 {
				push = strings.Join(g.PushBranches, ", ")
			}
			fmt.Fprintf(w, "    - git://%s/%s.git -> %s (push: %s; key %s)\n", p.GitGateHost(), g.Name, g.Upstream, push, g.IdentityFile)
		}
	}
	fmt.Fprintf(w, "  supervise:    %v\n", p.Bottle.Supervise)
	fmt.Fprintf(w, "  dlp:          %s\n", dlpLine(p.Pipelock.DLPOff))
	fmt.Fprintf(w, "  responses:    %s\n", responsesLine(p.Pipelock.Responses, p.Pipelock.ResponsesOff, p.Pipelock.ResponsesUnread))
	if len(p.Bottle.Env) > 0 {
		fmt.Fprintf(w, "  env:\n")
		for _, e := range p.Bottle.Env {
			switch e.Kind {
			case manifest.EnvLiteral:
				fmt.Fprintf(w, "    - %s=%s\n", e.Key, e.Value)
			case manifest.EnvHostVar:
				fmt.Fprintf(w, "    - %s from host ${%s} (kept out of files; pipelock blocks it leaving)\n", e.Key, e.Value)
			case manifest.EnvPrompt:
				fmt.Fprintf(w, "    - %s asked at start: %q (kept out of files; pipelock blocks it leaving)\n", e.Key, e.Value)
			}
		}
	}
	if len(p.Agent.Skills) > 0 {
		fmt.Fprintf(w, "  skills:       %s\n", strings.Join(p.Agent.Skills, ", "))
	}
	fmt.Fprintf(w, "  state dir:    %s\n", p.StateDir)
}

// uploadLine says how pipelock treats request bodies.
func uploadLine(limit int64) string {
	if limit == 0 {
		return "any size, scanned as they stream (no egress.max_upload cap)"
	}
	return fmt.Sprintf("up to %d bytes (egress.max_upload), scanned as they stream; a larger Content-Length is refused before it is sent", limit)
}

// dlpLine says which DLP classes pipelock applies.
func dlpLine(off []string) string {
	var on []string
	for _, c := range sidecarconfig.DLPClasses {
		if !slices.Contains(off, c) {
			on = append(on, c)
		}
	}
	line := "known secrets, " + strings.Join(on, ", ")
	if len(off) > 0 {
		line += " (off: " + strings.Join(off, ", ") + ")"
	}
	return line
}

// responsesLine says what pipelock does with prompt injection in
// responses, which rule kinds are off and which hosts are not read.
func responsesLine(mode string, off, unread []string) string {
	if mode == "" {
		mode = "warn"
	}
	line := map[string]string{
		"warn":  "warn (prompt injection in responses is logged, passed on)",
		"strip": "strip (prompt injection in responses is overwritten)",
		"block": "block (a response with prompt injection becomes an error)",
		"off":   "off (responses are not read)",
	}[mode]
	if len(off) > 0 && mode != "off" {
		line += " (off: " + strings.Join(off, ", ") + ")"
	}
	if len(unread) > 0 && mode != "off" {
		line += "; not read from " + strings.Join(unread, ", ") + " (the model's answers)"
	}
	return line
}

func listOrNone(l []string, suffix string) string {
	if len(l) == 0 {
		return "none" + suffix
	}
	return strings.Join(l, ", ") + suffix
}
