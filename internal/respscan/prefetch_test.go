package respscan

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// stallReader hands out its data, then blocks until release is closed
// (or Close is called), like an upstream that has sent part of a body.
type stallReader struct {
	data    *bytes.Reader
	release chan struct{}
	closed  chan struct{}
}

func newStall(b []byte) *stallReader {
	return &stallReader{data: bytes.NewReader(b), release: make(chan struct{}), closed: make(chan struct{})}
}

func (s *stallReader) Read(p []byte) (int, error) {
	if n, _ := s.data.Read(p[:min(len(p), 16<<10)]); n > 0 {
		return n, nil
	}
	select {
	case <-s.release:
		return 0, io.EOF
	case <-s.closed:
		return 0, errors.New("closed")
	}
}

func (s *stallReader) Close() error { close(s.closed); return nil }

// readAtLeast reads r until n bytes are in, failing after 10 s (a Reader
// that waits for more of the body than it needs would hang here).
func readAtLeast(t *testing.T, r io.Reader, n int, what string) []byte {
	t.Helper()
	done := make(chan []byte)
	go func() {
		var got []byte
		buf := make([]byte, 8<<10)
		for len(got) < n {
			k, err := r.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil {
				break
			}
		}
		done <- got
	}()
	select {
	case got := <-done:
		return got
	case <-time.After(10 * time.Second):
		t.Fatalf("the Reader held back the body: fewer than %d bytes after 10 s (%s)", n, what)
		return nil
	}
}

// TestPrefetchStall: past prefetchAfter, strip and block still pass on
// what the upstream has sent when it stalls, rather than waiting to fill
// a scan window: all but at most 2*Overlap (due: the held-back Overlap
// and a tail too short to scan on its own).
func TestPrefetchStall(t *testing.T) {
	s := mustNew(t)
	body := page(prefetchAfter+200_000, 0)[len(attack):] // clean
	for _, m := range []Mode{Strip, Block, Warn} {
		src := newStall(body)
		r := s.NewReader(src, Options{Mode: m})
		want := len(body) - 2*Overlap
		if m == Warn {
			want = len(body)
		}
		got := readAtLeast(t, r, want, string(m))
		if !bytes.Equal(got, body[:len(got)]) {
			t.Fatalf("%s: the body changed", m)
		}
		close(src.release)
		rest, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(append(got, rest...), body) {
			t.Fatalf("%s: after the stall: %d+%d bytes of %d, %v", m, len(got), len(rest), len(body), err)
		}
		r.Close()
	}
}

// TestPrefetchClose: Close ends the read-ahead's goroutine whether it
// waits on the upstream (stalled) or on a consumer that stopped reading
// (its queue full), and a Read then fails instead of hanging.
func TestPrefetchClose(t *testing.T) {
	s := mustNew(t)
	for _, tc := range []struct {
		name       string
		body, read int
	}{
		{"upstream stalled", prefetchAfter + 100_000, prefetchAfter + 100_000 - 2*Overlap},
		{"consumer stopped", 4 << 20, prefetchAfter + 1000},
	} {
		before := runtime.NumGoroutine()
		src := newStall(page(tc.body, 0)[len(attack):])
		r := s.NewReader(src, Options{Mode: Block})
		readAtLeast(t, r, tc.read, tc.name)
		if r.pf == nil {
			t.Fatalf("%s: no read-ahead started past prefetchAfter", tc.name)
		}
		time.Sleep(20 * time.Millisecond) // let the read-ahead fill its queue
		r.Close()
		for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d goroutines 10 s after Close, %d before the Reader", tc.name, runtime.NumGoroutine(), before)
			}
		}
		if _, err := io.ReadAll(r); err == nil {
			t.Fatalf("%s: Read after Close succeeded", tc.name)
		}
	}
}
