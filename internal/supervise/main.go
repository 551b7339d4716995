package supervise

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
)

const help = `usage: claude-bottle-sidecar supervise [flags]

The MCP server (streamable HTTP) the agent calls when it is blocked. Each
call becomes a proposal file in the queue dir; the operator answers it with
"claude-bottle dashboard" on the host and the call returns the answer.

Tools: egress-block, pipelock-block, capability-block, list-egress-routes,
wait-for-decision. A call holds at most --hold, then returns status
"pending" with an id; wait-for-decision with that id keeps waiting (it may be
called any number of times, also after a daemon restart).

Environment (flags win):
  SUPERVISE_PORT         port to listen on (default 9100)
  SUPERVISE_QUEUE_DIR    queue dir (default /run/supervise/queue)
  SUPERVISE_BOTTLE_SLUG  the bottle's slug, recorded in proposals
  SUPERVISE_HOLD         how long one call waits, Go duration (default 45s)

Files in the queue dir: <id>.proposal.json (written here),
<id>.answer.json (written by the dashboard). See internal/queue.

flags:
`

// Main runs the daemon: claude-bottle-sidecar supervise [flags].
func Main(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, help); fs.PrintDefaults() }
	port := envOr("SUPERVISE_PORT", strconv.Itoa(layout.SupervisePort))
	hold, err := time.ParseDuration(envOr("SUPERVISE_HOLD", DefaultHold.String()))
	if err != nil {
		fmt.Fprintf(stderr, "supervise: SUPERVISE_HOLD=%q: %v (give a Go duration such as 45s)\n", os.Getenv("SUPERVISE_HOLD"), err)
		return 2
	}
	listen := fs.String("listen", ":"+port, "address to listen on")
	qdir := fs.String("queue-dir", envOr("SUPERVISE_QUEUE_DIR", layout.SuperviseQueueDir), "queue dir shared with the host")
	slug := fs.String("slug", os.Getenv("SUPERVISE_BOTTLE_SLUG"), "the bottle's slug")
	routes := fs.String("routes", layout.EgressRoutesFile, "live egress routes file (read only), for list-egress-routes")
	pipelock := fs.String("pipelock-config", layout.PipelockConfigFile, "live pipelock config (read only), for list-egress-routes")
	fs.DurationVar(&hold, "hold", hold, "how long one tool call waits for the operator before it returns pending")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "supervise: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if hold <= 0 {
		fmt.Fprintf(stderr, "supervise: --hold %s must be positive\n", hold)
		return 2
	}
	log := daemonlog.New(stdout, layout.DaemonSupervise)
	if err := os.MkdirAll(*qdir, 0o755); err != nil {
		log.Error("queue dir unusable", "queue_dir", *qdir, "err", err.Error())
		return 1
	}
	// While this holds, the host counts the queue at its full budget
	// (queue.CheckHostRoom): it may still grow that far.
	release, err := queue.HoldLive(*qdir)
	if err != nil {
		log.Error("queue dir unusable", "queue_dir", *qdir, "err", err.Error())
		return 1
	}
	defer release()
	cfg := Config{QueueDir: *qdir, Slug: *slug, RoutesFile: *routes, PipelockFile: *pipelock, Hold: hold, Logger: log}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("listen failed", "listen", *listen, "err", err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv := &http.Server{
		Handler:           Handler(cfg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Tool calls are long polls: no WriteTimeout. Handlers end on
		// shutdown through BaseContext.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	log.Info("listening", "addr", ln.Addr().String(), "queue_dir", *qdir, "slug", *slug, "hold", hold.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Error("serve failed", "err", err.Error())
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
