package sidecarinit

import (
	"bufio"
	"io"
	"sync"
)

// maxLine bounds one output line; a longer line is cut into several lines,
// each with the prefix, so a daemon cannot make the init buffer without end.
const maxLine = 64 << 10

// lockedWriter serialises whole lines from many daemons onto one stream so
// lines never interleave mid-way.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) writeLine(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
}

// copyPrefixed reads r (a pipe the init owns; never an exec.Cmd copy
// goroutine, whose lifetime is tied to cmd.Wait) until EOF and writes every
// line to w as "[prefix] line\n". A last line with no newline gets one.
func copyPrefixed(w *lockedWriter, prefix string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLine)
	p := []byte("[" + prefix + "] ")
	buf := make([]byte, 0, 512)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			buf = append(buf[:0], p...)
			buf = append(buf, line...)
			if buf[len(buf)-1] != '\n' {
				buf = append(buf, '\n')
			}
			w.writeLine(buf)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// prefixWriter adapts copyPrefixed's format for the init's own slog output:
// each Write from slog's JSON handler is one complete line.
type prefixWriter struct {
	w      *lockedWriter
	prefix []byte
}

func (p prefixWriter) Write(b []byte) (int, error) {
	line := make([]byte, 0, len(p.prefix)+len(b)+1)
	line = append(append(line, p.prefix...), b...)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		line = append(line, '\n')
	}
	p.w.writeLine(line)
	return len(b), nil
}
