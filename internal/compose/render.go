package compose

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// Network keys in the file.
const (
	NetInternal = "internal"
	NetEgress   = "egress"
	// BundleService is the one sidecar service of the bundle shape.
	BundleService = "sidecars"
	// TestUpstreamCA is where pipelock finds a test upstream's CA.
	TestUpstreamCA = "/etc/claude-bottle/test-upstream-ca.crt"
	// SidecarDockerfile builds the sidecar image.
	SidecarDockerfile = "Dockerfile.sidecars"
)

// sidecar is what one daemon needs, before it is laid out as a legacy
// service or merged into the bundle.
type sidecar struct {
	daemon     string
	env        []string
	volumes    []string
	extraHosts []string
	// aliases on the internal network besides the container name.
	aliases []string
}

// Render turns a plan into its compose document. It is pure: the same plan
// always gives the same document.
func Render(p *plan.Plan) (*Document, error) {
	for _, h := range []string{string(p.StateDir), p.QueueDir} {
		if strings.ContainsAny(h, ":,\n") {
			return nil, fmt.Errorf("claude-bottle home path %q contains ':' ',' or a newline, which compose volume syntax cannot carry; set CLAUDE_BOTTLE_HOME to a plain path", h)
		}
	}
	d := &Document{Name: p.Project}
	var sidecars []sidecar
	for _, daemon := range p.Daemons {
		sidecars = append(sidecars, sidecarFor(p, daemon))
	}

	var deps []string
	if p.Bundle {
		d.Services.Set(BundleService, bundleService(p, sidecars))
		deps = []string{BundleService}
	} else {
		for _, sc := range sidecars {
			d.Services.Set(sc.daemon, legacyService(p, sc))
			deps = append(deps, sc.daemon)
		}
	}
	d.Services.Set("agent", agentService(p, deps))

	// internal: true stops forwarding off the bridge, but the host keeps an
	// address on it, so the agent could still reach every socket the host
	// listens on (found by the escape suite). With no IPv4 address on the
	// host side there is nothing to reach; containers on the network still
	// talk to each other.
	var inhibit Ordered[string]
	inhibit.Set("com.docker.network.bridge.inhibit_ipv4", "true")
	d.Networks.Set(NetInternal, &Network{Internal: true, DriverOpts: inhibit, Labels: bottleLabels(p, "")})
	d.Networks.Set(NetEgress, &Network{Labels: bottleLabels(p, "")})
	return d, nil
}

// Marshal renders a document as YAML.
func Marshal(d *Document) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ForComposeV1 returns the document as Debian's docker-compose 1.29.2 takes
// it: the same services, networks and volumes without the top-level name:
// (which 1.29.2 rejects); the project name then goes on the command line
// with -p, so the project is named the same either way.
func ForComposeV1(d *Document) *Document {
	c := *d
	c.Name = ""
	return &c
}

