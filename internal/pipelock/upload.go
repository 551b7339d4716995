package pipelock

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
)

// Request bodies are scanned as they stream (issue 16 item 8; docs/DLP.md
// "Large uploads"). The first window (dlp.StreamWindow plus the overlap)
// is read before pipelock decides the request: a body that ends within it
// is scanned whole and sent on as today. A longer body goes upstream as it
// arrives, each byte only after the window holding it (and the overlap
// after it) passed; when a window blocks, the body read fails, the
// transport aborts the upstream request (the origin never gets the whole
// body), and the agent gets the 403.

// upload is one request body being scanned. The transport reads it; its
// Read hands out only released bytes.
type upload struct {
	mu      sync.Mutex // the transport's goroutine reads; the round trip drains
	src     io.ReadCloser
	dec     io.Reader // decoded view of src (src itself without Content-Encoding)
	encoded bool
	stream  *dlp.BodyStream
	limit   int64 // cap on raw and decoded bytes; 0: none
	trailer func() *dlp.Verdict

	pending []byte // raw bytes read and not yet handed out
	head    int    // pending[head:] is still to hand out
	rawN    int64  // raw bytes read from src
	outN    int64  // raw bytes handed out
	decN    int64  // decoded bytes scanned
	marks   []int64
	chunk   []byte
	eof     bool
	srcErr  error // the client's body failed (not the decoder)
	err     error
	blocked atomic.Pointer[blockErr]
}

type blockErr struct{ rule, reason string }

func (b *blockErr) Error() string { return "pipelock blocked the request body: " + b.reason }

// rawCounter is the tee between the client's body and the decoder: every
// raw byte read is kept until it is released.
type rawCounter struct{ u *upload }

func (r rawCounter) Read(p []byte) (int, error) {
	n, err := r.u.src.Read(p)
	if err != nil && err != io.EOF {
		r.u.srcErr = err
	}
	r.u.pending = append(r.u.pending, p[:n]...)
	r.u.rawN += int64(n)
	return n, err
}

// newUpload starts scanning req's body. A Content-Encoding pipelock cannot
// undo is refused here.
func newUpload(p *Policy, req *http.Request) (*upload, *blockErr) {
	u := &upload{src: req.Body, limit: p.maxBody, chunk: make([]byte, 32<<10)}
	u.stream = p.inspector.NewBodyStream(req.URL.Hostname(), req.Header.Get("Content-Type"))
	u.dec = rawCounter{u}
	if ce := strings.Join(req.Header.Values("Content-Encoding"), ","); strings.Trim(ce, " ,") != "" {
		// Every Content-Encoding value is undone (all header lines, every
		// comma-separated coding), and the decoded body is what is
		// scanned; the body goes on as sent.
		d, err := dlp.ContentReader(ce, u.dec)
		if err != nil {
			return nil, compressedErr(ce, err)
		}
		u.dec, u.encoded = d, true
	}
	host := req.URL.Hostname()
	u.trailer = func() *dlp.Verdict {
		// Trailers arrive with the body's end; they are headers like any other.
		if len(req.Trailer) == 0 {
			return nil
		}
		return p.inspector.CheckHeaders(host, req.Trailer)
	}
	return u, nil
}

func compressedErr(ce string, err error) *blockErr {
	return &blockErr{RuleCompressed, "request body with Content-Encoding " + quoteOrNone(ce) + " cannot be inspected (" + err.Error() + "); send it uncompressed"}
}

// prefill reads until the first window is scanned or the body ends.
func (u *upload) prefill() *blockErr {
	u.mu.Lock()
	defer u.mu.Unlock()
	for !u.eof && u.err == nil && u.stream.Windows() == 0 {
		u.step()
	}
	return u.blocked.Load()
}

// whole is the raw body when it ended within the first window.
func (u *upload) whole() ([]byte, bool) {
	if !u.eof || u.err != nil {
		return nil, false
	}
	return u.pending[u.head:], true
}

// step reads one chunk, scans it, and records what may be released.
func (u *upload) step() {
	n, err := u.dec.Read(u.chunk)
	u.decN += int64(n)
	if u.limit > 0 && (u.rawN > u.limit || u.decN > u.limit) {
		u.block(RuleBodyTooLarge, fmt.Sprintf("request body is over the %d-byte cap (egress.max_upload); %d bytes were read", u.limit, max(u.rawN, u.decN)))
		return
	}
	windows := u.stream.Windows()
	if v := u.stream.Write(u.chunk[:n]); v != nil {
		u.blockVerdict(v)
		return
	}
	if u.stream.Windows() != windows {
		u.marks = append(u.marks, u.rawN)
	}
	switch {
	case err == io.EOF:
		if v := u.stream.Close(); v != nil {
			u.blockVerdict(v)
			return
		}
		if v := u.trailer(); v != nil {
			u.blockVerdict(v)
			return
		}
		u.eof = true
	case err != nil && u.encoded && u.srcErr == nil:
		u.block(RuleCompressed, "request body cannot be decoded ("+err.Error()+"); send it uncompressed")
	case err != nil:
		u.err = err
	}
}

