package dlp

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestURLRulesOnRealText runs dlp.url-credentials over every text file of
// the Go tree running the tests, and dlp.url-blob over every distinct URL
// in them: text the rules were not written against (docs, tests of URL
// parsers full of user:password@ examples). Any finding fails.
// DLP_URL_REALTEXT (colon-separated roots; .gz files are read unpacked)
// widens the run and reports instead: docs/DLP.md gives the figures for
// the module cache, /usr/share/doc and the man pages.
func TestURLRulesOnRealText(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	roots := []string{strings.TrimSpace(string(out))}
	report := t.Errorf
	if extra := os.Getenv("DLP_URL_REALTEXT"); extra != "" {
		roots = append(roots, strings.Split(extra, ":")...)
		report = t.Logf
	}
	urlRE := regexp.MustCompile(`https?://[^\s"'<>()\[\]{}\\^` + "`" + `|]+`)
	seen := map[string]bool{}
	files, blobs, creds := 0, 0, 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // unreadable parts of a tree are not the rules' concern
			}
			b := readText(p, d)
			if b == nil {
				return nil
			}
			files++
			if v := checkURLCredentials(b); v != nil {
				creds++
				report("%s: %s", p, v.Reason)
			}
			for _, m := range urlRE.FindAll(b, -1) {
				if seen[string(m)] {
					continue
				}
				seen[string(m)] = true
				if u, err := url.Parse(string(m)); err == nil {
					if v := checkURLBlob(u); v != nil {
						blobs++
						report("%s: %s in %.120s", p, v.Reason, m)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d text files, %d distinct URLs: %d url-blob and %d url-credentials findings", files, len(seen), blobs, creds)
}

// readText returns the file's text (unpacked when it ends in .gz), or nil
// for a binary or large file.
func readText(p string, d fs.DirEntry) []byte {
	if fi, err := d.Info(); err != nil || fi.Size() > 4<<20 {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		if b, err = io.ReadAll(io.LimitReader(zr, 16<<20)); err != nil {
			return nil
		}
	}
	if bytes.IndexByte(b[:min(len(b), 512)], 0) >= 0 {
		return nil
	}
	return b
}
