package respscan

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealTextLookAlikes streams every text file of the Go tree running
// the test (sources, tests, docs, API lists: 14,000 files, 120 MB of
// text nobody wrote for this scanner, with its own tests of parsers,
// templates and HTML) through a Reader, as pipelock would relay it. None
// may be flagged. The generated look-alikes of the corpus gate were
// written alongside the rules; this set was not. RESPSCAN_REALTEXT adds
// more trees (colon-separated; .gz files are read decompressed), which is
// how the wider figure in docs/DLP.md was taken.
func TestRealTextLookAlikes(t *testing.T) {
	roots := []string{goroot(t)}
	if extra := os.Getenv("RESPSCAN_REALTEXT"); extra != "" {
		roots = append(roots, strings.Split(extra, ":")...)
	}
	s := mustNew(t)
	var files, size int
	var flagged []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := readText(path)
			if err != nil || b == nil {
				return err
			}
			files++
			size += len(b)
			r := s.NewReader(io.NopCloser(bytes.NewReader(b)), Options{Mode: Warn, OnFinding: func(f Finding, off int64) {
				flagged = append(flagged, path+": "+f.Rule+" "+f.Excerpt)
			}})
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", root, err)
		}
	}
	if files < 1000 {
		t.Fatalf("only %d text files under %v: not the Go tree", files, roots)
	}
	t.Logf("%d text files, %.1f MB, %d flagged", files, float64(size)/1e6, len(flagged))
	for _, f := range flagged {
		t.Errorf("flagged %s", f)
	}
}

// readText reads a file as pipelock would see it served: nil for a file
// that does not start like text (a NUL in its first 512 bytes: testdata
// binaries, images), .gz files decompressed, at most 16 MiB.
func readText(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil // unreadable (a dangling link, a socket): not text
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		g, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil
		}
		r = g
	}
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil && strings.HasSuffix(path, ".gz") {
		return nil, nil // a gzip test vector that is corrupt on purpose
	}
	if err != nil || len(b) == 0 || bytes.IndexByte(b[:min(len(b), 512)], 0) >= 0 {
		return nil, err
	}
	return b, nil
}
