package engine

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "--type", "container", "--format", `{"State":{{json .State}}}`, "c1"}, "docker inspect --type container c1"},
		{[]string{"image", "inspect", "-f", "{{.Id}}", "img"}, "docker image inspect img"},
		{[]string{"build", "-f", "Dockerfile", "-t", "x", "."}, "docker build -f Dockerfile -t x ."},
		{[]string{"ps", "--format={{.ID}}"}, "docker ps"},
		{[]string{"version", "--format"}, "docker version --format"},
	}
	for _, tc := range tests {
		if got := Describe("docker", tc.args); got != tc.want {
			t.Errorf("Describe(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// exitErr is a real *exec.ExitError with status 1.
func exitErr(t *testing.T) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit 1").Run()
	if err == nil {
		t.Fatal("sh -c 'exit 1' succeeded")
	}
	return err
}

func TestExplain(t *testing.T) {
	trace, err := os.ReadFile("testdata/compose-v1-unreachable.txt")
	if err != nil {
		t.Fatal(err)
	}
	ee := exitErr(t)
	tests := []struct {
		name        string
		program     string
		args        []string
		out         string
		want        string
		unreachable bool
		notContain  []string
	}{
		{
			name: "engine down, docker CLI", program: "docker",
			args:        []string{"inspect", "--format", "{{json .State}}", "c1"},
			out:         "Cannot connect to the Docker daemon at unix:///nonexistent. Is the docker daemon running?\n",
			want:        "docker inspect c1: the Docker Engine does not answer (is it running, and may this user use it?): Cannot connect to the Docker daemon at unix:///nonexistent. Is the docker daemon running?",
			unreachable: true, notContain: []string{"{{"},
		},
		{
			name: "engine down, docker-compose 1.x traceback", program: "docker-compose",
			args: []string{"-p", "p", "-f", "f.yml", "down"}, out: string(trace),
			want:        "docker-compose -p p -f f.yml down: the Docker Engine does not answer (is it running, and may this user use it?): docker.errors.DockerException: Error while fetching server API version: ('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))",
			unreachable: true, notContain: []string{"Traceback", "File \"", "urllib3"},
		},
		{
			name: "no such container", program: "docker", args: []string{"kill", "-s", "HUP", "nope"},
			out:  "Error response from daemon: Cannot kill container: nope: No such container: nope\n",
			want: "docker kill -s HUP nope: Error response from daemon: Cannot kill container: nope: No such container: nope",
		},
		{
			name: "no output", program: "docker", args: []string{"rm", "x"},
			want: "docker rm x: exit status 1",
		},
		{
			name: "traceback after ordinary lines keeps them", program: "docker-compose", args: []string{"up"},
			out:  "Creating network x\nTraceback (most recent call last):\n  File \"a\", line 1\nKeyError: 'x'\n",
			want: "docker-compose up: Creating network x\nKeyError: 'x'",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Explain(context.Background(), tc.program, tc.args, tc.out, ee)
			if got := err.Error(); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			if errors.Is(err, ErrUnreachable) != tc.unreachable {
				t.Errorf("errors.Is(ErrUnreachable) = %v, want %v", !tc.unreachable, tc.unreachable)
			}
			var e *Error
			if !errors.As(err, &e) || e.ExitCode != 1 {
				t.Errorf("ExitCode not 1: %#v", err)
			}
			var xe *exec.ExitError
			if !errors.As(err, &xe) {
				t.Error("the *exec.ExitError is not reachable with errors.As")
			}
			for _, s := range tc.notContain {
				if strings.Contains(err.Error(), s) {
					t.Errorf("message contains %q", s)
				}
			}
		})
	}
}

func TestExplainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("interrupted")
	cancel(cause)
	err := Explain(ctx, "docker", []string{"ps"}, "", errors.New("signal: killed"))
	if !errors.Is(err, cause) || strings.Contains(err.Error(), "killed") {
		t.Fatalf("err = %v, want the context's cause", err)
	}
	if Explain(ctx, "docker", nil, "x", nil) != nil {
		t.Fatal("a nil error was explained into one")
	}
}

// FuzzCleanOutput: whatever a tool prints, the message is bounded, never
// holds a traceback frame line, and is valid UTF-8 if the input was.
func FuzzCleanOutput(f *testing.F) {
	trace, _ := os.ReadFile("testdata/compose-v1-unreachable.txt")
	f.Add(string(trace))
	f.Add("Error response from daemon: x\n")
	f.Add("Traceback (most recent call last):\n")
	f.Fuzz(func(t *testing.T, out string) {
		got := cleanOutput(out)
		if n := strings.Count(got, "\n"); n >= 40 {
			t.Fatalf("%d lines kept", n+1)
		}
		if strings.HasPrefix(got, "Traceback (most recent call last):") || strings.Contains(got, "\nTraceback (most recent call last):") {
			t.Fatalf("traceback kept: %q", got)
		}
		if utf8.ValidString(out) && !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of valid input: %q", got)
		}
	})
}

// TestRunExplainsAnUnreachableEngine runs the real docker CLI against a
// socket that does not exist (nothing is contacted): every entry point
// says the engine does not answer, in one line, with docker's message.
func TestRunExplainsAnUnreachableEngine(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI")
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	ctx := context.Background()
	_, errDocker := Docker(ctx, "inspect", "--format", "{{json .State}}", "c1")
	errRun := Run(ctx, Stdio{}, "ps")
	_, errExec := ExecOutput(ctx, "c1", "", nil, "true")
	_, errVersion := ServerVersion(ctx)
	for name, err := range map[string]error{"Docker": errDocker, "Run": errRun, "ExecOutput": errExec, "ServerVersion": errVersion} {
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: %v is not ErrUnreachable", name, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "{{") || !strings.Contains(msg, "nonexistent") {
			t.Errorf("%s: %q is not one line naming the socket without the template", name, msg)
		}
	}
}

// TestRunErrorCarriesTheOutput: a failed call's error quotes what the tool
// said (read after it ran, not before). Needs only the docker CLI.
func TestRunErrorCarriesTheOutput(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI")
	}
	err := Run(context.Background(), Stdio{}, "no-such-subcommand-x")
	if err == nil || !strings.Contains(err.Error(), "no-such-subcommand-x") || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("error lacks docker's message: %v", err)
	}
}
