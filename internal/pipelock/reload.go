package pipelock

import (
	"log/slog"
	"os"

	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// loadPolicy reads and compiles the config file; the error names the file.
func loadPolicy(path string, sc *secretscan.Scanner) (*Policy, error) {
	cfg, err := sidecarconfig.LoadPipelock(path)
	if err != nil {
		return nil, err
	}
	p, err := BuildPolicy(cfg, os.Getenv, sc)
	if err != nil {
		return nil, &configError{path: path, err: err}
	}
	return p, nil
}

type configError struct {
	path string
	err  error
}

func (e *configError) Error() string { return e.path + ": " + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// reload swaps in the config at path; on any error the policy in force
// stays and the error is logged.
func reload(log *slog.Logger, srv *Server, path string, sc *secretscan.Scanner) {
	p, err := loadPolicy(path, sc)
	if err != nil {
		log.Error("config reload failed; keeping the previous config", daemonlog.KeyConfig, path, daemonlog.KeyErr, err.Error())
		return
	}
	srv.SetPolicy(p)
	log.Info("config reloaded", daemonlog.KeyConfig, path, "allowlist", len(p.allow), "passthrough", len(p.passthrough),
		"known_secrets", p.inspector.KnownCount())
}
