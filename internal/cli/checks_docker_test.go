package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
)

// TestDryRunMissingImageDocker: with the engine answering, a dry run of a
// bottle whose image is not on the engine fails before anything is
// created, naming the bottle file, the image and what to do (start would
// trip on it: images are never pulled).
func TestDryRunMissingImageDocker(t *testing.T) {
	dockertest.Require(t)
	home := setupHome(t)
	const img = "claude-bottle-no-such-image:never"
	bottle := filepath.Join(home, "bottles", "noimage.md")
	if err := os.WriteFile(bottle, []byte("---\nimage: "+img+"\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	agent := filepath.Join(home, "agents", "noimage.md")
	if err := os.WriteFile(agent, []byte("---\nbottle: noimage\n---\nYou wait.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, "start", "--dry-run", "noimage")
	if err == nil {
		t.Fatal("dry run passed with an image the engine does not have")
	}
	for _, want := range []string{"noimage.md", img, "is not on this engine", "image:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
}
