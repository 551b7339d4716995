package proxykit

import (
	"fmt"
	"log/slog"
	"strings"
)

// GoproxyLogger adapts goproxy's Printf logger to slog. With Verbose off
// goproxy logs only warnings (failed handshakes, copy errors).
type GoproxyLogger struct{ Log *slog.Logger }

// Printf logs one goproxy message as a warning.
func (g GoproxyLogger) Printf(format string, v ...any) {
	g.Log.Warn("goproxy", "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}
