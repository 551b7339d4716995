package pipelock

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	"github.com/elazarl/goproxy"

	"github.com/claude-bottle/claude-bottle/internal/respscan"
)

// Decisions of the response scan, as logged ("decision" lines with mode
// "response"; `claude-bottle logs` shows them).
const (
	decWarn  = "warn"
	decStrip = "strip"
	// RuleResponseEncoding: a block-mode response whose Content-Encoding
	// pipelock cannot undo, so cannot read.
	RuleResponseEncoding = "response-encoding"
)

// scanResponses makes the upstream round trip of an allowed request hand
// its response to the response scanner (issue 16 item 7). Wrapping at the
// round trip, before goproxy sees the body, keeps a Content-Length the
// origin sent: goproxy re-chunks only a body its response filters swap.
func (s *Server) scanResponses(p *Policy, ctx *goproxy.ProxyCtx, d *decision) {
	if p.respMode == respscan.Off || p.respUnread[d.Host] {
		return
	}
	ctx.RoundTripper = goproxy.RoundTripperFunc(func(req *http.Request, _ *goproxy.ProxyCtx) (*http.Response, error) {
		resp, err := s.tr.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		return s.scanResponse(p, req, resp, d), nil
	})
}

// scanResponse wraps resp's body in a respscan.Reader. Compressed bodies
// are decoded as they stream and go on decoded (identity): the agent's
// client asked for the coding, and every HTTP client reads identity too.
func (s *Server) scanResponse(p *Policy, req *http.Request, resp *http.Response, d *decision) *http.Response {
	if req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody ||
		resp.StatusCode == http.StatusSwitchingProtocols || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		return resp
	}
	body := resp.Body
	if ce := strings.Join(resp.Header.Values("Content-Encoding"), ","); strings.Trim(ce, " ,") != "" {
		dec, err := decodeStream(ce, body)
		if err != nil {
			if p.respMode == respscan.Block {
				body.Close()
				return s.responseBlock(req, d, RuleResponseEncoding, "response with Content-Encoding "+quoteOrNone(ce)+" cannot be read ("+err.Error()+")", "")
			}
			s.logResponse(d, decWarn, RuleResponseEncoding, "response with Content-Encoding "+quoteOrNone(ce)+" passed unread ("+err.Error()+")", "", 0)
			return resp
		}
		body = dec
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if binaryType(mt) {
		return resp // images, archives, media: no text for the agent to take as instructions
	}
	if !textType(mt) {
		// Unlabelled, octet-stream or an application type not known to
		// be text (a git pack, protobuf, msgpack): read as text only if it
		// starts like text.
		br := bufio.NewReaderSize(body, 512)
		head, _ := br.Peek(512)
		body = struct {
			io.Reader
			io.Closer
		}{br, body}
		resp.Body = body
		if !looksText(head) {
			return resp
		}
	}
	mode := p.respMode
	r := p.resp.NewReader(body, respscan.Options{
		Mode: mode,
		SSE:  mt == "text/event-stream",
		OnFinding: func(f respscan.Finding, off int64) {
			dec := map[respscan.Mode]string{respscan.Warn: decWarn, respscan.Strip: decStrip, respscan.Block: decBlock}[mode]
			s.logResponse(d, dec, f.Rule, responseReason(f.Rule, mode), f.Excerpt, off)
		},
	})
	if mode == respscan.Block {
		var be *respscan.BlockedError
		if err := r.Prime(); errors.As(err, &be) {
			r.Close()
			// Logged by OnFinding already; the agent gets the block
			// instead of the response.
			return blockResponseOnly(req, be.Finding.Rule, responseReason(be.Finding.Rule, mode))
		}
	}
	resp.Body = r
	return resp
}

func responseReason(rule string, mode respscan.Mode) string {
	switch mode {
	case respscan.Strip:
		return "prompt injection in the response, stripped (" + rule + ")"
	case respscan.Block:
		return "prompt injection in the response (" + rule + ")"
	}
	return "prompt injection in the response, passed (responses: warn)"
}

