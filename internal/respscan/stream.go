package respscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Mode is what pipelock does with a finding in a response.
type Mode string

// The modes (manifest responses: key). Warn is the default.
const (
	Off   Mode = "off"   // no response is read
	Warn  Mode = "warn"  // the body passes as sent; each finding is logged
	Strip Mode = "strip" // the span is overwritten, length-preserving
	Block Mode = "block" // the agent gets an error, or the stream is cut
)

// Modes lists the modes, in the order docs and errors name them.
var Modes = []Mode{Warn, Strip, Block, Off}

// Window sizes. Overlap is the context kept from bytes already passed on,
// and in strip and block modes the bytes held back until the next read:
// every rule's match is shorter, so no match is lost at a read boundary
// and none is passed on before it was seen whole. MaxPending bounds what
// is buffered (an SSE event longer than it is scanned in windows).
const (
	Overlap    = 4 << 10
	MaxPending = 256 << 10
	readChunk  = 32 << 10
	scanMin    = 64 << 10
	// sseContext: events are scanned with less context, since a stream of
	// small events would otherwise rescan Overlap bytes per event.
	sseContext = 1 << 10
)

// BlockedError is what a block-mode Reader returns for a finding: the
// relay stops there (a response whose head went out is cut short).
type BlockedError struct{ Finding Finding }

func (e *BlockedError) Error() string {
	return fmt.Sprintf("response blocked: %s (%s)", e.Finding.Rule, e.Finding.Excerpt)
}

// Options configure a Reader.
type Options struct {
	Mode Mode
	// SSE: the body is text/event-stream; each event is scanned and passed
	// on whole as soon as it is complete (never held for a window).
	SSE bool
	// OnFinding hears of every finding once; offset is its start in the
	// stream. Called from Read.
	OnFinding func(f Finding, offset int64)
}

// Reader scans a body as it streams through it. Memory is bounded by
// MaxPending plus Overlap, and prefetchDepth chunks read ahead, whatever
// the body's size. A Reader is used from one goroutine; Close may come
// from another.
type Reader struct {
	s   *Scanner
	src io.Reader
	cl  io.Closer
	o   Options

	buf     []byte // buf[:emitted] went out (kept as context); the rest is pending
	emitted int
	scanned int    // buf[:scanned] was scanned
	out     []byte // ready for the caller: a slice of buf
	off     int64  // stream offset of buf[0]
	lastRep int64  // start of the last finding reported
	eof     bool
	err     error
	total   int64       // bytes read from src
	mu      sync.Mutex  // guards pf's start and closed against Close
	pf      *prefetcher // set by the reading goroutine only
	closed  bool
	lex     lexState  // how far the body's strings were read (joined.go)
	tails   joinTails // each key's joined text so far
}

// NewReader wraps body. The Reader's Close closes body.
func (s *Scanner) NewReader(body io.ReadCloser, o Options) *Reader {
	if o.Mode == "" {
		o.Mode = Warn
	}
	return &Reader{s: s, src: body, cl: body, o: o, buf: make([]byte, 0, Overlap+readChunk), lastRep: -1, lex: lexState{sse: o.SSE}}
}

// Prime reads and scans the start of the body before any of it is passed
// on, so that a block-mode finding there can still become an error
// response instead of a cut stream. It returns the *BlockedError if so.
func (r *Reader) Prime() error {
	if len(r.out) == 0 && r.err == nil {
		r.fill()
	}
	var be *BlockedError
	if errors.As(r.err, &be) && len(r.out) == 0 && r.off == 0 && r.emitted == 0 {
		return be
	}
	return nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// Close closes the body (which ends a read-ahead blocked on it).
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.pf != nil && !r.closed {
		close(r.pf.done)
	}
	r.closed = true
	r.mu.Unlock()
	return r.cl.Close()
}

// fill reads more of the body, scans what is due and sets out (or err).
func (r *Reader) fill() {
	// Keep only Overlap bytes of context before what is both scanned and
	// passed on.
	if drop := min(r.emitted, r.scanned) - Overlap; drop > 0 {
		n := copy(r.buf, r.buf[drop:])
		r.buf = r.buf[:n]
		r.emitted -= drop
		r.scanned -= drop
		r.off += int64(drop)
	}
	for {
		if !r.eof {
			r.read()
		}
		scanTo, emitTo, ok := r.due()
		if !ok {
			continue
		}
		if scanTo > r.scanned {
			r.scan(scanTo)
			var be *BlockedError
			if errors.As(r.err, &be) {
				return
			}
		}
		if r.err == nil && r.eof && emitTo == len(r.buf) {
			r.err = io.EOF
		}
		r.out = r.buf[r.emitted:emitTo]
		r.emitted = emitTo
		if len(r.out) > 0 || r.err != nil {
			return
		}
	}
}

// read appends what the body has to buf. A body past prefetchAfter is
// read ahead on its own goroutine (the upstream's decryption runs while
// this one scans), and every chunk already waiting is taken, up to
// scanMin pending: strip and block then scan a bulk download in scanMin
// windows, not one per TLS record, and a trickle as soon as it stalls.
func (r *Reader) read() {
	if r.pf == nil && r.total >= prefetchAfter && !r.o.SSE {
		r.mu.Lock()
		if !r.closed {
			r.pf = startPrefetch(r.src)
		}
		r.mu.Unlock()
	}
	if r.pf == nil {
		r.grow(readChunk)
		n, err := r.src.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		r.got(n, err)
		return
	}
	select {
	case c := <-r.pf.ch:
		r.take(c)
	case <-r.pf.done:
		r.got(0, errClosed)
		return
	}
	for !r.eof && len(r.buf)-r.emitted < scanMin {
		select {
		case c := <-r.pf.ch:
			r.take(c)
		default:
			return
		}
	}
}

