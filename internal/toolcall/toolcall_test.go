package toolcall

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

var errDown = errors.New("the server does not answer")

func TestFailureError(t *testing.T) {
	cause := errors.New("exit status 1")
	tests := []struct {
		name   string
		f      Failure
		want   string
		isDown bool
	}{
		{"unreachable: the sentinel, then the tool's first line",
			Failure{Command: "docker ps", Msg: "Cannot connect\nline two", Unreachable: true, Down: errDown, Err: cause},
			"docker ps: the server does not answer: Cannot connect", true},
		{"unreachable with no message",
			Failure{Command: "docker ps", Unreachable: true, Down: errDown, Err: cause},
			"docker ps: the server does not answer", true},
		{"the tool's message and the hint",
			Failure{Command: "kubectl get pod", Msg: "pods is forbidden", Hint: "grant get on pods", Down: errDown, Err: cause},
			"kubectl get pod: pods is forbidden (grant get on pods)", false},
		{"no message: the underlying error",
			Failure{Command: "docker inspect x", Err: cause},
			"docker inspect x: exit status 1", false},
		{"nothing at all still names the command",
			Failure{Command: "docker inspect x"},
			"docker inspect x: failed", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if got := f.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if got := errors.Is(&f, errDown); got != tc.isDown {
				t.Errorf("errors.Is(down) = %v, want %v", got, tc.isDown)
			}
			if f.Err != nil && !errors.Is(&f, f.Err) {
				t.Error("the underlying error is not unwrapped")
			}
		})
	}
}

func TestNew(t *testing.T) {
	err := exec.Command("sh", "-c", "exit 3").Run()
	f, cancelled := New(context.Background(), "sh -c 'exit 3'", err)
	if cancelled || f.ExitCode != 3 || !errors.Is(f, err) {
		t.Errorf("New(exit 3) = %+v, cancelled %v; want exit code 3, not cancelled", f, cancelled)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("interrupted (Ctrl-C)")
	cancel(why)
	err = exec.CommandContext(ctx, "sleep", "5").Run()
	f, cancelled = New(ctx, "sleep 5", err)
	if !cancelled || f.ExitCode != -1 || !errors.Is(f, why) || strings.Contains(f.Error(), "killed") {
		t.Errorf("New(cancelled) = %q (exit %d), cancelled %v; want the context's cause", f.Error(), f.ExitCode, cancelled)
	}

	//lint:ignore SA1012 a nil context is what callers without one pass
	f, _ = New(nil, "missing-tool", exec.ErrNotFound)
	if f.ExitCode != -1 {
		t.Errorf("a tool that did not run has exit code %d, want -1", f.ExitCode)
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"  one  ", 5, "one"},
		{"", 3, ""},
		{"a\nb\n\n\n", 1, "b"},
	}
	for _, tc := range tests {
		if got := LastLines(tc.in, tc.n); got != tc.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
