package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// newTransport is egress's only way out. With an upstream proxy every
// request goes through it (plain http as absolute-form requests, https
// as CONNECT); the process's HTTP_PROXY variables are never consulted.
func newTransport(upstream *url.URL, roots *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Big buffers: fewer syscalls on 100 MB transfers.
		WriteBufferSize: 64 * 1024,
		ReadBufferSize:  64 * 1024,
	}
	if upstream != nil {
		tr.Proxy = http.ProxyURL(upstream)
	}
	return tr
}

// upstreamRefused is a non-200 answer to our CONNECT from the upstream
// proxy (pipelock's "blocked: ..."), relayed to the agent as it is.
type upstreamRefused struct {
	status int
	body   string
}

func (e *upstreamRefused) Error() string {
	return fmt.Sprintf("upstream proxy answered CONNECT with %d: %s", e.status, e.body)
}

// dialError marks a failure to open a tunnel, as opposed to an error while
// relaying one (goproxy calls the error handler for both).
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// dialTunnel opens a raw TCP stream to addr: through the upstream proxy's
// CONNECT, or directly when there is no upstream (tests, benchmarks).
func dialTunnel(ctx context.Context, upstream *url.URL, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if upstream == nil {
		return d.DialContext(ctx, "tcp", addr)
	}
	proxyAddr := upstream.Host
	if upstream.Port() == "" {
		proxyAddr = net.JoinHostPort(upstream.Hostname(), "80")
	}
	c, err := d.DialContext(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("dialing upstream proxy %s: %w", proxyAddr, err)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("writing CONNECT to upstream proxy %s: %w", proxyAddr, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("reading CONNECT answer from upstream proxy %s: %w", proxyAddr, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		c.Close()
		return nil, &upstreamRefused{status: resp.StatusCode, body: string(body)}
	}
	_ = c.SetDeadline(time.Time{})
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	// A server that speaks first (ssh, smtp) may already have sent bytes
	// that sit in br: keep reading through it.
	return &bufConn{TCPConn: tc, r: br}, nil
}

// bufConn is a TCP conn read through a bufio.Reader that may hold bytes.
type bufConn struct {
	*net.TCPConn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// halfCloser is what goproxy needs to half-close both ends of a tunnel.
type halfCloser interface {
	net.Conn
	CloseWrite() error
	CloseRead() error
}

// countConn counts tunnel bytes and ends the request log on first Close.
// It keeps CloseWrite/CloseRead so goproxy uses its half-close relay.
type countConn struct {
	halfCloser
	in, out *atomic.Int64
	end     func()
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.halfCloser.Read(p)
	c.out.Add(int64(n))
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.halfCloser.Write(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countConn) Close() error {
	err := c.halfCloser.Close()
	c.end()
	return err
}
