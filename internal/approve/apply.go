package approve

// Applying a planned approval (atomically, rolled back if a reload fails),
// rejecting, answering the agent, and the per-bottle lock.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// Apply performs a planned approval. Files are written atomically; if a
// reload signal fails, the files are put back (and the daemons signalled
// again) so that nothing is half applied, and the proposal stays pending.
func (a *Applier) Apply(ctx context.Context, ch *Change) error {
	dir := layout.StateDir(a.Paths.StateDir(ch.Slug))
	unlock, err := lockBottle(dir)
	if err != nil {
		return err
	}
	defer unlock()
	// Two dashboards, or a file changed since the diff was shown: apply
	// only what the operator saw.
	if _, err := queue.ReadAnswer(a.Paths.QueueDir(ch.Slug), ch.Proposal.ID); err == nil {
		return fmt.Errorf("proposal %s was already answered (another dashboard?)", ch.Proposal.ID)
	}
	for _, f := range ch.Files {
		cur, existed, err := readFile(f.Path)
		if err != nil {
			return err
		}
		if cur != f.Before || existed != f.existed {
			return fmt.Errorf("%s changed since the diff was shown; nothing applied, review the proposal again", f.Path)
		}
	}
	if ch.TearDown {
		// Before anything: cleanup must not take the state dir away
		// while the bottle is down.
		if err := os.WriteFile(dir.Preserve(), []byte("kept for a rebuild after proposal "+ch.Proposal.ID+"\n"), 0o644); err != nil {
			return err
		}
	}
	var written []FileChange
	rollback := func() {
		for i := len(written) - 1; i >= 0; i-- {
			f := written[i]
			if f.existed {
				_ = fileio.WriteFileAtomic(f.Path, []byte(f.Before), f.Mode)
			} else {
				_ = os.Remove(f.Path)
			}
		}
	}
	for _, f := range ch.Files {
		if err := fileio.WriteFileAtomic(f.Path, []byte(f.After), f.Mode); err != nil {
			rollback()
			return fmt.Errorf("writing %s: %w (nothing applied)", f.Path, err)
		}
		written = append(written, f)
	}
	var signalled []string
	for _, c := range ch.Reload {
		if err := a.Signaller.Signal(ctx, c, "HUP"); err != nil {
			rollback()
			for _, s := range signalled {
				_ = a.Signaller.Signal(ctx, s, "HUP")
			}
			return fmt.Errorf("reloading %s: %w (config restored, nothing applied; is the bottle running?)", c, err)
		}
		signalled = append(signalled, c)
	}
	ans := &queue.Answer{ID: ch.Proposal.ID, Decision: ch.Decision(), Notes: ch.Notes, Applied: ch.Applied, RestartRequired: ch.RestartRequired, DecidedAt: a.now()}
	var tdErr error
	if ch.TearDown {
		// The answer first, so it is on disk for the agent after resume.
		if err := a.answer(ch.Slug, ans); err != nil {
			return err
		}
		md, err := state.Read(dir)
		switch {
		case err != nil:
			tdErr = err
		case a.TearDowner == nil:
			tdErr = errors.New("this Applier has no TearDowner")
		default:
			tdErr = a.TearDowner.Teardown(ctx, md.Project, dir)
		}
		auErr := a.audit(ch.Slug, ch.Proposal, ans, ch.Files, signalled, tdErr)
		if tdErr != nil {
			return fmt.Errorf("the Dockerfile is written, but stopping the bottle failed: %w; run claude-bottle stop %s, then claude-bottle resume %s", tdErr, ch.Slug, ch.Slug)
		}
		return auErr
	}
	if err := a.answer(ch.Slug, ans); err != nil {
		return err
	}
	return a.audit(ch.Slug, ch.Proposal, ans, ch.Files, signalled, nil)
}

// Reject answers p with the operator's reason; nothing else changes.
func (a *Applier) Reject(slug string, p *queue.Proposal, reason string) error {
	if unlock, err := lockBottle(layout.StateDir(a.Paths.StateDir(slug))); err == nil {
		defer unlock()
	} // a bottle whose state dir is gone can still have its proposals rejected
	ans := &queue.Answer{ID: p.ID, Decision: queue.Rejected, Notes: strings.TrimSpace(reason), DecidedAt: a.now()}
	if err := a.answer(slug, ans); err != nil {
		return err
	}
	return a.audit(slug, p, ans, nil, nil, nil)
}
func (a *Applier) answer(slug string, ans *queue.Answer) error {
	if err := queue.WriteAnswer(a.Paths.QueueDir(slug), ans); err != nil {
		return fmt.Errorf("answering proposal %s: %w", ans.ID, err)
	}
	return nil
}

// lockBottle serialises decisions on one bottle (several dashboards may
// run): an exclusive flock on <state dir>/.approve.lock.
func lockBottle(dir layout.StateDir) (func(), error) {
	f, err := os.OpenFile(filepath.Join(string(dir), ".approve.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking bottle state dir %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
