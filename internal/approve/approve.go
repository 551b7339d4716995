// Package approve applies the operator's decisions on supervise proposals
// to a bottle (DESIGN §1, §5): routes and allowlist hosts are written
// atomically into the bottle's live config in its state dir and the daemons
// are told to reload (SIGHUP to the container state.Metadata.ReloadTarget
// names, legacy or bundle shape); a new Dockerfile is written next to the
// bottle file and the bottle is torn down for a rebuild. Every decision is
// answered in the queue dir (the agent reads it) and appended to the state
// dir's audit log.
//
// Fields the operator controls are never taken from a proposal: the agent
// can only say it wants a credential; which host variable (token_ref) backs
// it is chosen by the operator in the edit document.
package approve

import (
	"context"
	"os/user"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// Signaller sends a signal to a container.
type Signaller interface {
	Signal(ctx context.Context, container, signal string) error
}

// TearDowner stops a bottle for a rebuild, keeping its state dir. The real
// one is launch.Launcher.Teardown (through launch.Teardowner): the one
// teardown every path uses, so logs are saved, keys removed and the
// detected Compose tool used.
type TearDowner interface {
	Teardown(ctx context.Context, project string, sd layout.StateDir) error
}

// EngineSignaller signals through the engine (docker kill -s).
type EngineSignaller struct{}

// Signal implements Signaller.
func (EngineSignaller) Signal(ctx context.Context, container, signal string) error {
	return engine.Kill(ctx, container, signal)
}

// Applier applies decisions under one claude-bottle home.
type Applier struct {
	Paths      layout.Paths
	Signaller  Signaller
	TearDowner TearDowner
	Now        func() time.Time
	Operator   string // recorded in the audit log; "" means the OS user
}

// New returns an Applier that signals through the engine and stops a
// bottle with td.
func New(paths layout.Paths, td TearDowner) *Applier {
	return &Applier{Paths: paths, Signaller: EngineSignaller{}, TearDowner: td}
}
func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}
func (a *Applier) operator() string {
	if a.Operator != "" {
		return a.Operator
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
