package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/backend"
	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarinit"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// bottleInfo is what `info <slug>` reports.
type bottleInfo struct {
	Slug     string `json:"slug"`
	Agent    string `json:"agent"`
	Bottle   string `json:"bottle"`
	Shape    string `json:"shape"`
	Project  string `json:"project"`
	StateDir string `json:"state_dir"`
	// Status is running, stopped or unknown (Why: what the engine said).
	Status string `json:"status"`
	Why    string `json:"why,omitempty"`
	// Activity is what the agent does (as list shows it).
	Activity string    `json:"activity"`
	Created  time.Time `json:"created"`
	// Daemons: each sidecar daemon, its health checked now.
	Daemons    []daemonInfo    `json:"daemons"`
	Containers []containerInfo `json:"containers"`
	// Counts cover every run in the state dir (resume keeps the logs).
	Requests  counts          `json:"requests"`
	Pushes    pushCounts      `json:"pushes"`
	Proposals proposalCounts  `json:"proposals"`
	Metadata  *state.Metadata `json:"metadata"`
	CLI       Build           `json:"claude_bottle"`
}

type daemonInfo struct {
	Name      string `json:"name"`
	Container string `json:"container"`
	// Health is healthy, unhealthy (Detail says why), down or unknown.
	Health   string `json:"health"`
	Detail   string `json:"detail,omitempty"`
	Restarts int    `json:"restarts"`
}

