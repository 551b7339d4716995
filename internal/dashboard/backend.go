package dashboard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/approve"
	"github.com/claude-bottle/claude-bottle/internal/kubelaunch"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// Item is one pending proposal with what approving it would change.
type Item struct {
	Entry    queue.Entry
	Diff     string   // of plain approval; empty when it cannot be planned
	Warnings []string // e.g. RESTART REQUIRED
	// PlanErr: plain approval is not possible (e.g. a credential must be
	// chosen in the editor); shown instead of the diff.
	PlanErr string
}

// Key identifies an item across rescans.
func (it Item) Key() string { return it.Entry.Slug + "/" + it.Entry.Proposal.ID }

// Backend does the dashboard's I/O. The model only calls it from commands,
// so Update and View stay pure.
type Backend interface {
	Load() ([]Item, []queue.Problem, error)
	Approve(ctx context.Context, it Item) (string, error)
	// EditFile writes the edit document for it and returns its path.
	EditFile(it Item) (string, error)
	EditorCmd(path string) *exec.Cmd
	ApplyEdit(ctx context.Context, it Item, path string) (string, error)
	Reject(it Item, reason string) (string, error)
}

// FileBackend is the real backend over a claude-bottle home.
type FileBackend struct {
	Paths   layout.Paths
	Applier *approve.Applier
	Editor  string // $EDITOR; "" means vi
	TempDir string // for edit documents; "" means os.TempDir()
	// SyncKube mirrors the queues of bottles on Kubernetes at each Load;
	// SyncErr is the last sync's failure (a cluster that does not answer
	// hides only its own bottles' new proposals).
	SyncKube bool
	SyncErr  error
}

// NewFileBackend signals through the engine (or, for a bottle on
// Kubernetes, through its ConfigMaps and kubectl exec) and stops a bottle
// with the launcher's one teardown (logs saved, keys removed). The queues
// of bottles on Kubernetes are mirrored from their sidecars Pods at each
// Load.
func NewFileBackend(paths layout.Paths) *FileBackend {
	a := approve.New(paths, launch.Teardowner{Paths: paths})
	a.Signaller = kubelaunch.Signaller{Paths: paths}
	return &FileBackend{Paths: paths, Applier: a, Editor: os.Getenv("EDITOR"), SyncKube: true}
}

// Load scans every bottle's queue and plans each pending proposal.
func (b *FileBackend) Load() ([]Item, []queue.Problem, error) {
	if b.SyncKube {
		// Answers written since the last Load reach their Pods here too.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		b.SyncErr = kubelaunch.SyncAll(ctx, b.Paths)
		cancel()
	}
	entries, probs, err := queue.Pending(b.Paths.QueueRoot())
	if err != nil {
		return nil, nil, fmt.Errorf("scanning %s: %w", b.Paths.QueueRoot(), err)
	}
	if b.SyncErr != nil {
		probs = append(probs, queue.Problem{Path: b.Paths.QueueRoot(), Err: "the queues of bottles on Kubernetes were not all read: " + b.SyncErr.Error()})
	}
	items := make([]Item, 0, len(entries))
	for _, e := range entries {
		it := Item{Entry: e}
		ch, err := b.Applier.Plan(e.Slug, e.Proposal, nil)
		if err != nil {
			it.PlanErr = err.Error()
		} else {
			it.Diff = ch.Diff()
			it.Warnings = ch.Warnings
		}
		items = append(items, it)
	}
	return items, probs, nil
}

// Approve applies the proposal as it stands.
func (b *FileBackend) Approve(ctx context.Context, it Item) (string, error) {
	ch, err := b.Applier.Plan(it.Entry.Slug, it.Entry.Proposal, nil)
	if err != nil {
		return "", err
	}
	if err := b.Applier.Apply(ctx, ch); err != nil {
		return "", err
	}
	return summary("approved", it, ch), nil
}

func summary(verb string, it Item, ch *approve.Change) string {
	s := fmt.Sprintf("%s %s (%s): %s", verb, it.Entry.Proposal.ID, it.Entry.Slug, ch.Applied)
	if ch.RestartRequired {
		s += " — RESTART REQUIRED"
	}
	return s
}

// EditFile writes the edit document.
func (b *FileBackend) EditFile(it Item) (string, error) {
	doc, err := b.Applier.EditDocument(it.Entry.Slug, it.Entry.Proposal)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(b.TempDir, "claude-bottle-edit-")
	if err != nil {
		return "", err
	}
	name := it.Entry.Proposal.ID + ".json"
	if it.Entry.Proposal.Kind == queue.KindCapability {
		name = "Dockerfile"
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// EditorCmd runs $EDITOR on path through the shell, so EDITOR may carry
// arguments ("code -w").
func (b *FileBackend) EditorCmd(path string) *exec.Cmd {
	ed := strings.TrimSpace(b.Editor)
	if ed == "" {
		ed = "vi"
	}
	return exec.Command("/bin/sh", "-c", ed+` "$1"`, "editor", path)
}

// ApplyEdit parses the edited document and applies it.
func (b *FileBackend) ApplyEdit(ctx context.Context, it Item, path string) (string, error) {
	defer os.RemoveAll(filepath.Dir(path))
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	e, err := approve.ParseEdit(it.Entry.Proposal.Kind, path, data)
	if errors.Is(err, approve.ErrCancelled) {
		return "edit cancelled: " + it.Entry.Proposal.ID + " is still pending", nil
	}
	if err != nil {
		return "", err
	}
	ch, err := b.Applier.Plan(it.Entry.Slug, it.Entry.Proposal, e)
	if err != nil {
		return "", err
	}
	if err := b.Applier.Apply(ctx, ch); err != nil {
		return "", err
	}
	return summary(ch.Decision(), it, ch), nil
}

// Reject answers the proposal with reason.
func (b *FileBackend) Reject(it Item, reason string) (string, error) {
	if err := b.Applier.Reject(it.Entry.Slug, it.Entry.Proposal, reason); err != nil {
		return "", err
	}
	return fmt.Sprintf("rejected %s (%s)", it.Entry.Proposal.ID, it.Entry.Slug), nil
}

// applyTimeout bounds one approval (docker kill, compose down).
const applyTimeout = 2 * time.Minute
