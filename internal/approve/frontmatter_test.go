package approve

import (
	"strings"
	"testing"
)

// TestFrontmatterAsManifestReadsIt: approve finds the frontmatter exactly
// where the manifest does (it once refused a "..." closing line the
// manifest accepts), and adds the key without touching any other byte.
func TestFrontmatterAsManifestReadsIt(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dashes", "---\nimage: x\n---\nbody\n", "---\nimage: x\ndockerfile: ./d.Dockerfile\n---\nbody\n"},
		{"dots", "---\nimage: x\n...\nbody\n", "---\nimage: x\ndockerfile: ./d.Dockerfile\n...\nbody\n"},
		{"crlf and bom", "\ufeff---\r\nimage: x\r\n---\r\nbody\r\n", "\ufeff---\r\nimage: x\r\ndockerfile: ./d.Dockerfile\n---\r\nbody\r\n"},
		{"empty", "---\n---\n", "---\ndockerfile: ./d.Dockerfile\n---\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := insertFrontmatterKey("b.md", []byte(tc.in), "dockerfile", "./d.Dockerfile")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Fatalf("got %q\nwant %q", out, tc.want)
			}
		})
	}
	// A closing line the manifest does not accept is not one here either.
	if _, err := ParseBottleFrontmatter("b.md", []byte("---\nimage: x\n--- \nbody\n")); err == nil || !strings.Contains(err.Error(), "b.md") {
		t.Fatalf("a \"--- \" closing line was accepted: %v", err)
	}
}
