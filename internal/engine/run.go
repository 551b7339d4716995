package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/toolcall"
)

// ErrUnreachable is what a failed call wraps when the engine did not answer
// at all: the daemon is down, the socket is missing, or this user may not
// use it. errors.Is(err, ErrUnreachable) lets a command say so in one line.
var ErrUnreachable = errors.New("the Docker Engine does not answer (is it running, and may this user use it?)")

// Error is a failed docker or Compose tool call, said for a user: the
// command as a person would type it (Go templates left out), the tool's own
// message (a Python traceback cut to its last line), and its exit status.
// It is the shape kubectl's failures take too (toolcall).
type Error = toolcall.Failure

// Explain turns a failed call of program with args and its captured output
// into an *Error. It is the one place where docker's and the Compose tools'
// failures are translated; composecli uses it too.
func Explain(ctx context.Context, program string, args []string, output string, err error) error {
	if err == nil {
		return nil
	}
	e, cancelled := toolcall.New(ctx, Describe(program, args), err)
	if cancelled {
		return e
	}
	e.Msg = cleanOutput(output)
	e.Unreachable = unreachable(output)
	e.Down = ErrUnreachable
	return e
}

// Describe renders a call as a person would type it, without Go templates
// (--format values), which mean nothing to a user reading an error.
func Describe(program string, args []string) string {
	parts := []string{program}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--format" || a == "-f") && i+1 < len(args) && strings.Contains(args[i+1], "{{") {
			i++
			continue
		}
		if strings.HasPrefix(a, "--format=") {
			continue
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// unreachable recognises the messages of the docker CLI, Compose v2 and
// Python docker-compose 1.x for an engine that did not answer.
func unreachable(out string) bool {
	return toolcall.Contains(out,
		"Cannot connect to the Docker daemon",
		"Is the docker daemon running",
		"permission denied while trying to connect to the Docker daemon",
		"error during connect",
		"Error while fetching server API version",
		"Couldn't connect to Docker daemon",
	)
}

// cleanOutput trims a tool's output for an error message: a Python
// traceback (docker-compose 1.x prints one, 100 lines, for an engine that
// does not answer) becomes its final exception line, and only the last 40
// lines are kept.
func cleanOutput(out string) string {
	const tb = "Traceback (most recent call last):"
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, tb) }); i >= 0 {
		before := lines[:i]
		var exc string
		for _, l := range lines[i:] {
			if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, tb) &&
				!strings.HasPrefix(l, "During handling of the above exception") && !strings.HasPrefix(l, "The above exception was the direct cause") &&
				!strings.Contains(l, "Failed to execute script") {
				exc = l
			}
		}
		lines = append(slices.Clip(before), exc)
	}
	return toolcall.LastLines(strings.Join(lines, "\n"), 40)
}

// Stdio connects a call to the caller's streams; nil writers discard, a
// nil reader is empty. Dir is the working directory ("" is the current).
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Dir            string
	// Env is the docker CLI's environment (nil: this process's). A secret
	// for `docker run -e NAME` travels here, never on the command line.
	Env []string
}

// tailBuffer keeps the last max bytes written to it: what an error message
// quotes of a streamed call.
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

// Run runs the docker CLI with the caller's streams. Its stderr is also
// kept (the last 16 KiB) for the error, which Explain translates.
func Run(ctx context.Context, s Stdio, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir, cmd.Env = s.Dir, s.Env
	cmd.Stdin = s.Stdin
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stdout = s.Stdout
	if s.Stderr != nil {
		cmd.Stderr = io.MultiWriter(s.Stderr, tail)
	} else {
		cmd.Stderr = tail
	}
	err := cmd.Run() // before reading tail: arguments are evaluated first
	return Explain(ctx, "docker", args, tail.buf.String(), err)
}

// ExecSpec is a command to run in a running container.
type ExecSpec struct {
	Container string
	User      string // "" is the image's user
	Dir       string // working directory in the container; "" is the image's
	// TTY allocates a terminal (docker exec -t): only when Stdin is one.
	TTY bool
	Stdio
}

// Exec runs argv in a container (docker exec; -i when Stdin is set). A
// non-zero exit comes back as an *Error whose ExitCode is the command's.
func Exec(ctx context.Context, s ExecSpec, argv ...string) error {
	return Run(ctx, Stdio{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr}, execArgs(s, argv)...)
}

func execArgs(s ExecSpec, argv []string) []string {
	args := []string{"exec"}
	if s.Stdin != nil {
		args = append(args, "-i")
	}
	if s.TTY {
		args = append(args, "-t")
	}
	if s.User != "" {
		args = append(args, "-u", s.User)
	}
	if s.Dir != "" {
		args = append(args, "-w", s.Dir)
	}
	args = append(args, s.Container)
	return append(args, argv...)
}

// ExecOutput runs argv in a container and returns its combined output,
// trimmed; the error carries the output too.
func ExecOutput(ctx context.Context, container, user string, stdin io.Reader, argv ...string) (string, error) {
	var out bytes.Buffer
	args := execArgs(ExecSpec{Container: container, User: user, Stdio: Stdio{Stdin: stdin}}, argv)
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), Explain(ctx, "docker", args, out.String(), err)
}

// Logs returns a container's output so far, stdout and stderr together.
func Logs(ctx context.Context, container string) (string, error) {
	var out bytes.Buffer
	err := Run(ctx, Stdio{Stdout: &out, Stderr: &out}, "logs", container)
	return out.String(), err
}

// CopyTo copies the contents of the host folder src into dst in a
// container (docker cp src/. container:dst; files arrive owned by root).
func CopyTo(ctx context.Context, src, container, dst string) error {
	_, err := Docker(ctx, "cp", strings.TrimSuffix(src, "/")+"/.", container+":"+dst)
	return err
}

// Kill sends a signal to a container (docker kill -s).
func Kill(ctx context.Context, container, signal string) error {
	_, err := Docker(ctx, "kill", "-s", signal, container)
	return err
}

// ImageField returns a docker image inspect template's value; the error
// says when the image does not exist.
func ImageField(ctx context.Context, image, format string) (string, error) {
	out, err := Docker(ctx, "image", "inspect", "--format", format, image)
	if err != nil {
		return "", err
	}
	return out, nil
}

// ImageExists reports whether the engine has image. An engine that does
// not answer is an error, not a missing image.
func ImageExists(ctx context.Context, image string) (bool, error) {
	_, err := ImageField(ctx, image, "{{.Id}}")
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
		return false, err
	}
	var e *Error
	if errors.As(err, &e) && (strings.Contains(e.Msg, "No such image") || strings.Contains(e.Msg, "no such image")) {
		return false, nil
	}
	return false, err
}

// Build runs docker build with args, streaming its output to w.
func Build(ctx context.Context, w io.Writer, args ...string) error {
	return Run(ctx, Stdio{Stdout: w, Stderr: w}, append([]string{"build"}, args...)...)
}
