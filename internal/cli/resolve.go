package cli

import (
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// resolvePlan finds the agent and its bottle and builds the plan, printing
// trust-boundary warnings to stderr.
func resolvePlan(agentName, slug string, stderr io.Writer) (*plan.Plan, error) {
	return resolvePlanWith(agentName, slug, stderr, nil)
}

// resolvePlanWith lets the caller adjust the options (e.g. the runtime).
func resolvePlanWith(agentName, slug string, stderr io.Writer, adjust func(*plan.Options)) (*plan.Plan, error) {
	home, err := layout.Home()
	if err != nil {
		return nil, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	f := manifest.Finder{Home: home, Cwd: cwd}
	if agentName == "" {
		names, err := f.ListAgents()
		if err != nil {
			return nil, err
		}
		switch len(names) {
		case 0:
			return nil, fmt.Errorf("no agents found in %s; run `claude-bottle init` to create examples", f.Home+"/agents")
		case 1:
			agentName = names[0]
		default:
			return nil, fmt.Errorf("several agents found (%v); name one", names)
		}
	}
	r, err := f.Resolve(agentName)
	if err != nil {
		return nil, err
	}
	warn(stderr, r.Warnings)
	opt := plan.Options{Slug: slug, Home: home, SidecarUser: sidecarUser()}
	opt.ApplyEnv(nil)
	if adjust != nil {
		adjust(&opt)
	}
	return plan.New(r.Agent, r.Bottle, opt)
}

// sidecarUser is the invoking user's uid:gid: the sidecars run as the owner
// of the 0600 keys in the state dir, so the keys never need wider modes.
func sidecarUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Uid + ":" + u.Gid
}
