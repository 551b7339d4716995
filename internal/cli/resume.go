package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/approve"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

func resumeCmd() *cobra.Command {
	var yes, detach bool
	c := &cobra.Command{
		Use:   "resume <slug>",
		Short: "Bring a stopped bottle back (same slug, files re-read, new CAs, approved routes folded in)",
		Long: `Bring a stopped bottle back from its state dir: the agent and bottle files
named in its metadata are read again, the slug and shape stay, the CAs and
keys are new. Routes approved while it ran that needed a restart
(<state>/pending-restart.json) become part of the bottle. The old state dir
is replaced; its compose.log is kept as compose.log.prev.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			m, sd, err := loadBottle(args[0])
			if err != nil {
				return err
			}
			if live, err := engine.LiveProjects(ctx); err != nil {
				return err
			} else if live[m.Project] {
				return fmt.Errorf("bottle %s is running; attach with `claude-bottle exec %s -- claude` or stop it first", m.Slug, m.Slug)
			}
			p, pending, err := resumePlan(m, sd)
			if err != nil {
				return err
			}
			p.Describe(stderr)
			for _, r := range pending {
				fmt.Fprintf(stderr, "==> folding in the route to %s approved while the bottle ran\n", r.Host)
			}
			if err := p.MissingHostEnv(nil); err != nil {
				return err
			}
			if !yes && !detach {
				ok, err := confirm(cmd.InOrStdin(), stderr, "Resume this bottle?")
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("not resumed")
				}
			}
			secrets, err := collectSecrets(p, stderr)
			if err != nil {
				return err
			}
			l, err := newLauncher(ctx, stderr, nil)
			if err != nil {
				return err
			}
			warnings, err := launch.Preflight(ctx, p)
			if err != nil {
				return err
			}
			warn(stderr, warnings)
			if err := ensureImages(ctx, p, stderr); err != nil {
				return err
			}
			// Prepare makes a new state dir; the old one steps aside until
			// the bottle is up, and comes back if it does not come up.
			old := filepath.Join(filepath.Dir(string(sd)), "."+m.Slug+".resume-"+fmt.Sprint(time.Now().UnixNano()))
			if err := os.Rename(string(sd), old); err != nil {
				return err
			}
			if err := l.Up(ctx, p, secrets); err != nil {
				if rerr := os.RemoveAll(string(sd)); rerr == nil {
					_ = os.Rename(old, string(sd))
				}
				return err
			}
			if data, err := os.ReadFile(layout.StateDir(old).ComposeLog()); err == nil {
				_ = os.WriteFile(sd.ComposeLog()+".prev", data, 0o600)
			}
			if err := os.RemoveAll(old); err != nil {
				warn(stderr, []string{fmt.Sprintf("could not remove the old state dir %s: %v", old, err)})
			}
			sess, err := (&bottle{plan: p}).session(ctx, false, stderr)
			if err != nil {
				tearDown(l, p, stderr)
				return err
			}
			if detach {
				fmt.Fprintln(stdout, p.Slug)
				return nil
			}
			defer tearDown(l, p, stderr)
			return attachSession(ctx, layout.AgentContainer(p.Slug), p.StateDir, sess, false, cmd.InOrStdin(), stdout, stderr)
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask y/N")
	c.Flags().BoolVar(&detach, "detach", false, "bring the bottle up, print its slug and return")
	return c
}

// resumePlan re-reads the manifest files the metadata names, folds in the
// pending routes and plans the bottle under its old slug and shape.
func resumePlan(m *state.Metadata, sd layout.StateDir) (*plan.Plan, []approve.PendingRoute, error) {
	agent, err := parseFile(m.AgentFile, "agent", func(name string, data []byte) (any, error) { return manifest.ParseAgent(name, m.AgentFile, data) })
	if err != nil {
		return nil, nil, err
	}
	bottle, err := parseFile(m.BottleFile, "bottle", func(name string, data []byte) (any, error) { return manifest.ParseBottle(name, m.BottleFile, data) })
	if err != nil {
		return nil, nil, err
	}
	a, b := agent.(*manifest.Agent), bottle.(*manifest.Bottle)
	pending, err := readPending(sd)
	if err != nil {
		return nil, nil, err
	}
	b.Routes = foldRoutes(b.Routes, pending)
	home, err := layout.Home()
	if err != nil {
		return nil, nil, err
	}
	opt := plan.Options{Slug: m.Slug, Home: home, SidecarUser: sidecarUser()}
	opt.ApplyEnv(nil)
	opt.Bundle = m.Bundle // the bottle keeps its shape
	p, err := plan.New(a, b, opt)
	return p, pending, err
}

func parseFile(file, kind string, parse func(name string, data []byte) (any, error)) (any, error) {
	if file == "" {
		return nil, fmt.Errorf("the bottle's metadata names no %s file; start the agent again with `claude-bottle start`", kind)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("the %s file the bottle was made from: %w (restore it, or start anew with `claude-bottle start`)", kind, err)
	}
	return parse(strings.TrimSuffix(filepath.Base(file), ".md"), data)
}

// readPending loads <state>/pending-restart.json; none is no routes.
func readPending(sd layout.StateDir) ([]approve.PendingRoute, error) {
	path := approve.PendingRestartFile(sd)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pr approve.PendingRestart
	if err := fileio.DecodeJSON(path, data, &pr); err != nil {
		return nil, fmt.Errorf("%w (fix or remove %s)", err, path)
	}
	return pr.Routes, nil
}

// foldRoutes adds each pending route; one for a host the bottle already
// routes replaces it (the operator approved the newer one).
func foldRoutes(routes []manifest.Route, pending []approve.PendingRoute) []manifest.Route {
	out := append([]manifest.Route(nil), routes...)
	for _, pr := range pending {
		r := manifest.Route{Host: pr.Host, PathAllowlist: pr.PathAllowlist}
		if pr.Auth != nil {
			r.Auth = &manifest.Auth{Scheme: pr.Auth.Scheme, TokenRef: pr.Auth.TokenRef}
		}
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Host, r.Host) {
				out[i], replaced = r, true
			}
		}
		if !replaced {
			out = append(out, r)
		}
	}
	return out
}
