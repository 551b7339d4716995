package proxykit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/daemonlog"
)

// ShutdownGrace is how long requests in flight get at SIGTERM/SIGINT.
const ShutdownGrace = 5 * time.Second

// Serve is the daemons' serve / reload / shutdown loop: it serves h on ln,
// calls reload at every SIGHUP (nil: SIGHUP is ignored, never fatal), and
// at SIGTERM or SIGINT stops accepting and gives requests in flight
// ShutdownGrace. It logs "listening" (with addr and attrs) once the
// signals are handled: a SIGHUP sent as soon as the daemon says it is up
// must reload, not kill it (SIGHUP's default action). It returns nil after
// a signal, or the error that stopped serving.
func Serve(log *slog.Logger, ln net.Listener, h http.Handler, reload func(), attrs ...any) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	log.Info("listening", append([]any{daemonlog.KeyAddr, ln.Addr().String()}, attrs...)...)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	for {
		select {
		case err := <-served:
			return fmt.Errorf("serving %s: %w", ln.Addr(), err)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if reload != nil {
					reload()
				}
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
			_ = hs.Shutdown(ctx)
			cancel()
			return nil
		}
	}
}