type containerInfo struct {
	Role      string     `json:"role"`
	Name      string     `json:"name"`
	Status    string     `json:"status"` // running, exited, gone, unknown ...
	ExitCode  int        `json:"exit_code,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	UptimeS   int64      `json:"uptime_s,omitempty"`
	Restarts  int        `json:"restarts"`
}

type counts struct {
	Allowed int `json:"allowed"`
	Blocked int `json:"blocked"`
}

type pushCounts struct {
	Accepted int `json:"accepted"`
	Refused  int `json:"refused"`
}

type proposalCounts struct {
	Pending  int `json:"pending"`
	Answered int `json:"answered"`
}

func infoCmd() *cobra.Command {
	var asJSON bool
	var which func() (backend.Kind, error)
	c := &cobra.Command{
		Use:   "info <slug|agent>",
		Short: "A bottle's live health, uptime, restarts and counts (by slug), or an agent's plan (by name)",
		Long: `With a bottle's slug: its status, each sidecar daemon's health checked now
(not Docker's last probe, which may be 30 s old), each container's uptime
and restarts, how many requests were allowed and blocked and pushes
accepted and refused (over every run in the state dir), and the proposals
waiting for an answer. With an agent's name: the plan start would run.

Without the Docker Engine, what the state dir holds is still shown, the
status is unknown, and the exit code is 3.`,
		Example: `  claude-bottle info fixer-ab12c
  claude-bottle info --json fixer-ab12c | jq .daemons
  claude-bottle info fixer`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSlugsOrAgents,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			m, sd, err := loadBottle(args[0])
			if err == nil {
				if err := checkBackend(which, cmd, m); err != nil {
					return err
				}
				info, engErr := describeBottle(cmd.Context(), m, sd)
				if asJSON {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					if err := enc.Encode(info); err != nil {
						return err
					}
				} else {
					printInfo(out, info)
				}
				return engErr
			}
			p, perr := resolvePlan(args[0], "", cmd.ErrOrStderr())
			if perr != nil {
				return fmt.Errorf("%q is neither a bottle slug (%v) nor an agent: %w", args[0], err, perr)
			}
			if asJSON {
				return usageError{errors.New("info --json describes a bottle by its slug; for an agent, `claude-bottle render " + args[0] + "` prints the compose file")}
			}
			p.Describe(out)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (bottles only)")
	which = backendFlag(c)
	return c
}

// describeBottle gathers the report; the error is the engine's when it did
// not answer (the report is still filled from the state dir).
func describeBottle(ctx context.Context, m *state.Metadata, sd layout.StateDir) (*bottleInfo, error) {
	info := &bottleInfo{Slug: m.Slug, Agent: m.Agent, Bottle: m.Bottle, Shape: "legacy", Project: m.Project,
		StateDir: string(sd), Created: m.CreatedAt, Metadata: m, CLI: BuildInfo(), Daemons: []daemonInfo{}, Containers: []containerInfo{}}
	if m.Bundle {
		info.Shape = "bundle"
	}
	if ps, err := paths(); err == nil {
		entries, _, _ := queue.List(ps.QueueDir(m.Slug), m.Slug)
		for _, e := range entries {
			if e.Answer == nil {
				info.Proposals.Pending++
			} else {
				info.Proposals.Answered++
			}
		}
	}
	if m.Kube != nil {
		return describeKubeBottle(ctx, m, sd, info)
	}
	live, engErr := engine.LiveProjects(ctx)
	running := setStatus(info, sd, live[m.Project], engErr)
	restarts := map[string]int{}
	src := activity.Source{Slug: m.Slug, StateDir: sd, Logs: engine.StreamLogs}
	for _, role := range slices.Sorted(maps.Keys(m.Containers)) {
		name := m.Containers[role]
		ci := containerInfo{Role: role, Name: name, Status: "unknown"}
		if engErr == nil {
			st, ok, err := engine.Inspect(ctx, name)
			switch {
			case err != nil:
				ci.Status = "unknown"
			case !ok:
				ci.Status = "gone"
			default:
				ci.Status, ci.ExitCode, ci.Restarts = st.Status, st.ExitCode, st.Restarts
				if !st.StartedAt.IsZero() && st.Status == "running" {
					t := st.StartedAt
					ci.StartedAt, ci.UptimeS = &t, int64(time.Since(t).Seconds())
				}
			}
		}
		info.Containers = append(info.Containers, ci)
		if role != "agent" && running {
			src.Sidecars = append(src.Sidecars, name)
		}
	}
	evs, _ := activity.History(ctx, src)
	tallyActivity(info, restarts, evs)
	for _, d := range bottleDaemons(ctx, m, engErr == nil && running) {
		di := daemonInfo{Name: d, Container: m.Containers[d], Restarts: restarts[d]}
		if m.Bundle {
			di.Container = m.Containers["sidecars"]
		}
		for _, ci := range info.Containers {
			// A container restart shows in its logs as a second start
			// too: count the larger, not both.
			if ci.Name == di.Container {
				di.Restarts = max(di.Restarts, ci.Restarts)
			}
		}
		switch {
		case engErr != nil:
			di.Health = "unknown"
		case !running:
			di.Health = "down"
		default:
			if out, err := engine.ExecOutput(ctx, di.Container, "", nil, plan.SidecarInitBinary, "health", d); err != nil {
				di.Health, di.Detail = "unhealthy", healthDetail(out, err)
			} else {
				di.Health = "healthy"
			}
		}
		info.Daemons = append(info.Daemons, di)
	}
	return info, engErr
}

// bottleDaemons lists the bottle's daemons: the legacy roles, or what the
// bundle was told to run.
func bottleDaemons(ctx context.Context, m *state.Metadata, ask bool) []string {
	if !m.Bundle {
		var ds []string
		for _, d := range layout.DaemonOrder {
			if _, ok := m.Containers[d]; ok {
				ds = append(ds, d)
			}
		}
		return ds
	}
	if ask {
		if env, err := engine.Docker(ctx, "inspect", "--type", "container", "--format", "{{json .Config.Env}}", m.Containers["sidecars"]); err == nil {
			var kv []string
			if json.Unmarshal([]byte(env), &kv) == nil {
				for _, e := range kv {
					if v, ok := strings.CutPrefix(e, sidecarinit.EnvDaemons+"="); ok {
						if ds, err := sidecarinit.ParseDaemons(v); err == nil {
							return ds
						}
					}
				}
			}
		}
	}
	return []string{layout.DaemonPipelock}
}

func healthDetail(out string, err error) string {
	s := out
	if s == "" {
		s = err.Error()
	}
	if i := strings.Index(s, "health: "); i >= 0 {
		s = s[i+len("health: "):]
	}
	return daemonlog.Escape(strings.TrimSpace(s))
}

func printInfo(out io.Writer, in *bottleInfo) {
	status := in.Status
	if in.Why != "" {
		status += " (" + in.Why + ")"
	}
	fmt.Fprintf(out, "bottle     %s  (agent %s, bottle %s, %s shape)\n", in.Slug, in.Agent, in.Bottle, in.Shape)
	fmt.Fprintf(out, "status     %s\n", status)
	fmt.Fprintf(out, "activity   %s\n", in.Activity)
	fmt.Fprintf(out, "created    %s\n", in.Created.Local().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(out, "state dir  %s\n", in.StateDir)
	fmt.Fprintf(out, "requests   %d allowed, %d blocked   pushes %d accepted, %d refused   (every run; `claude-bottle logs %s`)\n",
		in.Requests.Allowed, in.Requests.Blocked, in.Pushes.Accepted, in.Pushes.Refused, in.Slug)
	fmt.Fprintf(out, "proposals  %d pending, %d answered\n", in.Proposals.Pending, in.Proposals.Answered)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "daemons:")
	for _, d := range in.Daemons {
		h := d.Health
		if d.Detail != "" {
			h += ": " + d.Detail
		}
		fmt.Fprintf(tw, "  %s\t%s\trestarts %d\t%s\n", d.Name, d.Container, d.Restarts, h)
	}
	fmt.Fprintln(tw, "containers:")
	for _, c := range in.Containers {
		st := c.Status
		if c.Status == "exited" {
			st += fmt.Sprintf(" (exit code %d)", c.ExitCode)
		}
		up := ""
		if c.UptimeS > 0 {
			up = "up " + (time.Duration(c.UptimeS) * time.Second).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\trestarts %d\n", c.Role, c.Name, st, up, c.Restarts)
	}
	tw.Flush()
}

// tallyActivity counts a bottle's history into info's request and push
// counts and restarts (per daemon), the same for either backend.
func tallyActivity(info *bottleInfo, restarts map[string]int, evs []activity.Event) {
	for _, e := range evs {
		switch e.Kind {
		case activity.KindRequest:
			if e.Blocked() {
				info.Requests.Blocked++
			} else if e.Decision == activity.Allow {
				info.Requests.Allowed++
			}
		case activity.KindPush:
			if e.Blocked() {
				info.Pushes.Refused++
			} else {
				info.Pushes.Accepted++
			}
		case activity.KindRestart:
			restarts[e.Daemon]++
		}
	}
}

// setStatus fills info's status and activity from whether the backend
// sees the bottle up (err: it could not tell), the same for either
// backend, and reports whether it runs.
func setStatus(info *bottleInfo, sd layout.StateDir, up bool, err error) bool {
	switch {
	case err != nil:
		info.Status, info.Why = "unknown", err.Error()
	case up:
		info.Status = "running"
	default:
		info.Status = "stopped"
	}
	running := info.Status == "running"
	act, _ := state.ReadActivity(sd)
	info.Activity = act.Describe(running)
	if err != nil {
		info.Activity = "unknown"
	}
	return running
}
