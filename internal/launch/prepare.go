// Package launch turns a plan into a running bottle on the Docker Engine
// and back: it prepares the state dir (CAs, live configs, keys), drives the
// Compose tool, waits for health, provisions the agent and tears down.
package launch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// MinKnownSecretLen is the shortest agent secret pipelock matches exactly;
// shorter values would match ordinary text.
const MinKnownSecretLen = 8

// caValidity bounds how long a bottle's CAs are trusted.
const caValidity = 30 * 24 * time.Hour

// Secrets are the values a bottle needs at up, read from the host: they
// live in memory and in the compose process env only.
type Secrets struct {
	// Tokens maps a token_ref to its value.
	Tokens map[string]string
	// Env maps an agent env key (host variable or prompted) to its value.
	Env map[string]string
}

// Prompter asks the user for a value (env entries written "?text").
type Prompter func(text string) (string, error)

// CollectSecrets reads every host variable the plan needs and asks the
// prompts. A missing variable is an error naming it, before anything starts.
func CollectSecrets(p *plan.Plan, lookup func(string) (string, bool), ask Prompter) (*Secrets, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if err := p.MissingHostEnv(lookup); err != nil {
		return nil, err
	}
	s := &Secrets{Tokens: map[string]string{}, Env: map[string]string{}}
	for _, t := range p.TokenSlots {
		v, _ := lookup(t.TokenRef)
		s.Tokens[t.TokenRef] = v
	}
	for _, e := range p.AgentEnv {
		if !e.FromProcess {
			continue
		}
		switch e.Source.Kind {
		case manifest.EnvHostVar:
			v, _ := lookup(e.Source.Value)
			s.Env[e.Key] = v
		case manifest.EnvPrompt:
			if ask == nil {
				return nil, fmt.Errorf("%s: key env.%s asks %q at start, but there is no terminal to ask on; set it as ${VAR} instead", p.Bottle.File, e.Key, e.Source.Value)
			}
			v, err := ask(e.Source.Value)
			if err != nil {
				return nil, fmt.Errorf("asking for env.%s: %w", e.Key, err)
			}
			s.Env[e.Key] = v
		}
	}
	return s, nil
}

// ProcessEnv is the environment of the compose process: the host's own,
// plus the token slots, the pipelock secret slots and the agent's secret
// env. Compose copies into each container only the names its service lists.
func ProcessEnv(p *plan.Plan, s *Secrets, base []string) []string {
	env := append([]string(nil), base...)
	for _, t := range p.TokenSlots {
		env = append(env, t.Slot+"="+s.Tokens[t.TokenRef])
	}
	for _, sl := range p.SecretSlots {
		// Every value goes as it is, short ones too: pipelock and
		// git-gate skip (and warn about) a value too short to match, while
		// pipelock refuses to start on an empty known_secret_env variable,
		// so blanking a short secret here made the whole bottle fail.
		v := s.Env[sl.EnvKey]
		if sl.TokenRef != "" {
			v = s.Tokens[sl.TokenRef]
		}
		env = append(env, sl.Slot+"="+v)
	}
	for _, e := range p.AgentEnv {
		if e.FromProcess {
			env = append(env, e.Key+"="+s.Env[e.Key])
		}
	}
	return env
}

// ShortSecrets names agent secrets too short for pipelock to match exactly,
// so the CLI can warn.
func ShortSecrets(p *plan.Plan, s *Secrets) []string {
	var short []string
	for _, sl := range p.SecretSlots {
		if v := s.Env[sl.EnvKey]; sl.EnvKey != "" && v != "" && len(v) < MinKnownSecretLen {
			short = append(short, sl.EnvKey)
		}
	}
	return short
}

// PrepareInput is what Prepare writes besides the plan.
type PrepareInput struct {
	Plan    *plan.Plan
	Secrets *Secrets
	// ComposeFile is the exact compose file the bottle runs with (nil on
	// Kubernetes).
	ComposeFile []byte
	// Kube is where a bottle on Kubernetes runs, and Manifest the objects
	// it runs as (without secret values), for `info` and post-mortems.
	Kube     *state.Kube
	Manifest []byte
	// HomeDir expands ~ in identity_file paths.
	HomeDir string
	// SidecarUID/GID name the sidecar user in the generated passwd file.
	SidecarUID, SidecarGID string
	Now                    time.Time
}

