package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dashboard"
	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/images"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// TestCapabilityApprovalTearsDownDocker: approving a new Dockerfile from
// the dashboard stops the bottle through the one teardown, like stop: the
// containers are gone, compose.log is saved, and no key material is left in
// the state dir (the dashboard once had its own compose down, which kept
// the keys and ignored the detected Compose tool).
func TestCapabilityApprovalTearsDownDocker(t *testing.T) {
	ctx := dockerSetup(t, 10*time.Minute)
	home := bottleHome(t, "cap", "image: "+images.AgentTest+"\nsupervise: true\negress:\n  allowlist: [allowed.invalid]\n", "You are a probe.\n")
	t.Setenv("CLAUDE_BOTTLE_SIDECAR_BUNDLE", "1")
	slug := fmt.Sprintf("cap-t%d", time.Now().UnixNano()%100000)
	project := layout.ProjectName(slug)
	t.Cleanup(func() { dockertest.CleanupProject(t, project) })

	if _, errOut, err := run(t, "start", "--detach", "cap", "--slug", slug); err != nil {
		t.Fatalf("start --detach: %v\n%s", err, errOut)
	}
	paths := layout.Paths{Root: home}
	sd := layout.StateDir(paths.StateDir(slug))
	if keys := keyMaterial(t, string(sd)); len(keys) == 0 {
		t.Fatal("a running bottle has no key material in its state dir: the check below proves nothing")
	}

	p := &queue.Proposal{Kind: queue.KindCapability, Slug: slug, CreatedAt: time.Now().UTC(),
		Dockerfile: "FROM " + images.AgentTest + "\nRUN true\n", Justification: "a tool is missing"}
	p.ID = queue.NewID(p.CreatedAt)
	if err := queue.WriteProposal(paths.QueueDir(slug), p); err != nil {
		t.Fatal(err)
	}
	b := dashboard.NewFileBackend(paths)
	items, probs, err := b.Load()
	if err != nil || len(probs) > 0 || len(items) != 1 {
		t.Fatalf("dashboard sees %d items, problems %v, err %v", len(items), probs, err)
	}
	msg, err := b.Approve(ctx, items[0])
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if !strings.Contains(msg, "RESTART REQUIRED") {
		t.Errorf("approval message %q does not say a restart is needed", msg)
	}

	rs, err := engine.ListResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Project == project {
			t.Errorf("left behind after the approval: %s %s", r.Kind, r.Name)
		}
	}
	if fi, err := os.Stat(sd.ComposeLog()); err != nil || fi.Size() == 0 {
		t.Errorf("compose.log not saved by the approval's teardown: %v", err)
	}
	if keys := keyMaterial(t, string(sd)); len(keys) > 0 {
		t.Errorf("key material left on disk after the approval: %s", strings.Join(keys, ", "))
	}
}

// keyMaterial lists the files under dir that hold a private key.
func keyMaterial(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "PRIVATE KEY") {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
