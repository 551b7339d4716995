package pipelock

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Passthrough tunnels are not intercepted, so the only thing pipelock can
// check is the TLS ClientHello: its SNI must name the host of the CONNECT,
// or a client could tunnel to an allowed host's address while asking a
// front end behind it for another site (domain fronting).

const helloTimeout = 10 * time.Second

// maxHelloBytes bounds what is buffered while waiting for a ClientHello
// (post-quantum key shares make it a few KiB; records are at most 16 KiB).
const maxHelloBytes = 64 << 10

// errHelloSeen stops the handshake once the ClientHello is parsed.
var errHelloSeen = errors.New("client hello read")

// recordingConn lets crypto/tls parse the ClientHello while keeping every
// byte it read, and swallows whatever the aborted handshake writes.
type recordingConn struct {
	net.Conn
	r   io.Reader
	buf bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	if c.buf.Len() >= maxHelloBytes {
		return 0, errors.New("client hello too large")
	}
	n, err := c.r.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

func (c *recordingConn) Write(p []byte) (int, error) { return len(p), nil }

// peekSNI reads the ClientHello from r and returns the server name and the
// raw bytes read, which must be replayed to the origin.
func peekSNI(conn net.Conn, r io.Reader) (string, []byte, error) {
	rc := &recordingConn{Conn: conn, r: r}
	var sni string
	seen := false
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni, seen = h.ServerName, true
		return nil, errHelloSeen
	}}
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	err := tls.Server(rc, cfg).Handshake()
	_ = conn.SetReadDeadline(time.Time{})
	if !seen {
		if err == nil {
			err = errors.New("no ClientHello")
		}
		return "", nil, err
	}
	return sni, rc.buf.Bytes(), nil
}

// passthrough answers the CONNECT, checks the SNI and splices the client to
// a checked address of the host.
func (s *Server) passthrough(w http.ResponseWriter, r *http.Request, d *decision, addrs []netip.Addr) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.refuseConnect(w, d, RuleBadRequest, "passthrough needs an HTTP/1.1 CONNECT")
		return
	}
	client, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer client.Close()
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// The client may have sent its ClientHello with the CONNECT: those
	// bytes are in the server's buffered reader.
	var src io.Reader = client
	if rw != nil && rw.Reader.Buffered() > 0 {
		src = io.MultiReader(bytes.NewReader(peekBuffered(rw.Reader)), client)
	}
	sni, hello, err := peekSNI(client, src)
	if err != nil {
		d.Decision, d.Rule, d.Reason = decBlock, RuleSNI, "no TLS ClientHello in passthrough tunnel: "+err.Error()
		s.logDecision(d)
		return
	}
	if normHost(sni) != d.Host {
		// The 200 is already sent, so the block is a closed connection.
		reason := "TLS SNI " + quoteOrNone(sni) + " does not match CONNECT host " + d.Host
		d.Decision, d.Rule, d.Reason = decBlock, RuleSNI, reason
		s.logDecision(d)
		return
	}
	up, err := dialPinned(r.Context(), addrs, d.Port)
	if err != nil {
		d.Decision, d.Reason = decError, err.Error()
		s.logDecision(d)
		return
	}
	defer up.Close()
	if _, err := up.Write(hello); err != nil {
		d.Decision, d.Reason = decError, err.Error()
		s.logDecision(d)
		return
	}
	d.Decision = decAllow
	s.logDecision(d)
	splice(client, up)
}

func peekBuffered(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return append([]byte(nil), b...)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// splice copies both ways until both directions are done.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}