// Prepare writes the bottle's state dir: metadata, compose file, CAs (keys
// 0600 under 0700), the live sidecar configs, the gate's keys, the passwd
// file and the queue dir. It builds everything in a temporary folder and
// renames it into place, so a failure leaves nothing half-applied, and an
// existing state dir of the same slug is never touched.
func Prepare(in PrepareInput) (err error) {
	p := in.Plan
	final := string(p.StateDir)
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("state dir %s already exists: slug %s is in use; run `claude-bottle cleanup` or pick another --slug", final, p.Slug)
	}
	if p.Has(layout.DaemonSupervise) {
		// The agent decides how much supervise writes into the operator's
		// home: a new queue must fit the host's budget for all of them.
		if err := queue.CheckHostRoom(filepath.Dir(p.QueueDir), p.QueueDir); err != nil {
			return err
		}
	}
	root := filepath.Dir(final)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(root, "."+p.Slug+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	// Paths in the files refer to the final location.
	sd := layout.StateDir(tmp)

	dirs := []string{sd.Egress(), sd.Pipelock(), sd.Trust(), sd.GitGate(), sd.GitGateData()}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.Chmod(sd.Trust(), 0o755); err != nil {
		return err
	}

	// CAs: each in its own 0700 folder; only public certs in trust/.
	var bundle []byte
	for _, c := range []struct{ dir, name, trust string }{
		{sd.PipelockCA(), "claude-bottle pipelock " + p.Slug, "pipelock-ca.crt"},
		{sd.EgressCA(), "claude-bottle egress " + p.Slug, "egress-ca.crt"},
	} {
		if c.trust == "egress-ca.crt" && !p.Has(layout.DaemonEgress) {
			continue
		}
		if err := ca.WriteNew(c.dir, c.name, caValidity); err != nil {
			return fmt.Errorf("making the %s: %w", c.name, err)
		}
		cert, err := os.ReadFile(filepath.Join(c.dir, layout.CACertFileName))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sd.Trust(), c.trust), cert, 0o644); err != nil {
			return err
		}
		bundle = append(bundle, cert...)
	}
	if err := os.WriteFile(filepath.Join(sd.Trust(), filepath.Base(layout.TrustBundle)), bundle, 0o644); err != nil {
		return err
	}

	// Live configs.
	if err := p.Routes.Validate(); err != nil {
		return fmt.Errorf("planned routes: %w", err)
	}
	if err := fileio.WriteJSON(filepath.Join(sd.Egress(), layout.RoutesFileName), p.Routes, 0o644); err != nil {
		return err
	}
	pl := p.Pipelock
	pl.InjectedCredentials = nil
	for _, r := range p.Routes.Routes {
		if r.Auth == nil {
			continue
		}
		sum := sha256.Sum256([]byte(r.Auth.Value(in.Secrets.Tokens[p.TokenRef(r.Auth.TokenSlot)])))
		pl.InjectedCredentials = append(pl.InjectedCredentials, sidecarconfig.InjectedCredential{
			Host: r.Host, Header: r.Auth.HeaderName(), SHA256: hex.EncodeToString(sum[:]),
		})
	}
	if err := pl.Validate(); err != nil {
		return fmt.Errorf("planned pipelock config: %w", err)
	}
	if err := fileio.WriteJSON(filepath.Join(sd.Pipelock(), layout.PipelockFileName), pl, 0o644); err != nil {
		return err
	}
	if p.Has(layout.DaemonGitGate) {
		if err := writeGate(sd, p, in.HomeDir); err != nil {
			return err
		}
	}
	if p.SidecarUser != "" {
		if err := os.WriteFile(sd.Passwd(), passwd(in.SidecarUID, in.SidecarGID), 0o644); err != nil {
			return err
		}
	}
	if in.ComposeFile != nil {
		if err := os.WriteFile(sd.ComposeFile(), in.ComposeFile, 0o600); err != nil {
			return err
		}
	}
	meta := Metadata(p, in.Now)
	if in.Kube != nil {
		// One sidecars Pod, whatever CLAUDE_BOTTLE_SIDECAR_BUNDLE says.
		meta.Kube, meta.Bundle = in.Kube, true
		meta.Containers = map[string]string{"agent": layout.AgentContainer(p.Slug), "sidecars": layout.SidecarContainer("sidecars", p.Slug)}
		if err := os.WriteFile(sd.KubeManifest(), in.Manifest, 0o600); err != nil {
			return err
		}
	}
	if err := state.Write(sd, meta); err != nil {
		return err
	}
	if p.Has(layout.DaemonSupervise) {
		if err := os.MkdirAll(p.QueueDir, 0o700); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) || isNotEmpty(err) {
			return fmt.Errorf("state dir %s appeared while preparing: slug %s is in use", final, p.Slug)
		}
		return err
	}
	return nil
}