func sidecarFor(p *plan.Plan, daemon string) sidecar {
	sd := p.StateDir
	sc := sidecar{daemon: daemon}
	switch daemon {
	case layout.DaemonEgress:
		sc.env = []string{
			"EGRESS_UPSTREAM_PROXY=" + fmt.Sprintf("http://%s:%d", p.PipelockHost(), layout.PipelockPort),
			"EGRESS_UPSTREAM_CA=" + layout.TrustPipelockCACert,
		}
		for _, t := range p.TokenSlots {
			sc.env = append(sc.env, t.Slot) // name only: the value comes from the process env at up
		}
		sc.volumes = []string{
			ro(sd.Egress(), layout.EgressConfigDir),
			ro(sd.EgressCA(), layout.EgressCADir),
			ro(sd.Trust(), layout.TrustDir),
		}
		sc.aliases = []string{"egress"}
	case layout.DaemonPipelock:
		for _, s := range p.SecretSlots {
			sc.env = append(sc.env, s.Slot)
		}
		sc.volumes = []string{
			ro(sd.Pipelock(), layout.PipelockConfigDir),
			ro(sd.PipelockCA(), layout.PipelockCADir),
		}
		if tu := p.TestUpstream; tu != nil {
			if tu.CAFile != "" {
				sc.volumes = append(sc.volumes, ro(tu.CAFile, TestUpstreamCA))
				sc.env = append(sc.env, "SSL_CERT_FILE="+TestUpstreamCA)
			}
			if len(tu.AllowPrivate) > 0 {
				sc.env = append(sc.env, "PIPELOCK_ALLOW_PRIVATE_UPSTREAM="+strings.Join(tu.AllowPrivate, ","))
			}
		}
	case layout.DaemonGitGate:
		// The agent's own secrets: the gate refuses pushes carrying them
		// (escape H2), as pipelock refuses requests carrying them.
		for _, s := range p.SecretSlots {
			sc.env = append(sc.env, s.Slot)
		}
		sc.volumes = []string{
			ro(sd.GitGate(), layout.GitGateConfigDir),
			filepath.Clean(sd.GitGateData()) + ":" + layout.GitGateDataDir,
		}
		if p.SidecarUser != "" {
			sc.volumes = append(sc.volumes, ro(sd.Passwd(), "/etc/passwd"))
		}
		for _, g := range p.Bottle.Git {
			for _, h := range g.ExtraHosts {
				sc.extraHosts = appendUnique(sc.extraHosts, h.Host+":"+h.IP)
			}
		}
	case layout.DaemonSupervise:
		sc.env = []string{
			"SUPERVISE_BOTTLE_SLUG=" + p.Slug,
			"SUPERVISE_QUEUE_DIR=" + layout.SuperviseQueueDir,
			fmt.Sprintf("SUPERVISE_PORT=%d", layout.SupervisePort),
		}
		sc.volumes = []string{p.QueueDir + ":" + layout.SuperviseQueueDir}
		if p.Has(layout.DaemonEgress) {
			sc.volumes = append(sc.volumes, ro(sd.Egress(), layout.EgressConfigDir))
		}
		sc.volumes = append(sc.volumes, ro(sd.Pipelock(), layout.PipelockConfigDir))
		sc.aliases = []string{"supervise"}
	}
	return sc
}

// hardening applies to every sidecar container.
func hardening(s *Service) {
	s.ReadOnly = true
	s.Tmpfs = []string{"/tmp"}
	s.CapDrop = []string{"ALL"}
	s.SecurityOpt = []string{"no-new-privileges:true"}
}

// sidecarRestart brings a crashed sidecar back without anyone at the
// keyboard (bottles run unattended): Docker restarts a container that exits
// non-zero, with its own back-off. Not "unless-stopped": after a reboot a
// bottle is not half brought back without its agent. Inside the bundle the
// init already restarts a dead daemon; this covers the init itself.
const sidecarRestart = "on-failure"

// healthcheck is every sidecar's: the light binary's health command.
//
// Each probe is a `docker exec`, which costs the host ~45 ms of CPU: at a 1 s
// interval one idle bottle with three sidecars kept 7 % of a 2-core machine
// busy, ten bottles most of it. Nothing waits for Docker's verdict any more
// (`start` runs this same command itself while a container starts, and
// Docker never acts on "unhealthy"), so the interval is long: the status
// Docker shows is at most 30 s old and an unhealthy sidecar is flagged after
// three failed probes.
func healthcheck(args ...string) *Healthcheck {
	return &Healthcheck{
		Test:        append([]string{"CMD", plan.SidecarInitBinary, "health"}, args...),
		Interval:    "30s",
		Timeout:     "5s",
		Retries:     3,
		StartPeriod: "5s",
	}
}

func legacyService(p *plan.Plan, sc sidecar) *Service {
	name := layout.SidecarContainer(sc.daemon, p.Slug)
	s := &Service{
		Image:         p.SidecarImage,
		ContainerName: name,
		Entrypoint:    []string{plan.SidecarBinary},
		Command:       []string{sc.daemon},
		Restart:       sidecarRestart,
		User:          Quoted(p.SidecarUser),
		ExtraHosts:    sc.extraHosts,
		Environment:   sc.env,
		Volumes:       sc.volumes,
		Healthcheck:   healthcheck(sc.daemon),
		Labels:        bottleLabels(p, sc.daemon),
	}
	// One service carries the build: section so `compose build` can make
	// the shared image; pipelock is the one every bottle has.
	if sc.daemon == layout.DaemonPipelock {
		s.Build = &BuildSpec{Context: p.SidecarBuildContext, Dockerfile: SidecarDockerfile}
	}
	hardening(s)
	// pipelock and git-gate are reached by their long names; egress and
	// supervise by their short ones.
	aliases := sc.aliases
	if len(aliases) == 0 {
		aliases = []string{name}
	}
	s.Networks.Set(NetInternal, &ServiceNetwork{Aliases: aliases})
	if sc.daemon != layout.DaemonSupervise {
		s.Networks.Set(NetEgress, nil)
	}
	return s
}

