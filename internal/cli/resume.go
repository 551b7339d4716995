package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/approve"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

func resumeCmd() *cobra.Command {
	var yes, detach bool
	c := &cobra.Command{
		Use:   "resume <slug>",
		Short: "Bring a stopped bottle back (same slug, files re-read, new CAs, approved routes folded in)",
		Long: `Bring a stopped bottle back from its state dir: the agent and bottle files
named in its metadata are read again, the slug and shape stay, the CAs and
keys are new. What the operator approved while it ran stays: hosts and
routes applied live (read back from the audit log) and routes that needed a
restart (<state>/pending-restart.json). The audit trail carries over: the
new state dir keeps audit.jsonl and every run's compose.log (appended,
rotated by size), so "claude-bottle logs" shows all runs.`,
		Example: `  claude-bottle resume fixer-ab12c
  claude-bottle resume --detach fixer-ab12c`,
		ValidArgsFunction: completeSlugs,
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			m, sd, err := loadBottle(args[0])
			if err != nil {
				return err
			}
			// Attaching needs a terminal: say so before anything starts.
			if !detach {
				if err := needTerminal(cmd, "resume"); err != nil {
					return err
				}
			}
			if live, err := engine.LiveProjects(ctx); err != nil {
				return err
			} else if live[m.Project] {
				return fmt.Errorf("bottle %s is running; attach with `claude-bottle exec %s -- claude` or stop it first", m.Slug, m.Slug)
			}
			p, folded, err := resumePlan(m, sd)
			if err != nil {
				return err
			}
			p.Describe(stderr)
			for _, d := range folded {
				fmt.Fprintf(stderr, "==> keeping %s, approved while the bottle ran\n", d)
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
			if w, err := startChecks(ctx, p, secrets, true); err != nil {
				return err
			} else {
				warn(stderr, w)
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
				// The failed run's logs join the old ones before the old
				// dir comes back: nothing of the trail is lost.
				_ = carryTrail(layout.StateDir(old), sd, true)
				if rerr := os.RemoveAll(string(sd)); rerr == nil {
					_ = os.Rename(old, string(sd))
				}
				return err
			}
			if err := carryTrail(layout.StateDir(old), sd, false); err != nil {
				warn(stderr, []string{fmt.Sprintf("the old run's logs stay in %s: %v", old, err)})
			} else if err := os.RemoveAll(old); err != nil {
				warn(stderr, []string{fmt.Sprintf("could not remove the old state dir %s: %v", old, err)})
			}
			sess, err := (&bottle{plan: p}).session(ctx, false, stderr)
			if err != nil {
				tearDown(dockerDown(l, p), stderr)
				return err
			}
			if detach {
				fmt.Fprintln(stdout, p.Slug)
				return nil
			}
			defer tearDown(dockerDown(l, p), stderr)
			return attachSession(ctx, launch.DockerAgent(layout.AgentContainer(p.Slug)), p.StateDir, sess, false, cmd.InOrStdin(), stdout, stderr)
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask y/N")
	c.Flags().BoolVar(&detach, "detach", false, "bring the bottle up, print its slug and return")
	return c
}

// resumePlan re-reads the manifest files the metadata names, folds in what
// the operator approved while the bottle ran (routes that needed a restart,
// and the hosts and routes applied live, read back from the audit log) and
// plans the bottle under its old slug and shape. folded describes each
// addition.
func resumePlan(m *state.Metadata, sd layout.StateDir) (*plan.Plan, []string, error) {
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
	live, err := liveApprovals(sd, m)
	if err != nil {
		return nil, nil, err
	}
	var folded []string
	routed := func(h string) bool {
		return slices.ContainsFunc(b.Routes, func(r manifest.Route) bool { return strings.EqualFold(r.Host, h) }) ||
			slices.ContainsFunc(live.routes, func(r approve.PendingRoute) bool { return strings.EqualFold(r.Host, h) }) ||
			slices.ContainsFunc(pending, func(r approve.PendingRoute) bool { return strings.EqualFold(r.Host, h) })
	}
	for _, h := range live.hosts {
		if !routed(h) && !slices.ContainsFunc(b.Allowlist, func(x string) bool { return strings.EqualFold(x, h) }) {
			b.Allowlist = append(b.Allowlist, h)
			folded = append(folded, "the firewall host "+h)
		}
	}
	for _, r := range live.routes {
		folded = append(folded, "the route to "+r.Host)
	}
	b.Routes = foldRoutes(b.Routes, live.routes)
	for _, r := range pending {
		folded = append(folded, "the route to "+r.Host+" (it needed a restart)")
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
	return p, folded, err
}

// approvals is what the operator added to a running bottle's live config.
type approvals struct {
	hosts  []string
	routes []approve.PendingRoute
}

// liveApprovals reads the audit log for the changes the operator applied
// live: each approved or modified entry carries the live file before and
// after, and what the after has that the before had not is the decision.
// Reading the decisions (not the live files) keeps what the operator
// removed from the bottle file removed.
func liveApprovals(sd layout.StateDir, m *state.Metadata) (approvals, error) {
	var out approvals
	data, err := os.ReadFile(sd.AuditLog())
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e approve.AuditEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fmt.Errorf("%s line %d: %v (the audit log is append-only; move the damaged line aside to resume)", sd.AuditLog(), i+1, err)
		}
		if e.Decision != queue.Approved && e.Decision != queue.Modified || e.Error != "" {
			continue
		}
		for _, ch := range e.Changes {
			switch filepath.Base(ch.Path) {
			case layout.PipelockFileName:
				var before, after sidecarconfig.Pipelock
				_ = json.Unmarshal([]byte(ch.Before), &before)
				if json.Unmarshal([]byte(ch.After), &after) != nil {
					continue
				}
				for _, h := range after.Allowlist {
					if !slices.ContainsFunc(before.Allowlist, func(x string) bool { return strings.EqualFold(x, h) }) &&
						!slices.Contains(out.hosts, h) {
						out.hosts = append(out.hosts, h)
					}
				}
			case layout.RoutesFileName:
				var before, after sidecarconfig.Routes
				_ = json.Unmarshal([]byte(ch.Before), &before)
				if json.Unmarshal([]byte(ch.After), &after) != nil {
					continue
				}
				for _, r := range after.Routes {
					if slices.ContainsFunc(before.Routes, func(x sidecarconfig.Route) bool { return reflect.DeepEqual(x, r) }) {
						continue
					}
					pr := approve.PendingRoute{Host: r.Host, PathAllowlist: r.PathAllowlist}
					if r.Auth != nil {
						ref := m.TokenRefs[r.Auth.TokenSlot]
						if ref == "" {
							return out, fmt.Errorf("%s: the route to %s approved live injects %s, which the bottle's metadata does not map to a host variable; add the route to the bottle file", sd.AuditLog(), r.Host, r.Auth.TokenSlot)
						}
						pr.Auth = &approve.AuthEdit{Scheme: r.Auth.Scheme, TokenRef: ref}
					}
					out.routes = append(out.routes, pr)
				}
			}
		}
	}
	return out, nil
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

// carryTrail moves the audit trail of a resumed bottle's old state dir into
// the new one: the saved compose logs (every run's, rotated by size) and
// audit.jsonl. Nothing is dropped: when both dirs hold a file, the old
// content goes first. back is set when the new run failed and its trail
// joins the old dir instead (from=new, to=old are swapped by the caller).
func carryTrail(old, cur layout.StateDir, back bool) error {
	from, to := old, cur
	if back {
		from, to = cur, old
	}
	var errs []error
	var names []string
	for _, f := range activity.LogFiles(from) {
		names = append(names, filepath.Base(f))
	}
	names = append(names, filepath.Base(from.AuditLog()))
	for _, n := range names {
		src, dst := filepath.Join(string(from), n), filepath.Join(string(to), n)
		data, err := os.ReadFile(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		first, second := data, []byte(nil)
		if prev, err := os.ReadFile(dst); err == nil {
			if back {
				first, second = prev, data // the old dir's trail is older
			} else {
				second = prev
			}
		}
		if err := os.WriteFile(dst+".tmp", append(first, second...), 0o600); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Rename(dst+".tmp", dst); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