func isNotEmpty(err error) bool { return strings.Contains(err.Error(), "directory not empty") }

func writeGate(sd layout.StateDir, p *plan.Plan, home string) error {
	keys := filepath.Join(sd.GitGate(), "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return err
	}
	for i, g := range p.Bottle.Git {
		src := expandHome(g.IdentityFile, home)
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("%s: key git[%d].identity_file: reading %s: %v; point it at the private key the gate pushes with", p.Bottle.File, i, src, err)
		}
		if !strings.Contains(string(data), "PRIVATE KEY") {
			return fmt.Errorf("%s: key git[%d].identity_file: %s is not a private key (no PRIVATE KEY block)", p.Bottle.File, i, src)
		}
		if err := writeExclusive(filepath.Join(keys, g.Name), data, 0o600); err != nil {
			return err
		}
	}
	return fileio.WriteJSON(filepath.Join(sd.GitGate(), layout.GateFileName), p.Gate, 0o644)
}

func writeExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func expandHome(path, home string) string {
	if path == "~" {
		return home
	}
	if strings.HasPrefix(path, "~/") {
		return filepath.Join(home, path[2:])
	}
	return path
}

// passwd names root and the sidecar user; ssh needs an entry for its uid.
func passwd(uid, gid string) []byte {
	var b strings.Builder
	b.WriteString("root:x:0:0:root:/tmp:/usr/sbin/nologin\n")
	if uid != "" && uid != "0" {
		fmt.Fprintf(&b, "bottle:x:%s:%s:claude-bottle sidecar:/tmp:/usr/sbin/nologin\n", uid, gid)
	}
	return []byte(b.String())
}

// Metadata describes the bottle for list, info, resume and the dashboard.
func Metadata(p *plan.Plan, now time.Time) *state.Metadata {
	m := &state.Metadata{
		Slug: p.Slug, Agent: p.Agent.Name, Bottle: p.Bottle.Name, Project: p.Project,
		BottleFile: p.Bottle.File, AgentFile: p.Agent.File, Bundle: p.Bundle,
		Containers: map[string]string{"agent": layout.AgentContainer(p.Slug)},
		CreatedAt:  now.UTC(),
	}
	if p.Bundle {
		m.Containers["sidecars"] = layout.SidecarContainer("sidecars", p.Slug)
	} else {
		for _, d := range p.Daemons {
			m.Containers[d] = layout.SidecarContainer(d, p.Slug)
		}
	}
	if len(p.TokenSlots) > 0 {
		m.TokenRefs = map[string]string{}
		for _, t := range p.TokenSlots {
			m.TokenRefs[t.Slot] = t.TokenRef
		}
	}
	if len(p.SecretSlots) > 0 {
		m.SecretRefs = map[string]string{}
		for _, s := range p.SecretSlots {
			if s.EnvKey != "" { // route tokens are in TokenRefs
				m.SecretRefs[s.Slot] = s.EnvKey
			}
		}
	}
	return m
}
