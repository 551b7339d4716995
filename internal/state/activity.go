package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// Session is how claude is run in a bottle: written at start, read by
// attach (so it re-attaches with the flags the bottle started with).
type Session struct {
	// User runs claude; Dir is its working directory.
	User string `json:"user"`
	Dir  string `json:"dir"`
	// Flags go before -p or --continue (claudecode.Invocation.Flags).
	Flags []string `json:"flags"`
}

// WriteSession stores s in the state dir.
func WriteSession(dir layout.StateDir, s *Session) error {
	return fileio.WriteJSON(dir.Session(), s, 0o644)
}

// ReadSession loads a bottle's session.
func ReadSession(dir layout.StateDir) (*Session, error) {
	data, err := os.ReadFile(dir.Session())
	if err != nil {
		return nil, err
	}
	var s Session
	if err := fileio.DecodeJSON(dir.Session(), data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// What a bottle's agent is doing.
const (
	TaskRunning = "task running" // claude -p (run)
	Attached    = "attached"     // an interactive claude (start, attach)
	Exited      = "exited"       // the last claude exited with ExitCode
)

// Activity is the last thing claude-bottle saw the agent do.
type Activity struct {
	State    string    `json:"state"`
	ExitCode int       `json:"exit_code"`
	Since    time.Time `json:"since"`
}

// WriteActivity records what the agent does now.
func WriteActivity(dir layout.StateDir, state string, code int) error {
	return fileio.WriteJSON(dir.Activity(), &Activity{State: state, ExitCode: code, Since: time.Now().UTC()}, 0o644)
}

// ReadActivity loads it; a bottle that has run nothing has none (nil).
func ReadActivity(dir layout.StateDir) (*Activity, error) {
	data, err := os.ReadFile(dir.Activity())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a Activity
	if err := fileio.DecodeJSON(dir.Activity(), data, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Describe says it for `list`: what runs now when the bottle is up, and
// how the last task ended either way.
func (a *Activity) Describe(running bool) string {
	switch {
	case a == nil && running:
		return "idle"
	case a == nil:
		return "-"
	case a.State == Exited:
		return fmt.Sprintf("exited with code %d", a.ExitCode)
	case running:
		return a.State
	default:
		// It stopped while claude ran (stop, a crash): no exit code.
		return "stopped during: " + a.State
	}
}
