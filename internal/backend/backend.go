// Package backend names the engines a bottle can run on and resolves which
// one a command uses: the --backend flag first, then CLAUDE_BOTTLE_BACKEND,
// then Docker. Every command that takes --backend resolves it here, so the
// names, the precedence and the error are the same everywhere.
package backend

import (
	"fmt"
	"os"
	"strings"
)

// Kind is a backend's name as the user types it.
type Kind string

// The backends.
const (
	Docker Kind = "docker"
	K8s    Kind = "k8s"
)

// All lists every backend, the default first.
var All = []Kind{Docker, K8s}

// Env selects the backend when --backend is not given.
const Env = "CLAUDE_BOTTLE_BACKEND"

// FlagName is the flag every command that runs or finds bottles takes.
const FlagName = "backend"

// Usage is the flag's help text.
const Usage = "where the bottle runs: docker or k8s (default docker, or $" + Env + ")"

// Resolve picks the backend: flag when it is not empty, else the value of
// Env, else Docker. Surrounding blanks and case are ignored. lookup nil
// means os.LookupEnv. An unknown value is an error naming where it came
// from, the value, and the valid names.
func Resolve(flag string, lookup func(string) (string, bool)) (Kind, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v := strings.TrimSpace(flag); v != "" {
		return parse("--"+FlagName, v)
	}
	if v, _ := lookup(Env); strings.TrimSpace(v) != "" {
		return parse(Env, strings.TrimSpace(v))
	}
	return Docker, nil
}

func parse(source, v string) (Kind, error) {
	k := Kind(strings.ToLower(v))
	for _, known := range All {
		if k == known {
			return k, nil
		}
	}
	return "", fmt.Errorf("%s %q is not a backend; use one of: %s", source, v, names())
}

func names() string {
	s := make([]string, len(All))
	for i, k := range All {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