func (u *upload) blockVerdict(v *dlp.Verdict) { u.block(v.Rule, v.Reason) }

func (u *upload) block(rule, reason string) {
	b := &blockErr{rule, reason}
	u.blocked.Store(b)
	u.err = b
}

// released is the raw offset up to which bytes may go upstream.
func (u *upload) released() int64 {
	switch {
	case u.eof:
		return u.rawN
	case !u.encoded:
		return u.stream.Released()
	case len(u.marks) >= 2:
		// Compressed: raw bytes go on one window behind the decoder (what
		// the decoder read ahead is not scanned yet).
		return u.marks[len(u.marks)-2]
	}
	return 0
}

// Read hands out released bytes, scanning more as needed.
func (u *upload) Read(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for {
		if k := u.released() - u.outN; k > 0 {
			n := copy(p, u.pending[u.head:u.head+int(min(k, int64(len(p))))])
			u.head += n
			u.outN += int64(n)
			u.compact()
			return n, nil
		}
		if u.err != nil {
			return 0, u.err
		}
		if u.eof {
			return 0, io.EOF
		}
		u.step()
	}
}

// compact moves what is still pending to the front once half is handed out.
func (u *upload) compact() {
	if u.head == len(u.pending) {
		u.pending, u.head = u.pending[:0], 0
	} else if u.head > cap(u.pending)/2 {
		n := copy(u.pending, u.pending[u.head:])
		u.pending, u.head = u.pending[:n], 0
	}
}

// Close closes the client's body, unless the upload was blocked: then the
// round trip drains it so the client reads the 403.
func (u *upload) Close() error {
	if u.blocked.Load() != nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.src.Close()
}

// drain discards what is left of the client's body (up to drainLimit) and
// reports whether all of it was read.
func (u *upload) drain() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	defer u.src.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(u.src, drainLimit+1))
	return err == nil && n <= drainLimit
}

// inspectBody scans req's body: whole when it ends within the first
// window; else it returns the upload, which streams (streamUpload).
func (s *Server) inspectBody(p *Policy, req *http.Request) (up *upload, rule, reason string) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, "", ""
	}
	if p.maxBody > 0 && req.ContentLength > p.maxBody {
		// Refused before it is read: a client that asked for 100-continue
		// never sends it (drainRefused).
		return nil, RuleBodyTooLarge, fmt.Sprintf("request body of %d bytes is over the %d-byte cap (egress.max_upload)", req.ContentLength, p.maxBody)
	}
	u, b := newUpload(p, req)
	if b != nil {
		return nil, b.rule, b.reason
	}
	if b := u.prefill(); b != nil {
		return nil, b.rule, b.reason
	}
	if u.err != nil {
		return nil, RuleBadRequest, "reading request body: " + u.err.Error()
	}
	if body, ok := u.whole(); ok {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.TransferEncoding = nil
		return nil, "", ""
	}
	req.Body = u
	return u, "", ""
}

// streamUpload routes the request's round trip through streamTrip, around
// whatever round trip is set (the response scanner's).
func (s *Server) streamUpload(ctx *goproxy.ProxyCtx, u *upload, d *decision) {
	next := ctx.RoundTripper
	ctx.RoundTripper = goproxy.RoundTripperFunc(func(req *http.Request, ctx *goproxy.ProxyCtx) (*http.Response, error) {
		return s.streamTrip(u, d, next, req, ctx)
	})
}

// streamTrip sends a streamed request and turns a block found mid-stream
// into pipelock's 403 (logged as its own decision line).
func (s *Server) streamTrip(u *upload, d *decision, next goproxy.RoundTripper, req *http.Request, ctx *goproxy.ProxyCtx) (*http.Response, error) {
	var resp *http.Response
	var err error
	if next != nil {
		resp, err = next.RoundTrip(req, ctx)
	} else {
		resp, err = s.tr.RoundTrip(req)
	}
	b := u.blocked.Load()
	if b == nil {
		return resp, err
	}
	if resp != nil {
		resp.Body.Close()
	}
	u.mu.Lock()
	sent := u.outN
	u.mu.Unlock()
	reason := fmt.Sprintf("%s (upload aborted after %d bytes went upstream)", b.reason, sent)
	bd := *d
	bd.Decision, bd.Rule, bd.Reason, bd.Status = decBlock, b.rule, reason, http.StatusForbidden
	s.logDecision(&bd)
	out := blockResponse(req, b.rule, reason)
	out.Close = !u.drain()
	return out, nil
}
