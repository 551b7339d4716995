package dlp

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestZZCalibrateURLRules(t *testing.T) {
	re := regexp.MustCompile(`https?://[^\s"'<>()\[\]{}\\^` + "`" + `|]+`)
	nURL, nFiles, blobs, creds := 0, 0, 0, 0
	seen := map[string]bool{}
	for _, root := range strings.Split(os.Getenv("ZZ_ROOTS"), ":") {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			fi, _ := d.Info()
			if fi == nil || fi.Size() > 4<<20 {
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
				b, _ = io.ReadAll(zr)
			}
			if bytes.IndexByte(b[:min(len(b), 512)], 0) >= 0 {
				return nil
			}
			nFiles++
			if v := checkURLCredentials(b); v != nil {
				creds++
				i := bytes.Index(b, []byte("://"))
				_ = i
				t.Logf("CRED %s: %s", p, v.Reason)
			}
			for _, m := range re.FindAll(b, -1) {
				s := string(m)
				if seen[s] {
					continue
				}
				seen[s] = true
				nURL++
				u, err := url.Parse(s)
				if err != nil {
					continue
				}
				if v := checkURLBlob(u); v != nil {
					blobs++
					t.Logf("BLOB %s: %s | %.200s", p, v.Reason, s)
				}
			}
			return nil
		})
	}
	t.Logf("%d files, %d distinct URLs, %d blob flags, %d credential flags", nFiles, nURL, blobs, creds)
}