func bundleService(p *plan.Plan, sidecars []sidecar) *Service {
	s := &Service{
		Image:         p.SidecarImage,
		Build:         &BuildSpec{Context: p.SidecarBuildContext, Dockerfile: SidecarDockerfile},
		ContainerName: layout.SidecarContainer(BundleService, p.Slug),
		Entrypoint:    []string{plan.SidecarInitBinary},
		Command:       []string{"init"},
		Restart:       sidecarRestart,
		User:          Quoted(p.SidecarUser),
		Healthcheck:   healthcheck(),
		Labels:        bottleLabels(p, BundleService),
	}
	hardening(s)
	s.Environment = []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=" + strings.Join(p.Daemons, ",")}
	var aliases []string
	for _, sc := range sidecars {
		// Never HTTP_PROXY/HTTPS_PROXY/NO_PROXY here: they would send
		// git-gate's ssh and fetches through pipelock.
		for _, e := range sc.env {
			s.Environment = appendUnique(s.Environment, e)
		}
		for _, v := range sc.volumes {
			s.Volumes = appendUnique(s.Volumes, v)
		}
		for _, h := range sc.extraHosts {
			s.ExtraHosts = appendUnique(s.ExtraHosts, h)
		}
	}
	// Every legacy short name and every per-slug long name, so nothing on
	// the agent side changes.
	for _, daemon := range p.Daemons {
		switch daemon {
		case layout.DaemonEgress, layout.DaemonSupervise:
			aliases = append(aliases, daemon, layout.SidecarContainer(daemon, p.Slug))
		default:
			aliases = append(aliases, layout.SidecarContainer(daemon, p.Slug))
		}
	}
	s.Networks.Set(NetInternal, &ServiceNetwork{Aliases: aliases})
	s.Networks.Set(NetEgress, nil)
	return s
}

func agentService(p *plan.Plan, deps []string) *Service {
	s := &Service{
		Image:         p.AgentImage,
		ContainerName: layout.AgentContainer(p.Slug),
		Hostname:      p.Slug,
		// The agent idles; the CLI attaches claude with docker exec.
		Command: []string{"sleep", "infinity"},
		Init:    true,
		Runtime: p.Runtime,
		// Docker's embedded DNS on engines before 25.0.5 forwards names
		// from internal networks off the machine (CVE-2024-29018). A custom
		// upstream makes it forward from the container's own namespace,
		// where 127.0.0.1:53 has no resolver: container names still
		// resolve, nothing else does.
		DNS:         []string{"127.0.0.1"},
		Environment: agentEnv(p),
		Volumes:     []string{ro(p.StateDir.Trust(), layout.TrustDir)},
		// No capabilities: the agent user needs none, and root in the
		// container (provisioning's docker exec -u root) needs none either:
		// it writes only root-owned files, and the work tree arrives as a
		// tar stream the agent user unpacks, so nothing is chowned.
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges:true"},
		Labels:      bottleLabels(p, "agent"),
		DependsOn:   deps,
	}
	if p.AgentBuild != nil {
		s.Build = &BuildSpec{Context: p.AgentBuild.Context, Dockerfile: p.AgentBuild.Dockerfile}
	} else {
		// Prebuilt images are never pulled: no registry may be reachable,
		// and a bottle must not fetch code it was not given.
		s.PullPolicy = "never"
	}
	s.Networks.Set(NetInternal, nil)
	return s
}

func agentEnv(p *plan.Plan) []string {
	var env []string
	for _, e := range p.AgentEnv {
		if e.FromProcess {
			env = append(env, e.Key)
		} else {
			env = append(env, e.Key+"="+e.Value)
		}
	}
	return env
}

func bottleLabels(p *plan.Plan, role string) Ordered[string] {
	var l Ordered[string]
	l.Set(layout.LabelManaged, "true")
	l.Set(layout.LabelSlug, p.Slug)
	l.Set(layout.LabelAgent, p.Agent.Name)
	l.Set(layout.LabelBottle, p.Bottle.Name)
	if role != "" {
		l.Set(layout.LabelRole, role)
	}
	return l
}

func ro(host, container string) string {
	return filepath.Clean(host) + ":" + container + ":ro"
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
