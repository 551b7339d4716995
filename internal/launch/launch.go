package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/compose"
	"github.com/claude-bottle/claude-bottle/internal/composecli"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// DefaultHealthTimeout bounds the wait for a bottle's containers to be
// healthy when Launcher.HealthTimeout is 0.
const DefaultHealthTimeout = 2 * time.Minute

// Launcher brings bottles up and down.
type Launcher struct {
	Compose *composecli.Runner
	// Progress receives one line per step (and the Compose tool's output).
	Progress io.Writer
	// UserHome expands ~ in manifests (identity files, skills).
	UserHome string
	// Env is the base process environment for the Compose tool.
	Env []string
	// SidecarUID/GID are the sidecar user's ids (for the passwd file).
	SidecarUID, SidecarGID string
	// HealthTimeout bounds the wait for the containers to be healthy
	// (0: DefaultHealthTimeout). A loaded machine runs healthchecks late.
	HealthTimeout time.Duration
}

func (l *Launcher) step(format string, a ...any) {
	if l.Progress != nil {
		fmt.Fprintf(l.Progress, "==> "+format+"\n", a...)
	}
}

// Preflight checks the engine before anything is written: an existing
// container of the same slug is an error pointing to cleanup, and an engine
// with the internal-network DNS leak gets a warning naming the mitigation.
func Preflight(ctx context.Context, p *plan.Plan) (warnings []string, err error) {
	v, err := engine.ServerVersion(ctx)
	if err != nil {
		return nil, err
	}
	if !engine.DNSLeakFixed(v) {
		warnings = append(warnings, fmt.Sprintf("Docker Engine %s is older than 25.0.5: its embedded DNS forwards names from internal networks off the machine (CVE-2024-29018). Mitigation in place: the agent's DNS upstream is 127.0.0.1 in its own network namespace, so only container names resolve. Upgrade the engine to remove the risk.", v))
	}
	names := []string{layout.AgentContainer(p.Slug), layout.SidecarContainer("sidecars", p.Slug)}
	for _, d := range layout.DaemonOrder {
		names = append(names, layout.SidecarContainer(d, p.Slug))
	}
	for _, n := range names {
		if _, ok, err := engine.Inspect(ctx, n); err != nil {
			return nil, err
		} else if ok {
			return nil, fmt.Errorf("a container named %s already exists (slug %s is in use or was left behind); run `claude-bottle cleanup` or `claude-bottle stop %s`", n, p.Slug, p.Slug)
		}
	}
	return warnings, nil
}

// GVisorRuntime returns "runsc" when the engine offers gVisor.
func GVisorRuntime(ctx context.Context) string {
	rts, err := engine.Runtimes(ctx)
	if err != nil {
		return ""
	}
	for _, r := range rts {
		if r == "runsc" {
			return r
		}
	}
	return ""
}

// ComposeFile renders the plan in the form this launcher's Compose tool
// takes.
func (l *Launcher) ComposeFile(p *plan.Plan) ([]byte, error) {
	doc, err := compose.Render(p)
	if err != nil {
		return nil, err
	}
	if l.Compose.V1 {
		doc = compose.ForComposeV1(doc)
	}
	return compose.Marshal(doc)
}

