package egress

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Decisions written in the log's "decision" field.
const (
	decAllow   = "allow"   // route request forwarded
	decForward = "forward" // non-route request, left to pipelock
	decTunnel  = "tunnel"  // non-route CONNECT, tunnelled uninspected
	decBlock   = "block"
	decError   = "error" // upstream failed
)

// reqLog collects one request's facts and writes them as one JSON line
// when the request ends (body closed, or tunnel closed).
type reqLog struct {
	log      *slog.Logger
	start    time.Time
	method   string
	scheme   string
	host     string
	path     string
	route    string
	decision string
	slot     string // token slot injected; never the value
	reason   string
	status   int
	bytesIn  atomic.Int64 // agent → origin body bytes
	bytesOut atomic.Int64 // origin → agent body bytes
	once     sync.Once
}

func (l *reqLog) done() {
	l.once.Do(func() {
		attrs := []any{
			"method", l.method, "scheme", l.scheme, "host", l.host, "path", l.path,
			"route", l.route, "decision", l.decision,
		}
		if l.slot != "" {
			attrs = append(attrs, "injected_slot", l.slot)
		}
		if l.status != 0 {
			attrs = append(attrs, "status", l.status)
		}
		if l.reason != "" {
			attrs = append(attrs, "reason", l.reason)
		}
		attrs = append(attrs, "bytes_in", l.bytesIn.Load(), "bytes_out", l.bytesOut.Load(),
			"duration_ms", float64(time.Since(l.start).Microseconds())/1000)
		l.log.Info("request", attrs...)
	})
}

// countBody counts the bytes read through it and writes the log line on
// Close (goproxy always closes the response body when it is done).
type countBody struct {
	io.ReadCloser
	n   *atomic.Int64
	end func()
}

func (c *countBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countBody) Close() error {
	err := c.ReadCloser.Close()
	if c.end != nil {
		c.end()
	}
	return err
}
