package respscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// docsHTML is about 1 MB of documentation HTML of the shape pipelock's
// BenchmarkResponseDownload serves: prose, code, comments, links and the
// words the rules start from, none of it an attack.
func docsHTML() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	filler := []string{
		"The build now caches module downloads between runs.",
		"Configuration lives in config.yaml next to the binary.",
		"Use the --verbose flag to see every request the client sends.",
		"Our team reviewed the design with the maintainers last week.",
		"Results are sorted by date, newest first, and paginated.",
		"Install the package with your system's package manager.",
		"The API returns JSON objects with an id and a name.",
		"See the reference section for every option and its default.",
		"This release drops support for the legacy configuration format.",
		"Questions are welcome on the forum or in the issue tracker.",
	}
	extra := []string{
		"Follow the instructions in the install guide; the system service starts on boot.",
		"The model field names the language model the agent calls; developers set it in agent.yaml.",
		"Set ignore_errors to skip a failed step; previous versions ignored it.",
		`<a href="https://example.com/docs/config?tab=yaml#model">configuration reference</a> and <code>run --dry-run</code>.`,
		"<pre><code>func main() {\n\tif err := run(os.Args); err != nil {\n\t\tlog.Fatal(err)\n\t}\n}</code></pre>",
		"The assistant panel shows the admin settings; see the developer notes for the operator role.",
	}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>Docs</title><!-- Google Tag Manager --></head><body>\n")
	for b.Len() < 1_000_000 {
		fmt.Fprintf(&b, "<h2>Section %d</h2>\n<p>%s %s %s %s</p>\n<p>%s</p>\n", r.IntN(1000), pick(filler), pick(filler), pick(extra), pick(filler), pick(extra))
	}
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}

// BenchmarkScanDocs scans 64 KiB windows of docsHTML (what a Reader
// hands Scan on a long text download).
func BenchmarkScanDocs(b *testing.B) { benchWindows(b, docsHTML()) }

// BenchmarkReaderDocs streams 8 MB of docsHTML through a Reader in each
// mode (the window, overlap and hold-back costs on top of Scan).
func BenchmarkReaderDocs(b *testing.B) {
	s := mustNew(b)
	page := bytes.Repeat(docsHTML(), 8)
	for _, m := range []Mode{Warn, Strip, Block} {
		b.Run(string(m), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				r := s.NewReader(io.NopCloser(bytes.NewReader(page)), Options{Mode: m})
				n, err := io.Copy(io.Discard, r)
				if err != nil || n != int64(len(page)) {
					b.Fatalf("read %d of %d: %v", n, len(page), err)
				}
			}
		})
	}
}

// goroot is the Go tree running the benchmark: its documentation and
// sources are real text we did not write.
func goroot(b testing.TB) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// benchWindows scans page in 64 KiB windows, after checking none is
// flagged.
func benchWindows(b *testing.B, page []byte) {
	s := mustNew(b)
	var wins [][]byte
	for i := 0; i+scanMin <= len(page); i += scanMin {
		wins = append(wins, page[i:i+scanMin])
	}
	for _, w := range wins {
		if f := s.Scan(w); len(f) != 0 {
			b.Fatalf("flagged: %v", f)
		}
	}
	b.SetBytes(scanMin)
	i := 0
	for b.Loop() {
		s.Scan(wins[i%len(wins)])
		i++
	}
}

// BenchmarkScanGoSpec: the Go specification's HTML (entities, code,
// non-ASCII), so the decoded view is built for every window.
func BenchmarkScanGoSpec(b *testing.B) {
	p, err := os.ReadFile(filepath.Join(goroot(b), "doc", "go_spec.html"))
	if err != nil {
		b.Fatal(err)
	}
	benchWindows(b, p)
}

// BenchmarkScanGoSource: net/http's Go sources, as a source download
// (a raw file, a tarball listing) reaches the agent.
func BenchmarkScanGoSource(b *testing.B) {
	var p []byte
	err := filepath.WalkDir(filepath.Join(goroot(b), "src", "net", "http"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".go" {
			x, err := os.ReadFile(path)
			p = append(p, x...)
			return err
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	benchWindows(b, p)
}

// issuesJSON is about 8 MB of an issue tracker's JSON API answer: a list
// of records whose bodies are docsHTML's text, so every record's "body"
// joins the one before it (joined.go).
func issuesJSON() []byte {
	docs := docsHTML()
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := 0; b.Len() < 8_000_000; i++ {
		k := i * 700 % (len(docs) - 700)
		body, _ := json.Marshal(string(docs[k : k+700]))
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id":%d,"number":%d,"title":"Release notes %d","state":"open","user":{"login":"octo","id":583231},"labels":[{"name":"docs"},{"name":"bug"}],"body":%s}`, 1000+i, i, i, body)
	}
	b.WriteString("\n]\n")
	return b.Bytes()
}

// BenchmarkReaderJSON streams issuesJSON through a warn-mode Reader:
// the plain views and the joined one.
func BenchmarkReaderJSON(b *testing.B) {
	s := mustNew(b)
	page := issuesJSON()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		var found []Finding
		r := s.NewReader(io.NopCloser(bytes.NewReader(page)), Options{Mode: Warn, OnFinding: func(f Finding, _ int64) { found = append(found, f) }})
		n, err := io.Copy(io.Discard, r)
		if err != nil || n != int64(len(page)) || len(found) != 0 {
			b.Fatalf("read %d of %d: %v; flagged %v", n, len(page), err, found)
		}
	}
}
