package dlp

import "strings"

// Streaming inspection of large bodies (issue 16 item 8). A body is
// scanned in windows of StreamWindow+StreamOverlap bytes; each window
// after the first starts StreamOverlap bytes before the previous one
// ended. Any stretch of at most StreamOverlap+1 bytes therefore lies
// whole inside one window, so every rule (decoding included) sees every
// secret whose encoded form in the body is at most StreamOverlap bytes
// long. Memory stays at one window whatever the body's size.
const (
	StreamWindow  = 1 << 20
	StreamOverlap = 64 << 10
)

// BodyStream scans one request body as it arrives. Write it the body's
// bytes in order, then Close. A body that fits in one window is scanned
// exactly as CheckBodyTo scans it whole.
type BodyStream struct {
	in      *Inspector
	sc      *scan
	ct      string
	window  int // scan once buf holds this many bytes
	overlap int
	buf     []byte
	start   int64 // stream offset of buf[0]
	scanned int   // windows scanned so far
	v       *Verdict
}

// NewBodyStream starts scanning a body of media type contentType sent to
// host.
func (in *Inspector) NewBodyStream(host, contentType string) *BodyStream {
	return in.newBodyStream(host, contentType, StreamWindow, StreamOverlap)
}

func (in *Inspector) newBodyStream(host, contentType string, window, overlap int) *BodyStream {
	return &BodyStream{
		in: in, sc: &scan{host: strings.ToLower(host)}, ct: contentType,
		window: window + overlap, overlap: overlap,
		buf: make([]byte, 0, window+overlap),
	}
}

// Write adds p to the body, scanning every window it fills. It returns the
// verdict of the first window that blocks (and keeps returning it).
func (s *BodyStream) Write(p []byte) *Verdict {
	for len(p) > 0 && s.v == nil {
		n := min(len(p), s.window-len(s.buf))
		s.buf = append(s.buf, p[:n]...)
		p = p[n:]
		if len(s.buf) == s.window {
			if s.v = s.scanWindow(); s.v != nil {
				break // nothing of a blocked window is released
			}
			// The last overlap bytes start the next window.
			keep := copy(s.buf, s.buf[len(s.buf)-s.overlap:])
			s.start += int64(len(s.buf) - keep)
			s.buf = s.buf[:keep]
		}
	}
	return s.v
}

// Close scans what is left (all of a body that fit in one window) and
// returns the verdict.
func (s *BodyStream) Close() *Verdict {
	// After a full window the rest may be only the overlap already
	// scanned: nothing new to see.
	if s.v == nil && (s.scanned == 0 || len(s.buf) > s.overlap) {
		s.v = s.scanWindow()
	}
	if s.v == nil {
		s.start += int64(len(s.buf))
		s.buf = s.buf[:0]
	}
	return s.v
}

// Windows is how many windows have been scanned.
func (s *BodyStream) Windows() int { return s.scanned }

// Released is how many leading bytes of the body are past every scan they
// take part in: the bytes a proxy may send on. The overlap carried into
// the next window is held back until that window is scanned, so no secret
// that fits in the overlap leaves whole before the window holding it is
// read.
func (s *BodyStream) Released() int64 { return s.start }

func (s *BodyStream) scanWindow() *Verdict {
	s.scanned++
	if len(s.buf) == 0 {
		return nil
	}
	// The first window starts the body and is scanned as a whole body
	// is. Later windows start mid-body: the media-type parse finds what it
	// can (JSON is not valid, a multipart body skips to the next
	// boundary), and runs cut by the window start are decoded at every
	// phase.
	s.sc.cut = s.start > 0
	return s.in.checkBody(s.sc, s.ct, s.buf)
}
