// Package state reads and writes a bottle's state dir metadata
// (~/.claude-bottle/state/<slug>/metadata.json). The CLI writes it at start;
// the dashboard, resume, list and cleanup read it.
package state

import (
	"fmt"
	"os"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// Metadata describes one bottle run.
type Metadata struct {
	Slug    string `json:"slug"`
	Agent   string `json:"agent"`
	Bottle  string `json:"bottle"`
	Project string `json:"project"` // compose project name
	// BottleFile and AgentFile are the manifest files the run was made from.
	BottleFile string `json:"bottle_file"`
	AgentFile  string `json:"agent_file"`
	// Bundle is true when the sidecars run as the one "sidecars" service.
	Bundle bool `json:"bundle"`
	// Containers maps a role (agent, egress, pipelock, git-gate, supervise,
	// sidecars) to its container name, for the roles present.
	Containers map[string]string `json:"containers"`
	// TokenRefs maps each EGRESS_TOKEN_<N> slot to the host variable it is
	// read from at up (names only, never values).
	TokenRefs map[string]string `json:"token_refs,omitempty"`
	// SecretRefs maps each PIPELOCK_SECRET_<N> slot to the agent env key it
	// protects (names only).
	SecretRefs map[string]string `json:"secret_refs,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	// Cwd is the work tree copied into the agent (start --cwd), if any.
	Cwd string `json:"cwd,omitempty"`
	// Kube is set for a bottle on a Kubernetes cluster (--backend k8s);
	// Containers then name its Pods.
	Kube *Kube `json:"kube,omitempty"`
}

// Kube is where a bottle on Kubernetes runs: every later command (exec,
// stop, logs, info) goes to the same cluster and namespace.
type Kube struct {
	Namespace string `json:"namespace"`
	// Kubeconfig is the file start used ("" : kubectl's default then,
	// $KUBECONFIG or ~/.kube/config, at each command).
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// ReloadTarget returns the container that must get SIGHUP after a live config
// change of the given daemon ("egress" or "pipelock"): the daemon's own
// container in the legacy shape, the bundle (whose init forwards it) otherwise.
func (m *Metadata) ReloadTarget(daemon string) (string, error) {
	role := daemon
	if m.Bundle {
		role = "sidecars"
	}
	c, ok := m.Containers[role]
	if !ok {
		return "", fmt.Errorf("bottle %s has no %s container (is the bottle using %s?)", m.Slug, role, daemon)
	}
	return c, nil
}

// Write stores m in the state dir atomically.
func Write(dir layout.StateDir, m *Metadata) error {
	return fileio.WriteJSON(dir.Metadata(), m, 0o644)
}

// Read loads the metadata of a state dir.
func Read(dir layout.StateDir) (*Metadata, error) {
	data, err := os.ReadFile(dir.Metadata())
	if err != nil {
		return nil, err
	}
	var m Metadata
	if err := fileio.DecodeJSON(dir.Metadata(), data, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