// responseBlock answers with a block, logged.
func (s *Server) responseBlock(req *http.Request, d *decision, rule, reason, excerpt string) *http.Response {
	s.logResponse(d, decBlock, rule, reason, excerpt, 0)
	return blockResponseOnly(req, rule, reason)
}

// blockResponseOnly is the 403 for a response pipelock will not relay.
func blockResponseOnly(req *http.Request, rule, reason string) *http.Response {
	resp := blockResponse(req, rule, reason)
	resp.Header.Set("X-Pipelock-Response", "blocked")
	return resp
}

// logResponse writes one decision line for a response finding.
func (s *Server) logResponse(d *decision, dec, rule, reason, excerpt string, off int64) {
	attrs := []any{
		"mode", "response", "method", d.Method, "host", d.Host, "port", d.Port,
		"decision", dec, "rule", rule, "reason", reason,
	}
	if d.PathLen > 0 {
		attrs = append(attrs, "path_len", d.PathLen)
	}
	if excerpt != "" {
		attrs = append(attrs, "excerpt", excerpt, "offset", off)
	}
	if !d.start.IsZero() {
		attrs = append(attrs, "ms", float64(time.Since(d.start).Microseconds())/1000)
	}
	s.log.Info("decision", attrs...)
}

// binaryType: a media type that is not text (images, audio, video, fonts,
// archives and compressed files, PDFs, wasm). Its body is not scanned; an
// archive's files are not opened.
func binaryType(mt string) bool {
	if i := strings.IndexByte(mt, '/'); i > 0 {
		switch mt[:i] {
		case "image", "audio", "video", "font":
			return mt != "image/svg+xml" // SVG is XML text
		}
	}
	switch mt {
	case "application/zip", "application/gzip", "application/x-gzip", "application/x-tar", "application/x-xz",
		"application/zstd", "application/x-bzip2", "application/x-7z-compressed", "application/java-archive",
		"application/pdf", "application/wasm", "application/x-executable", "application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.docker.image.rootfs.diff.tar.gzip", "application/x-debian-package", "application/x-rpm":
		return true
	}
	return false
}

// textType: a media type known to be text.
func textType(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+yaml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript", "application/x-javascript",
		"application/x-ndjson", "application/ndjson", "application/jsonl", "application/yaml", "application/x-yaml", "application/toml",
		"application/x-www-form-urlencoded", "application/graphql", "application/markdown", "application/x-sh", "application/x-httpd-php":
		return true
	}
	return false
}

// looksText: the start of an unlabelled body is text (no NUL, valid
// UTF-8 but for a character cut at the end, or what net/http sniffs as
// text).
func looksText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	if strings.HasPrefix(http.DetectContentType(head), "text/") {
		return true
	}
	trim := head
	for k := 0; k < 3 && len(trim) > 0 && !utf8.Valid(trim); k++ {
		trim = trim[:len(trim)-1]
	}
	return utf8.Valid(trim)
}

// decodeStream undoes a Content-Encoding list as the body streams.
func decodeStream(ce string, body io.ReadCloser) (io.ReadCloser, error) {
	var r io.Reader = body
	codings := strings.Split(ce, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		switch c := strings.ToLower(strings.TrimSpace(codings[i])); c {
		case "", "identity":
		case "gzip", "x-gzip":
			br := bufio.NewReader(r)
			if _, err := br.Peek(1); err == io.EOF {
				r = br // an empty body: nothing to undo
				continue
			}
			g, err := gzip.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("gzip: %w", err)
			}
			r = g
		case "deflate":
			// RFC 9110 says zlib; some servers send raw deflate.
			br := bufio.NewReader(r)
			if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint(h[0])<<8|uint(h[1]))%31 == 0 {
				z, err := zlib.NewReader(br)
				if err != nil {
					return nil, fmt.Errorf("deflate: %w", err)
				}
				r = z
			} else {
				r = flate.NewReader(br)
			}
		case "br":
			r = brotli.NewReader(r)
		default:
			return nil, fmt.Errorf("unknown coding %q", c)
		}
	}
	return struct {
		io.Reader
		io.Closer
	}{r, body}, nil
}
