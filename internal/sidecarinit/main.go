package sidecarinit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

const initUsage = `usage: claude-bottle-sidecar init

PID 1 of the bundled "sidecars" service. Starts "claude-bottle-sidecar <daemon>"
for each daemon named in CLAUDE_BOTTLE_SIDECAR_DAEMONS (a comma-separated
subset of egress,pipelock,git-gate,supervise), prefixes every line they print
with "[<daemon>] ", and:

  SIGTERM, SIGINT  forwarded to every daemon; after 8 s, SIGKILL
  SIGHUP           forwarded to egress and pipelock (reload config)
  SIGUSR1          restarts pipelock
  a daemon dies    restarted with backoff; the others keep running

EGRESS_TOKEN_* reach egress only; PIPELOCK_SECRET_* reach pipelock and git-gate only;
HTTP(S)_PROXY / NO_PROXY reach no daemon. The exit code is the highest exit
code among the daemons' last exits.
`

// Main is "claude-bottle-sidecar init".
func Main(args []string) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { fmt.Fprint(os.Stderr, initUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(prefixWriter{w: &lockedWriter{w: os.Stdout}, prefix: []byte("[init] ")}, nil))
	if fs.NArg() > 0 {
		logger.Error("init takes no arguments; name the daemons in "+EnvDaemons, "args", fs.Args())
		return 2
	}
	daemons, err := ParseDaemons(os.Getenv(EnvDaemons))
	if err != nil {
		logger.Error(err.Error())
		return 2
	}
	if os.Getpid() != 1 {
		// Outside a container's PID 1 (tests, a shell) orphans of the
		// daemons would go to the real init; as a subreaper we get and
		// reap them ourselves.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			logger.Warn("cannot become a child subreaper; orphans go to PID 1", "err", err.Error())
		}
	}
	exe, err := DaemonBinary()
	if err != nil {
		logger.Error(err.Error())
		return 2
	}
	code, err := Run(context.Background(), Config{
		Daemons: daemons,
		Command: func(d string) []string { return []string{exe, d} },
	})
	if err != nil {
		logger.Error(err.Error())
	}
	return code
}

// EnvSidecarBin overrides the binary the init starts the daemons from.
const EnvSidecarBin = "CLAUDE_BOTTLE_SIDECAR_BIN"

// SidecarBinaryName is the full binary's file name.
const SidecarBinaryName = "claude-bottle-sidecar"

// DaemonBinary is the program the init runs as "<program> <daemon>":
// $CLAUDE_BOTTLE_SIDECAR_BIN if set; else this executable when it is the
// full claude-bottle-sidecar; else (the light claude-bottle-sidecar-init)
// the claude-bottle-sidecar next to it.
func DaemonBinary() (string, error) {
	if b := os.Getenv(EnvSidecarBin); b != "" {
		return b, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find the init's own executable: %w; set %s", err, EnvSidecarBin)
	}
	if filepath.Base(exe) == SidecarBinaryName {
		return exe, nil
	}
	sib := filepath.Join(filepath.Dir(exe), SidecarBinaryName)
	if _, err := os.Stat(sib); err != nil {
		return "", fmt.Errorf("%s is not %s and there is no %s next to it (%v); set %s to the daemons' binary",
			exe, SidecarBinaryName, sib, err, EnvSidecarBin)
	}
	return sib, nil
}

const healthUsage = `usage: claude-bottle-sidecar health [daemon]

Exits 0 when each daemon accepts a TCP connection on 127.0.0.1 at its port
(egress 9099, pipelock 8888, git-gate 9418, supervise 9100), 1 otherwise,
naming each daemon that failed on stderr. With no argument it checks the
daemons in CLAUDE_BOTTLE_SIDECAR_DAEMONS (the bundle); with one it checks
that daemon (a legacy service).
`

// HealthMain is "claude-bottle-sidecar health [daemon]", the compose
// healthcheck.
func HealthMain(args []string) int {
	return health(args, os.Getenv(EnvDaemons), "127.0.0.1", Ports, os.Stderr)
}

func health(args []string, envCSV, host string, ports map[string]int, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "per-daemon connect timeout")
	fs.Usage = func() { fmt.Fprint(stderr, healthUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var daemons []string
	switch fs.NArg() {
	case 0:
		d, err := ParseDaemons(envCSV)
		if err != nil {
			fmt.Fprintf(stderr, "health: %v\n", err)
			return 2
		}
		daemons = d
	case 1:
		if _, ok := ports[fs.Arg(0)]; !ok {
			fmt.Fprintf(stderr, "health: unknown daemon %q; known daemons: %s\n", fs.Arg(0), strings.Join(layout.DaemonOrder, ", "))
			return 2
		}
		daemons = []string{fs.Arg(0)}
	default:
		fmt.Fprintf(stderr, "health: takes at most one daemon, got %q\n", fs.Args())
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout*time.Duration(len(daemons)))
	defer cancel()
	if err := Check(ctx, daemons, host, ports, *timeout); err != nil {
		fmt.Fprintf(stderr, "health: %v\n", err)
		return 1
	}
	return 0
}

// Check connects to each daemon's port on host and returns an error naming
// every daemon that did not accept.
func Check(ctx context.Context, daemons []string, host string, ports map[string]int, timeout time.Duration) error {
	var errs []error
	d := net.Dialer{Timeout: timeout}
	for _, name := range daemons {
		port, ok := ports[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown daemon", name))
			continue
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s) is not accepting connections: %w", name, addr, err))
			continue
		}
		conn.Close()
	}
	return errors.Join(errs...)
}
