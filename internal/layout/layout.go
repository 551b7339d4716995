// Package layout fixes the names, ports and paths that the CLI, the renderer
// and the sidecar daemons must agree on (DESIGN.md §2, §3, §5). Everything
// here is a pure function of its inputs so both sides compute the same value.
package layout

import (
	"os"
	"path/filepath"
)

// Ports the sidecar daemons listen on inside the bottle.
const (
	EgressPort    = 9099
	PipelockPort  = 8888
	GitGatePort   = 9418
	SupervisePort = 9100
)

// Daemon names, in the canonical order of CLAUDE_BOTTLE_SIDECAR_DAEMONS.
const (
	DaemonEgress    = "egress"
	DaemonPipelock  = "pipelock"
	DaemonGitGate   = "git-gate"
	DaemonSupervise = "supervise"
)

// DaemonOrder is the order daemons appear in CSVs, logs and service lists.
var DaemonOrder = []string{DaemonEgress, DaemonPipelock, DaemonGitGate, DaemonSupervise}

// In-container paths. Each directory is bind-mounted as a directory (never a
// single file) so that an atomic rename on the host is seen by the daemon:
// a single-file bind mount keeps pointing at the replaced inode.
const (
	// EgressConfigDir holds routes.json (live, rewritten by approvals).
	EgressConfigDir  = "/etc/claude-bottle/egress"
	EgressRoutesFile = EgressConfigDir + "/routes.json"
	// EgressCADir holds the egress MITM CA (ca.crt, ca.key). Egress only.
	EgressCADir        = "/etc/claude-bottle/egress-ca"
	EgressCACert       = EgressCADir + "/ca.crt"
	EgressCAKey        = EgressCADir + "/ca.key"
	PipelockConfigDir  = "/etc/claude-bottle/pipelock"
	PipelockConfigFile = PipelockConfigDir + "/pipelock.json"
	// PipelockCADir holds the pipelock MITM CA (ca.crt, ca.key). Pipelock only.
	PipelockCADir  = "/etc/claude-bottle/pipelock-ca"
	PipelockCACert = PipelockCADir + "/ca.crt"
	PipelockCAKey  = PipelockCADir + "/ca.key"
	// TrustDir holds public CA certificates only: pipelock-ca.crt and
	// egress-ca.crt. Egress trusts pipelock from here; the agent trusts its
	// first hop from here.
	TrustDir            = "/etc/claude-bottle/trust"
	TrustPipelockCACert = TrustDir + "/pipelock-ca.crt"
	TrustEgressCACert   = TrustDir + "/egress-ca.crt"
	// TrustBundle holds every CA the agent must trust (pipelock's, and
	// egress's when the bottle has routes: hosts without a route are
	// tunnelled through egress and arrive with pipelock's certificate).
	TrustBundle       = TrustDir + "/bottle-ca.crt"
	GitGateConfigDir  = "/etc/claude-bottle/git-gate"
	GitGateConfigFile = GitGateConfigDir + "/gate.json"
	// GitGateDataDir is where the gate keeps its bare mirrors (a volume).
	GitGateDataDir    = "/var/lib/git-gate"
	SuperviseQueueDir = "/run/supervise/queue"
)

// Host-side names of the files inside a state dir subfolder.
const (
	RoutesFileName   = "routes.json"
	PipelockFileName = "pipelock.json"
	GateFileName     = "gate.json"
	CACertFileName   = "ca.crt"
	CAKeyFileName    = "ca.key"
)

// Labels every resource of a bottle carries, besides compose's own.
const (
	LabelManaged = "dev.claude-bottle.managed" // "true"
	LabelSlug    = "dev.claude-bottle.slug"
	LabelAgent   = "dev.claude-bottle.agent"
	LabelBottle  = "dev.claude-bottle.bottle"
	LabelRole    = "dev.claude-bottle.role" // agent | egress | pipelock | git-gate | supervise | sidecars
)

// ProjectPrefix starts every compose project, container and network name.
const ProjectPrefix = "claude-bottle"

// ProjectName is the compose project name of a bottle.
func ProjectName(slug string) string { return ProjectPrefix + "-" + slug }

