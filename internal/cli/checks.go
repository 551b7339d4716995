package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/manifest"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// startChecks is what `start --dry-run` promises and what `start` and
// `resume` run before anything is created: each identity file is readable,
// private (mode) and an unencrypted private key; every env value and token
// fits in a container's environment; the images are on the engine or can
// be built. It returns every problem at once, and warnings for what it
// could not check (no engine on a dry run).
func startChecks(ctx context.Context, p *plan.Plan, s *launch.Secrets, images bool) (warnings []string, err error) {
	var errs []error
	home, _ := os.UserHomeDir()
	for i, g := range p.Bottle.Git {
		if err := checkIdentityFile(expandTilde(g.IdentityFile, home)); err != nil {
			errs = append(errs, fmt.Errorf("%s: key git[%d].identity_file: %w", p.Bottle.File, i, err))
		}
	}
	// Values: the collected ones at start, the host's on a dry run.
	env := map[string]string{}
	for _, e := range p.Bottle.Env {
		switch {
		case s != nil && s.Env[e.Key] != "":
			env[e.Key] = s.Env[e.Key]
		case e.Kind == manifest.EnvHostVar:
			env[e.Key] = os.Getenv(e.Value)
		}
	}
	for k, v := range env {
		if err := manifest.CheckEnvSize(k, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: key env.%s: %w", p.Bottle.File, k, err))
		}
	}
	for _, t := range p.TokenSlots {
		v := os.Getenv(t.TokenRef)
		if s != nil && s.Tokens[t.TokenRef] != "" {
			v = s.Tokens[t.TokenRef]
		}
		if err := manifest.CheckEnvSize(t.Slot, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: the token in host variable %s: %w", p.Bottle.File, t.TokenRef, err))
		}
	}
	// On a cluster the images are the nodes' (checked when the Pods
	// start), not the engine's.
	if images {
		w, err := checkImages(ctx, p)
		warnings = append(warnings, w...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return warnings, errors.Join(errs...)
}

// checkIdentityFile: readable, not open to group or others, an ssh private
// key without a passphrase (the gate pushes unattended).
func checkIdentityFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%v; point it at the private key the gate pushes with", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: a private key must be readable by its owner only; run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%v; make it readable by this user", err)
	}
	if _, err := ssh.ParseRawPrivateKey(data); err != nil {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return fmt.Errorf("%s is protected by a passphrase: the gate pushes unattended and cannot type it; give the bottle a key of its own without one", path)
		}
		if strings.Contains(string(data), "PUBLIC KEY") || strings.HasPrefix(strings.TrimSpace(string(data)), "ssh-") {
			return fmt.Errorf("%s is a public key; name the private key (usually the same path without .pub)", path)
		}
		return fmt.Errorf("%s is not an ssh private key (%v)", path, err)
	}
	return nil
}

func expandTilde(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return filepath.Join(home, rest)
	}
	return p
}

// checkImages: each image the bottle runs is on the engine, or the project
// builds it (its own images, or the bottle's dockerfile). Without an
// engine it can only warn.
func checkImages(ctx context.Context, p *plan.Plan) ([]string, error) {
	if _, err := engine.ServerVersion(ctx); err != nil {
		return []string{fmt.Sprintf("the images were not checked: %v", err)}, nil
	}
	var errs []error
	for _, img := range []string{p.SidecarImage, p.AgentImage} {
		if ok, err := engine.ImageExists(ctx, img); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		switch {
		case img == images.Sidecars || img == images.AgentTest:
			// Built from the source tree by start (images.Ensure).
		case p.AgentBuild != nil && img == p.AgentImage:
			df := filepath.Join(p.AgentBuild.Context, p.AgentBuild.Dockerfile)
			if _, err := os.Stat(df); err != nil {
				errs = append(errs, fmt.Errorf("%s: key dockerfile: %v; the agent image %s is not on the engine and cannot be built", p.Bottle.File, err, img))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: image %s is not on this engine and claude-bottle does not pull; build or load it (`claude-bottle build` for the project's images), or name another with the bottle's image: key", p.Bottle.File, img))
		}
	}
	return nil, errors.Join(errs...)
}
