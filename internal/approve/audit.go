package approve

// The audit log: one JSON line per decision in the bottle's state dir.

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// AuditEntry is one line of the state dir's audit.jsonl.
type AuditEntry struct {
	Time            time.Time     `json:"time"`
	Slug            string        `json:"slug"`
	ProposalID      string        `json:"proposal_id"`
	Kind            string        `json:"kind"`
	Justification   string        `json:"justification"`
	Decision        string        `json:"decision"`
	Operator        string        `json:"operator"`
	Notes           string        `json:"notes,omitempty"`
	Applied         string        `json:"applied,omitempty"`
	Changes         []AuditChange `json:"changes,omitempty"`
	Reloaded        []string      `json:"reloaded,omitempty"`
	RestartRequired bool          `json:"restart_required,omitempty"`
	Error           string        `json:"error,omitempty"`
}

// AuditChange is a file's content before and after.
type AuditChange struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// audit appends the decision to the state dir's audit log. Its failure is
// reported, not hidden, but it cannot undo a decision already answered.
func (a *Applier) audit(slug string, p *queue.Proposal, ans *queue.Answer, files []FileChange, reloaded []string, err error) error {
	e := AuditEntry{Time: ans.DecidedAt, Slug: slug, ProposalID: p.ID, Kind: p.Kind, Justification: p.Justification,
		Decision: ans.Decision, Operator: a.operator(), Notes: ans.Notes, Applied: ans.Applied, Reloaded: reloaded, RestartRequired: ans.RestartRequired}
	for _, f := range files {
		e.Changes = append(e.Changes, AuditChange{Path: f.Path, Before: f.Before, After: f.After})
	}
	if err != nil {
		e.Error = err.Error()
	}
	b, _ := json.Marshal(e)
	path := layout.StateDir(a.Paths.StateDir(slug)).AuditLog()
	f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if ferr != nil {
		return fmt.Errorf("proposal %s is answered (%s), but the audit log could not be written: %w", p.ID, ans.Decision, ferr)
	}
	defer f.Close()
	if _, werr := f.Write(append(b, '\n')); werr != nil {
		return fmt.Errorf("proposal %s is answered (%s), but the audit log could not be written: %w", p.ID, ans.Decision, werr)
	}
	return nil
}
