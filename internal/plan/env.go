package plan

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

// Environment variables that shape the plan.
const (
	EnvBundle       = "CLAUDE_BOTTLE_SIDECAR_BUNDLE"
	EnvSidecarImage = "CLAUDE_BOTTLE_SIDECAR_IMAGE"
)

// FlagEnabled parses a boolean feature flag the way DESIGN.md §2.2 fixes:
// unset, empty, 0, false, no, off (any case, blanks around ignored) mean
// disabled; any other value means enabled.
func FlagEnabled(value string, set bool) bool {
	if !set {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// ApplyEnv fills the options the environment controls.
func (o *Options) ApplyEnv(lookup func(string) (string, bool)) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, set := lookup(EnvBundle)
	o.Bundle = FlagEnabled(v, set)
	if img, ok := lookup(EnvSidecarImage); ok && strings.TrimSpace(img) != "" {
		o.SidecarImage = strings.TrimSpace(img)
	}
}

// MissingHostEnv lists, before anything starts, every host variable the
// bottle reads that is not set: route token_refs and ${VAR} env entries.
// The error names each variable and the key that wants it.
func (p *Plan) MissingHostEnv(lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var missing []string
	for _, t := range p.TokenSlots {
		if v, ok := lookup(t.TokenRef); !ok || v == "" {
			what := "egress route token_ref"
			if p.Model.Credentialed() && t.TokenRef == p.Model.TokenRef {
				what = "claude.auth.token_ref; for oauth make one with `claude setup-token`"
			}
			missing = append(missing, fmt.Sprintf("%s (%s)", t.TokenRef, what))
		}
	}
	for _, e := range p.Bottle.Env {
		if e.Kind != manifest.EnvHostVar {
			continue
		}
		if _, ok := lookup(e.Value); !ok {
			missing = append(missing, fmt.Sprintf("%s (env.%s)", e.Value, e.Key))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("%s: host environment variable(s) not set: %s; export them before starting (their values are passed to the bottle through the process environment only)", p.Bottle.File, strings.Join(missing, ", "))
}
