// Package toolcall says a failed call of an external tool (docker, a
// Compose tool, kubectl) for a user: the command as a person would type
// it, the tool's own message and its exit status. engine and kubectl
// translate their tools' failures into this one shape, so a command
// prints, unwraps and tests them the same way.
package toolcall

import (
	"context"
	"errors"
	"os/exec"
	"strings"
)

// Failure is a failed tool call.
type Failure struct {
	Command  string // "docker inspect claude-bottle-demo-abc12"
	Msg      string // the tool's message, trimmed; may be empty
	ExitCode int    // -1 when the tool did not run or was killed
	// Unreachable: the message says the tool's server (the Docker Engine,
	// the API server) did not answer. The error then wraps Down.
	Unreachable bool
	// Down is the tool's "does not answer" sentinel (engine.ErrUnreachable,
	// kubectl.ErrUnreachable), said in place of the tool's message.
	Down error
	// Hint follows the tool's message: what to do about it.
	Hint string
	Err  error // the underlying error (exec, context)
}

// New is the Failure of a call that failed with err: the command, the exit
// status, and, when ctx was cancelled or timed out (the tool was killed),
// the context's cause instead of "signal: killed". cancelled reports the
// latter: the output then says nothing worth reading.
func New(ctx context.Context, command string, err error) (e *Failure, cancelled bool) {
	e = &Failure{Command: command, ExitCode: -1, Err: err}
	if ctx != nil && ctx.Err() != nil {
		e.Err = context.Cause(ctx)
		return e, true
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		e.ExitCode = ee.ExitCode()
	}
	return e, false
}

func (e *Failure) Error() string {
	var b strings.Builder
	b.WriteString(e.Command)
	b.WriteString(": ")
	switch {
	case e.Unreachable && e.Down != nil:
		b.WriteString(e.Down.Error())
		if e.Msg != "" {
			b.WriteString(": " + FirstLine(e.Msg))
		}
	case e.Msg != "":
		b.WriteString(e.Msg)
		if e.Hint != "" {
			b.WriteString(" (" + e.Hint + ")")
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap gives Down when the server did not answer, and the underlying
// error (an *exec.ExitError, a context error).
func (e *Failure) Unwrap() []error {
	var out []error
	if e.Unreachable && e.Down != nil {
		out = append(out, e.Down)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Contains reports whether out holds any of the messages.
func Contains(out string, messages ...string) bool {
	for _, s := range messages {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// LastLines is s's last n lines, trimmed.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// FirstLine is s up to its first newline.
func FirstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