// AgentContainer is the agent's container name.
func AgentContainer(slug string) string { return ProjectPrefix + "-" + slug }

// SidecarContainer is a legacy sidecar's container name, or the bundle's
// when service is "sidecars".
func SidecarContainer(service, slug string) string {
	return ProjectPrefix + "-" + service + "-" + slug
}

// Home is the root of the user's claude-bottle files: $CLAUDE_BOTTLE_HOME if
// set (tests use it), else $HOME/.claude-bottle.
func Home() (string, error) {
	if h := os.Getenv("CLAUDE_BOTTLE_HOME"); h != "" {
		return h, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".claude-bottle"), nil
}

// Paths under Home. The state dir of a bottle and its queue live apart so
// that the supervise daemon's writable mount never exposes the state dir.
type Paths struct{ Root string }

func (p Paths) BottlesDir() string            { return filepath.Join(p.Root, "bottles") }
func (p Paths) AgentsDir() string             { return filepath.Join(p.Root, "agents") }
func (p Paths) StateRoot() string             { return filepath.Join(p.Root, "state") }
func (p Paths) StateDir(slug string) string   { return filepath.Join(p.Root, "state", slug) }
func (p Paths) QueueRoot() string             { return filepath.Join(p.Root, "queue") }
func (p Paths) QueueDir(slug string) string   { return filepath.Join(p.Root, "queue", slug) }
func (p Paths) BottleFile(name string) string { return filepath.Join(p.BottlesDir(), name+".md") }
func (p Paths) AgentFile(name string) string  { return filepath.Join(p.AgentsDir(), name+".md") }

// ComposeCache remembers which Compose tool the machine has (composecli).
func (p Paths) ComposeCache() string { return filepath.Join(p.Root, "cache", "compose-tool.json") }

// StateDir subfolders (host side), each mounted as a directory.
type StateDir string

func (s StateDir) Metadata() string    { return filepath.Join(string(s), "metadata.json") }
func (s StateDir) ComposeFile() string { return filepath.Join(string(s), "docker-compose.yml") }

// KubeManifest is the objects a bottle on Kubernetes runs as, its secret
// values left out.
func (s StateDir) KubeManifest() string { return filepath.Join(string(s), "kubernetes.yaml") }
func (s StateDir) ComposeLog() string   { return filepath.Join(string(s), "compose.log") }
func (s StateDir) AuditLog() string     { return filepath.Join(string(s), "audit.jsonl") }

// Session is how claude is run in the bottle (attach reads it); Activity
// is what the agent is doing now (list shows it).
func (s StateDir) Session() string  { return filepath.Join(string(s), "session.json") }
func (s StateDir) Activity() string { return filepath.Join(string(s), "activity.json") }

func (s StateDir) Preserve() string   { return filepath.Join(string(s), ".preserve") }
func (s StateDir) Egress() string     { return filepath.Join(string(s), "egress") }
func (s StateDir) EgressCA() string   { return filepath.Join(string(s), "egress-ca") }
func (s StateDir) Pipelock() string   { return filepath.Join(string(s), "pipelock") }
func (s StateDir) PipelockCA() string { return filepath.Join(string(s), "pipelock-ca") }
func (s StateDir) Trust() string      { return filepath.Join(string(s), "trust") }
func (s StateDir) GitGate() string    { return filepath.Join(string(s), "git-gate") }

// GitGateData holds the gate's bare mirrors, owned by the host user so the
// gate (running as that user) can write it.
func (s StateDir) GitGateData() string { return filepath.Join(string(s), "git-gate-data") }

// Passwd is a passwd file naming the sidecar user: ssh refuses to run for a
// uid with no passwd entry, and the host user's uid is not in the image.
func (s StateDir) Passwd() string     { return filepath.Join(string(s), "passwd") }
func (s StateDir) RoutesFile() string { return filepath.Join(s.Egress(), RoutesFileName) }
func (s StateDir) PipelockFile() string {
	return filepath.Join(s.Pipelock(), PipelockFileName)
}
func (s StateDir) GateFile() string { return filepath.Join(s.GitGate(), GateFileName) }
