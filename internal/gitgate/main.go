// Package gitgate is the git-gate sidecar: the agent's only git remote.
//
// For each remote declared in gate.json the gate keeps a bare mirror whose
// remote is the real upstream, and serves it over git:// (:9418) at
// git://<gate>/<name>.git. The gate holds the upstream credentials (an ssh
// key and a pinned host key); the agent never does.
//
// The git:// front is ours, not git daemon: it reads the client's request
// pkt-line, fetches the upstream into the mirror (a fetch that fails is
// reported to the client as a git "remote error": the gate never serves a
// stale mirror silently), then runs git upload-pack or git receive-pack
// with the socket as stdin/stdout. git daemon was rejected because it
// offers no hook before upload-pack advertises its refs
// (uploadpack.packObjectsHook runs after the advertisement, too late to
// show the client new refs), and one process with no child daemon to
// supervise has one less way to fail.
//
// Pushes go through the pre-receive hook, which is this binary
// (`claude-bottle-sidecar hook pre-receive`): branch policy, no deletions
// or non-fast-forwards unless allowed, a gitleaks scan of every new commit,
// then an atomic push to the upstream with leases on the old values. The
// hook accepts only if the upstream accepted, so the mirror's refs follow
// the upstream's.
package gitgate

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

const helpText = `usage: claude-bottle-sidecar git-gate [--config FILE] [--listen ADDR] [--data-dir DIR]

The agent's only git remote. Serves each declared remote as
git://<gate>/<name>.git; fetches from the upstream before serving every
request; scans, polices and forwards pushes over ssh.

Flags:
  --config FILE   gate.json (default %s)
  --listen ADDR   git:// address (default :%d)
  --data-dir DIR  bare mirrors and the gate's own key copies and known_hosts
                  (default %s)

gate.json (JSON, unknown keys are errors):
  {
    "remotes": [
      {
        "name": "demo",                      // [a-z][a-z0-9-]*; served as /demo.git
        "upstream": "ssh://git@git.example.com:22/org/demo.git",
                                             // or git@git.example.com:org/demo.git; ssh only
        "identity_file": "/etc/claude-bottle/git-gate/keys/demo",
                                             // private key; copied to a 0600 file in a
                                             // 0700 dir of the gate if not already 0600
        "known_host_key": "ssh-ed25519 AAAA...",
                                             // required: the upstream's host key(s), one per
                                             // line; never trusted on first use
        "push_branches": ["agent/*"],        // optional globs; "*" spans "/"; patterns
                                             // starting "refs/" match full refs (tags);
                                             // absent = every branch, no tags
        "allow_force_push": false,           // optional; non-fast-forwards refused if false
        "allow_delete": false                // optional; ref deletions refused if false
      }
    ]
  }

A push is refused (and nothing reaches the upstream) if a ref is outside
push_branches, a force push or deletion is not allowed, or any new commit
(not only the tip) adds a secret that gitleaks' default rules find; the
message names commit, file, line and rule, never the secret. The upstream's
own refusal is relayed. Restart the gate to apply a changed gate.json.
`

// Main runs the git-gate daemon.
func Main(args []string) int {
	fs := flag.NewFlagSet("git-gate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", layout.GitGateConfigFile, "")
	listen := fs.String("listen", fmt.Sprintf(":%d", layout.GitGatePort), "")
	dataDir := fs.String("data-dir", layout.GitGateDataDir, "")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintf(os.Stdout, helpText, layout.GitGateConfigFile, layout.GitGatePort, layout.GitGateDataDir)
			return 0
		}
		fmt.Fprintf(os.Stderr, "git-gate: %v\n\n", err)
		fmt.Fprintf(os.Stderr, helpText, layout.GitGateConfigFile, layout.GitGatePort, layout.GitGateDataDir)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "git-gate: unexpected argument %q; see --help\n", fs.Arg(0))
		return 2
	}
	log := daemonlog.New(os.Stdout, layout.DaemonGitGate)

	cfg, err := sidecarconfig.LoadGate(*cfgPath)
	if err != nil {
		log.Error("config", "err", err.Error())
		fmt.Fprintf(os.Stderr, "git-gate: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "git-gate: cannot find own executable for the hooks: %v\n", err)
		return 1
	}
	dd, err := filepath.Abs(*dataDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "git-gate: --data-dir %q: %v\n", *dataDir, err)
		return 1
	}
	g, err := NewGate(cfg, *cfgPath, dd, exe, log)
	if err != nil {
		log.Error("setup", "err", err.Error())
		fmt.Fprintf(os.Stderr, "git-gate: %v\n", err)
		return 1
	}
	defer g.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("listen", "addr", *listen, "err", err.Error())
		fmt.Fprintf(os.Stderr, "git-gate: --listen %s: %v\n", *listen, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("listening", "addr", ln.Addr().String(), "remotes", len(cfg.Remotes), "data_dir", dd)
	if err := g.Serve(ctx, ln); err != nil {
		log.Error("serve", "err", err.Error())
		return 1
	}
	log.Info("stopped")
	return 0
}