// Up prepares the state dir, brings the project up, waits for health and
// provisions the agent. On any failure (including ctx cancellation, e.g.
// Ctrl-C) it tears down what it started before returning.
func (l *Launcher) Up(ctx context.Context, p *plan.Plan, s *Secrets) (err error) {
	file, err := l.ComposeFile(p)
	if err != nil {
		return err
	}
	l.step("preparing state dir %s", p.StateDir)
	if err := Prepare(PrepareInput{Plan: p, Secrets: s, ComposeFile: file, HomeDir: l.UserHome, SidecarUID: l.SidecarUID, SidecarGID: l.SidecarGID, Now: time.Now()}); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// A fresh context: the caller's may be cancelled already.
			tctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if terr := l.Teardown(tctx, p.Project, p.StateDir); terr != nil {
				err = errors.Join(err, fmt.Errorf("tearing down after the failure: %w", terr))
			}
		}
	}()
	env := ProcessEnv(p, s, l.Env)
	l.step("starting %s with %s", p.Project, l.Compose)
	if err := l.Compose.Up(ctx, p.Project, p.StateDir.ComposeFile(), env, l.Progress); err != nil {
		return err
	}
	l.step("waiting for the sidecars to be healthy")
	timeout := l.HealthTimeout
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := engine.WaitHealthy(hctx, containers(p), l.Progress); err != nil {
		return err
	}
	l.step("provisioning the agent")
	if err := Provision(ctx, p, l.UserHome, l.Progress); err != nil {
		return fmt.Errorf("provisioning the agent: %w", err)
	}
	return nil
}

// containers lists a bottle's container names, sidecars first.
func containers(p *plan.Plan) []string {
	var names []string
	if p.Bundle {
		names = append(names, layout.SidecarContainer("sidecars", p.Slug))
	} else {
		for _, d := range p.Daemons {
			names = append(names, layout.SidecarContainer(d, p.Slug))
		}
	}
	return append(names, layout.AgentContainer(p.Slug))
}

// Teardown dumps the project's logs to compose.log, removes its containers,
// networks and volumes, and deletes the key material from the state dir
// (the CAs and the gate's keys die with the bottle; metadata, the compose
// file and the logs stay for `info` and post-mortems until cleanup).
func (l *Launcher) Teardown(ctx context.Context, project string, sd layout.StateDir) error {
	var errs []error
	file := sd.ComposeFile()
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("no compose file at %s: %w", file, err)
	}
	// The engine down: nothing can be stopped, and the Compose tool would
	// only print a traceback. Say so once and keep everything, the keys
	// too (the containers come back with the engine).
	if _, err := engine.ServerVersion(ctx); errors.Is(err, engine.ErrUnreachable) {
		return fmt.Errorf("%w; %s was not stopped: run `claude-bottle stop` again once the engine answers", err, project)
	}
	l.step("saving logs to %s", sd.ComposeLog())
	// Every run's logs are kept (resume appends to the same file); past
	// a size the file is rotated, never truncated.
	if err := activity.RotateLog(sd); err != nil {
		errs = append(errs, err)
	}
	if f, err := os.OpenFile(sd.ComposeLog(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		if err := l.Compose.Logs(ctx, project, file, l.Env, f); err != nil {
			fmt.Fprintf(f, "(logs unavailable: %v)\n", err)
		}
		f.Close()
	} else {
		errs = append(errs, err)
	}
	l.step("removing %s", project)
	if err := l.Compose.Down(ctx, project, file, l.Env, l.Progress); err != nil {
		errs = append(errs, err)
	}
	if err := RemoveKeys(sd); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Teardowner is Launcher.Teardown for a caller that has no launcher: the
// Compose tool is detected (cached under Paths) when a bottle is first torn
// down. The dashboard uses it when an approval needs a rebuild, so that path
// stops the bottle the way stop, Ctrl-C and a failed start do.
type Teardowner struct {
	Paths    layout.Paths
	Progress io.Writer
}

// Teardown implements approve.TearDowner.
func (t Teardowner) Teardown(ctx context.Context, project string, sd layout.StateDir) error {
	r, err := composecli.DetectCached(ctx, t.Paths.ComposeCache())
	if err != nil {
		return err
	}
	l := &Launcher{Compose: r, Progress: t.Progress, Env: os.Environ()}
	return l.Teardown(ctx, project, sd)
}

// RemoveKeys deletes the CA folders and the gate's keys of a state dir.
func RemoveKeys(sd layout.StateDir) error {
	var errs []error
	for _, d := range []string{sd.EgressCA(), sd.PipelockCA(), filepath.Join(sd.GitGate(), "keys")} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
