package kubectl

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--kubeconfig", "/root/.kube/x", "-n", "ns", "get", "pod", "p"}, "kubectl -n ns get pod p"},
		{[]string{"apply", "--server-side", "-f", "-"}, "kubectl apply --server-side -f -"},
		{[]string{"--kubeconfig"}, "kubectl --kubeconfig"},
	}
	for _, tc := range tests {
		if got := Describe(tc.args); got != tc.want {
			t.Errorf("Describe(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// exitErr is a real *exec.ExitError with the given status.
func exitErr(t *testing.T, code string) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit "+code).Run()
	if err == nil {
		t.Fatal("sh did not fail")
	}
	return err
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name, out string
		code      string
		want      string
		check     func(*Error) bool
	}{
		{
			name: "server down", code: "1",
			out:   "The connection to the server 10.250.0.1:6443 was refused - did you specify the right host or port?\n",
			want:  "kubectl get pods: the Kubernetes API server does not answer",
			check: func(e *Error) bool { return e.Unreachable && errors.Is(e, ErrUnreachable) },
		},
		{
			name: "not found", code: "1",
			out:   `Error from server (NotFound): pods "x" not found` + "\n",
			want:  `kubectl get pods: Error from server (NotFound): pods "x" not found`,
			check: func(e *Error) bool { return e.NotFound && !e.Unreachable && e.ExitCode == 1 },
		},
		{
			name: "forbidden names the RBAC doc", code: "1",
			out:   `Error from server (Forbidden): namespaces is forbidden: User "u" cannot create resource "namespaces"` + "\n",
			want:  "docs/KUBERNETES.md",
			check: func(e *Error) bool { return e.Forbidden },
		},
		{
			name: "remote exit code", code: "1",
			out:   "ls: /nope: No such file or directory\ncommand terminated with exit code 2\n",
			want:  "kubectl get pods: ls: /nope: No such file or directory",
			check: func(e *Error) bool { return e.Remote && e.ExitCode == 2 && !strings.Contains(e.Msg, "terminated") },
		},
		{
			name: "no output", code: "3", want: "kubectl get pods: exit status 3",
			check: func(e *Error) bool { return e.ExitCode == 3 && !e.Remote },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Explain(context.Background(), []string{"get", "pods"}, tc.out, exitErr(t, tc.code))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not *Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not contain %q", err, tc.want)
			}
			if !tc.check(e) {
				t.Errorf("%+v", e)
			}
		})
	}
	if Explain(context.Background(), nil, "x", nil) != nil {
		t.Error("no error became one")
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by interrupt"))
	if err := Explain(ctx, []string{"exec"}, "", exitErr(t, "1")); !strings.Contains(err.Error(), "interrupted by interrupt") {
		t.Errorf("cancelled: %v", err)
	}
}

func TestExecArgs(t *testing.T) {
	tests := []struct {
		name string
		s    ExecSpec
		want string
	}{
		{"plain", ExecSpec{Namespace: "ns", Pod: "p"}, "exec -n ns p -- id -u"},
		{"stdin tty container", ExecSpec{Namespace: "ns", Pod: "p", Container: "agent", TTY: true, Stdio: Stdio{Stdin: strings.NewReader("")}}, "exec -n ns -i -t p -c agent -- id -u"},
		{"dir", ExecSpec{Namespace: "ns", Pod: "p", Dir: "/workspace"}, `exec -n ns p -- sh -c cd "$1" && shift && exec "$@" sh /workspace id -u`},
	}
	for _, tc := range tests {
		if got := strings.Join(ExecArgs(tc.s, []string{"id", "-u"}), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDirRunsThere runs ExecArgs' sh -c wrapper in a real sh: the command
// runs in the folder with its arguments intact, and a missing folder is
// the command's failure.
func TestDirRunsThere(t *testing.T) {
	dir := t.TempDir()
	args := ExecArgs(ExecSpec{Namespace: "n", Pod: "p", Dir: dir}, []string{"sh", "-c", `pwd; printf '%s|' "$@"`, "x", "a b", "$HOME"})
	i := 0
	for args[i] != "--" {
		i++
	}
	out, err := exec.Command(args[i+1], args[i+2:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := dir + "\na b|$HOME|"; string(out) != want {
		t.Errorf("%q, want %q", out, want)
	}
	args = ExecArgs(ExecSpec{Namespace: "n", Pod: "p", Dir: filepath.Join(dir, "nope")}, []string{"true"})
	if err := exec.Command(args[5], args[6:]...).Run(); err == nil {
		t.Error("a missing folder ran the command")
	}
}

func TestNew(t *testing.T) {
	t.Setenv(EnvKubectl, filepath.Join(t.TempDir(), "kubectl"))
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), EnvKubectl) {
		t.Errorf("a missing $%s: %v", EnvKubectl, err)
	}
	t.Setenv(EnvKubectl, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), "no kubectl on PATH") {
		t.Errorf("no kubectl: %v", err)
	}
}

// TestUnreachableCluster runs the machine's real kubectl against a
// kubeconfig whose server nothing listens on: one line, ErrUnreachable.
func TestUnreachableCluster(t *testing.T) {
	prog, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on PATH")
	}
	cfg := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Client{Program: prog, Kubeconfig: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = c.Version(ctx)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("%v is not ErrUnreachable", err)
	}
	if msg := err.Error(); strings.Contains(msg, cfg) || strings.Count(msg, "\n") > 0 {
		t.Errorf("%q names the kubeconfig or spans lines", msg)
	}
}