var errClosed = errors.New("respscan: read after Close")

func (r *Reader) grow(n int) {
	if cap(r.buf)-len(r.buf) < n {
		nb := make([]byte, len(r.buf), len(r.buf)+max(n, readChunk)+len(r.buf)/2)
		copy(nb, r.buf)
		r.buf = nb
	}
}

// take appends a prefetched chunk and hands its buffer back.
func (r *Reader) take(c chunk) {
	r.grow(len(c.b))
	r.buf = append(r.buf, c.b...)
	r.got(len(c.b), c.err)
	select {
	case r.pf.free <- c.b[:cap(c.b)]:
	default:
	}
}

func (r *Reader) got(n int, err error) {
	r.total += int64(n)
	if err == io.EOF {
		r.eof = true
	} else if err != nil {
		r.err = err
		r.eof = true
	}
}

// prefetchAfter is how much of a body is read in line before the rest is
// read ahead: most responses are smaller and cost no goroutine.
// prefetchDepth chunks of readChunk are read ahead at most.
const (
	prefetchAfter = scanMin
	prefetchDepth = 4
)

type chunk struct {
	b   []byte
	err error
}

// prefetcher reads a body ahead into a bounded queue of chunks.
type prefetcher struct {
	ch   chan chunk
	free chan []byte
	done chan struct{} // closed by Reader.Close
}

func startPrefetch(src io.Reader) *prefetcher {
	p := &prefetcher{ch: make(chan chunk, prefetchDepth), free: make(chan []byte, prefetchDepth+2), done: make(chan struct{})}
	go p.run(src)
	return p
}

func (p *prefetcher) run(src io.Reader) {
	for {
		var b []byte
		select {
		case b = <-p.free:
		default:
			b = make([]byte, readChunk)
		}
		n, err := src.Read(b)
		select {
		case p.ch <- chunk{b[:n], err}:
		case <-p.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// due says how far to scan and how far the bytes may go out now, or
// false to read more first. Each scan advances by at least scanMin (or to
// an event's end), so small reads do not rescan the context each time.
func (r *Reader) due() (scanTo, emitTo int, ok bool) {
	n := len(r.buf)
	switch {
	case r.eof:
		return n, n, true
	case r.o.SSE:
		if i := lastEventEnd(r.buf[r.emitted:]); i > 0 {
			return r.emitted + i, r.emitted + i, true
		}
		if n-r.emitted >= MaxPending {
			return n, n - Overlap, true // one huge event: scanned in windows
		}
		return 0, 0, false
	case r.o.Mode == Warn:
		// Nothing is held back: bytes go out as they come and are
		// scanned (and reported) once scanMin of them are in.
		if n-r.scanned >= scanMin {
			return n, n, true
		}
		return r.scanned, n, n > r.emitted
	default:
		// strip and block hold back Overlap bytes: a match that starts
		// there may end in the next read.
		if n-r.emitted >= 2*Overlap {
			return n, n - Overlap, true
		}
		return 0, 0, false
	}
}

// lastEventEnd is the end of the last complete SSE event in b (after its
// blank line), or 0.
func lastEventEnd(b []byte) int {
	best := 0
	for _, sep := range [][]byte{[]byte("\n\n"), []byte("\r\n\r\n"), []byte("\r\r")} {
		if i := bytes.LastIndex(b, sep); i >= 0 && i+len(sep) > best {
			best = i + len(sep)
		}
	}
	return best
}

// scan looks at buf[from-Overlap:to], from being the first byte not
// scanned before (strip and block rescan what they held back), and acts on
// the findings that reach past from.
func (r *Reader) scan(to int) {
	from := r.scanned
	if r.o.Mode != Warn {
		from = r.emitted
	}
	lo := max(0, from-Overlap)
	if r.o.SSE {
		lo = max(0, from-sseContext)
	}
	win := r.buf[lo:to]
	fresh := r.scanned - lo // bytes before were lexed by an earlier scan
	r.scanned = to
	for _, f := range r.s.scanStream(win, fresh, &r.lex, &r.tails) {
		f.Start, f.End = f.Start+lo, f.End+lo
		for i := range f.Parts {
			f.Parts[i] = [2]int{f.Parts[i][0] + lo, f.Parts[i][1] + lo}
		}
		if f.End <= from {
			continue // seen whole before
		}
		abs := r.off + int64(f.Start)
		if abs <= r.lastRep {
			continue
		}
		r.lastRep = abs
		if r.o.OnFinding != nil {
			r.o.OnFinding(f, abs)
		}
		switch r.o.Mode {
		case Block:
			r.err = &BlockedError{Finding: f}
			return
		case Strip:
			// Only bytes not yet passed on can change.
			for _, p := range partsOf(f) {
				if p[1] > r.emitted {
					overwrite(r.buf[max(p[0], r.emitted):p[1]], f.Rule)
				}
			}
		}
	}
}

// overwrite replaces b with a marker of the same length (spaces when it
// does not fit), so a Content-Length stays true and JSON strings stay
// strings.
func overwrite(b []byte, rule string) {
	mark := "[stripped " + rule + "]"
	if len(mark) > len(b) {
		mark = "[stripped]"
	}
	if len(mark) > len(b) {
		mark = ""
	}
	n := copy(b, mark)
	for i := n; i < len(b); i++ {
		b[i] = ' '
	}
}
