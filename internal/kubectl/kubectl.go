// Package kubectl is the one place claude-bottle talks to a Kubernetes
// cluster, as internal/engine is for the Docker Engine: it runs the kubectl
// binary (found on PATH or at $CLAUDE_BOTTLE_KUBECTL) with an argv, never a
// shell string, every call bounded by its context, and Explain is the one
// place where a failure is put in words for a user.
//
// kubectl rather than client-go: an interactive `kubectl exec -it` needs the
// binary anyway (terminal resizing, SPDY/websocket streaming), kubeconfig
// handling (contexts, exec credential plugins) stays kubectl's, and the
// project's binary does not grow by the ~30 MB client-go costs.
package kubectl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/toolcall"
)

// EnvKubectl names the kubectl binary to run instead of the one on PATH.
const EnvKubectl = "CLAUDE_BOTTLE_KUBECTL"

// FieldManager is the server-side apply field manager of every object
// claude-bottle writes.
const FieldManager = "claude-bottle"

// Client runs one kubectl against one cluster.
type Client struct {
	// Program is the kubectl binary.
	Program string
	// Kubeconfig is passed as --kubeconfig when set; "" leaves kubectl
	// to KUBECONFIG and ~/.kube/config.
	Kubeconfig string
}

// New finds kubectl: $CLAUDE_BOTTLE_KUBECTL, else kubectl on PATH.
func New(kubeconfig string) (*Client, error) {
	prog := os.Getenv(EnvKubectl)
	if prog != "" {
		if _, err := exec.LookPath(prog); err != nil {
			return nil, fmt.Errorf("%s=%s: %v; point it at a kubectl binary or unset it to use the one on PATH", EnvKubectl, prog, err)
		}
	} else {
		p, err := exec.LookPath("kubectl")
		if err != nil {
			return nil, fmt.Errorf("no kubectl on PATH: install kubectl, or set %s to one (scripts/k8s-cluster.sh builds it at $CLAUDE_BOTTLE_K8S_ROOT/bin/kubectl)", EnvKubectl)
		}
		prog = p
	}
	if kubeconfig != "" {
		if _, err := os.Stat(kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %v", kubeconfig, err)
		}
	}
	return &Client{Program: prog, Kubeconfig: kubeconfig}, nil
}

// argv is args with the client's global flags first.
func (c *Client) argv(args []string) []string {
	if c.Kubeconfig == "" {
		return args
	}
	return append([]string{"--kubeconfig", c.Kubeconfig}, args...)
}

// Stdio connects a call to the caller's streams; nil writers discard, a
// nil reader is empty.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
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

func (c *Client) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Program, c.argv(args)...)
	// kubectl exec forwards SIGINT to nothing useful; on cancel stop it
	// gently first so it closes its streams, then kill.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs kubectl with the caller's streams. Its stderr is also kept
// (the last 16 KiB) for the error, which Explain translates.
func (c *Client) Run(ctx context.Context, s Stdio, args ...string) error {
	cmd := c.command(ctx, args)
	cmd.Stdin = s.Stdin
	cmd.Stdout = s.Stdout
	tail := &tailBuffer{max: 16 << 10}
	if s.Stderr != nil {
		cmd.Stderr = io.MultiWriter(s.Stderr, tail)
	} else {
		cmd.Stderr = tail
	}
	err := cmd.Run()
	return Explain(ctx, args, tail.buf.String(), err)
}

// Output runs kubectl and returns its trimmed stdout.
func (c *Client) Output(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	var out bytes.Buffer
	err := c.Run(ctx, Stdio{Stdin: stdin, Stdout: &out}, args...)
	return strings.TrimSpace(out.String()), err
}

// Version is the server's version ("v1.37.2"); a cluster that does not
// answer is an error wrapping ErrUnreachable.
func (c *Client) Version(ctx context.Context) (string, error) {
	out, err := c.Output(ctx, nil, "version", "-o", "json")
	if err != nil {
		return "", err
	}
	var v struct {
		ServerVersion *struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ServerVersion == nil {
		return "", fmt.Errorf("kubectl version -o json: no server version in %q", toolcall.FirstLine(out))
	}
	return v.ServerVersion.GitVersion, nil
}

// Apply applies multi-document YAML with server-side apply under
// FieldManager, forcing conflicts (claude-bottle owns its objects), and
// writes kubectl's one line per object to progress.
func (c *Client) Apply(ctx context.Context, doc []byte, progress io.Writer) error {
	var out bytes.Buffer
	err := c.Run(ctx, Stdio{Stdin: bytes.NewReader(doc), Stdout: &out},
		"apply", "--server-side", "--field-manager="+FieldManager, "--force-conflicts", "-f", "-")
	if progress != nil {
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if l != "" {
				fmt.Fprintf(progress, "  %s\n", l)
			}
		}
	}
	return err
}

// Get reads one object as JSON into v; found is false when it does not
// exist. ns "" is for cluster-scoped objects.
func (c *Client) Get(ctx context.Context, ns, resource, name string, v any) (found bool, err error) {
	args := []string{"get", resource, name, "-o", "json"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := c.Output(ctx, nil, args...)
	var e *Error
	if errors.As(err, &e) && e.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return false, fmt.Errorf("%s: %v", Describe(args), err)
	}
	return true, nil
}

// Meta is the part of an object's metadata list and cleanup read.
type Meta struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		Labels            map[string]string `json:"labels"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
		DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
	} `json:"metadata"`
}

// List finds the objects of the resources (comma-separated, as kubectl
// takes them: "namespaces,configmaps") matching a label selector, in
// every namespace when ns is "".
func (c *Client) List(ctx context.Context, ns, resources, selector string) ([]Meta, error) {
	args := []string{"get", resources, "-l", selector, "-o", "json"}
	if ns == "" {
		args = append(args, "--all-namespaces")
	} else {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := c.Output(ctx, nil, args...)
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []Meta `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("%s: %v", Describe(args), err)
	}
	return l.Items, nil
}

// Delete deletes an object (no error when it is gone already) and, with
// wait, returns once the server has removed it and what it owns.
func (c *Client) Delete(ctx context.Context, ns, resource, name string, wait bool) error {
	args := []string{"delete", resource, name, "--ignore-not-found", "--wait=" + strconv.FormatBool(wait)}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	_, err := c.Output(ctx, nil, args...)
	return err
}

// ExecSpec is a command to run in a container of a running Pod. There is
// no user: a command runs as the container's user (the Pod's
// securityContext), which is how the agent never gets a root shell.
type ExecSpec struct {
	Namespace, Pod, Container string
	// Dir is the working directory ("" is the image's): kubectl exec has
	// no -w, so the command is started through sh -c 'cd "$1" ...'.
	Dir string
	// TTY allocates a terminal (-t): only when Stdin is one.
	TTY bool
	Stdio
}

// ExecArgs is the kubectl argv for s and argv.
func ExecArgs(s ExecSpec, argv []string) []string {
	args := []string{"exec", "-n", s.Namespace}
	if s.Stdin != nil {
		args = append(args, "-i")
	}
	if s.TTY {
		args = append(args, "-t")
	}
	args = append(args, s.Pod)
	if s.Container != "" {
		args = append(args, "-c", s.Container)
	}
	args = append(args, "--")
	if s.Dir != "" {
		argv = append([]string{"sh", "-c", `cd "$1" && shift && exec "$@"`, "sh", s.Dir}, argv...)
	}
	return append(args, argv...)
}

// Exec runs argv in a container. A non-zero exit of the command comes back
// as an *Error whose Remote is true and ExitCode the command's.
func (c *Client) Exec(ctx context.Context, s ExecSpec, argv ...string) error {
	return c.Run(ctx, s.Stdio, ExecArgs(s, argv)...)
}

// ExecOutput runs argv in a container and returns its combined output,
// trimmed; the error carries the output too.
func (c *Client) ExecOutput(ctx context.Context, s ExecSpec, argv ...string) (string, error) {
	var out bytes.Buffer
	s.Stdout, s.Stderr = &out, &out
	args := ExecArgs(s, argv)
	cmd := c.command(ctx, args)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), Explain(ctx, args, out.String(), err)
}

// LogOptions choose what Logs shows.
type LogOptions struct {
	Follow, Timestamps bool
	// Tail is the number of last lines (0: all).
	Tail int
}

// Logs writes a container's output to w.
func (c *Client) Logs(ctx context.Context, ns, pod, container string, o LogOptions, w io.Writer) error {
	args := []string{"logs", "-n", ns, pod}
	if container != "" {
		args = append(args, "-c", container)
	}
	if o.Follow {
		args = append(args, "-f")
	}
	if o.Timestamps {
		args = append(args, "--timestamps")
	}
	if o.Tail > 0 {
		args = append(args, "--tail", strconv.Itoa(o.Tail))
	}
	return c.Run(ctx, Stdio{Stdout: w}, args...)
}

// ErrUnreachable is what a failed call wraps when the cluster did not
// answer at all: the API server is down or not where the kubeconfig says.
var ErrUnreachable = errors.New("the Kubernetes API server does not answer (is the cluster up, and is the kubeconfig the right one? see --kubeconfig / KUBECONFIG)")

// Error is a failed kubectl call, said for a user: the command as a person
// would type it, kubectl's own message, and its exit status (the shape of
// the engine's failures, toolcall), and what kubectl's message says.
type Error struct {
	toolcall.Failure
	// Remote: ExitCode is that of the command kubectl exec ran, not
	// kubectl's own.
	Remote bool
	// NotFound: the object does not exist.
	NotFound bool
	// Forbidden: the server refused the credentials' RBAC.
	Forbidden bool
}

// remoteExit is what kubectl exec prints when the command it ran failed.
var remoteExit = regexp.MustCompile(`command terminated with exit code (\d+)`)

// Explain turns a failed kubectl call with args and its captured stderr
// into an *Error. It is the one place where kubectl's failures are
// translated.
func Explain(ctx context.Context, args []string, output string, err error) error {
	if err == nil {
		return nil
	}
	te, cancelled := toolcall.New(ctx, Describe(args), err)
	e := &Error{Failure: *te}
	if cancelled {
		return e
	}
	out := strings.TrimSpace(output)
	if m := remoteExit.FindStringSubmatch(out); m != nil {
		e.Remote = true
		e.ExitCode, _ = strconv.Atoi(m[1])
		out = strings.TrimSpace(remoteExit.ReplaceAllString(out, ""))
	}
	e.Msg = toolcall.LastLines(out, 20)
	e.Unreachable = unreachable(out)
	e.Down = ErrUnreachable
	e.NotFound = strings.Contains(out, "(NotFound)")
	e.Forbidden = strings.Contains(out, "(Forbidden)")
	if e.Forbidden {
		e.Hint = "the kubeconfig's user lacks an RBAC permission: docs/KUBERNETES.md lists what claude-bottle needs"
	}
	return e
}

// Describe renders a call as a person would type it, the kubeconfig left
// out (it is the same for every call and long).
func Describe(args []string) string {
	parts := []string{"kubectl"}
	for i := 0; i < len(args); i++ {
		if args[i] == "--kubeconfig" && i+1 < len(args) {
			i++
			continue
		}
		parts = append(parts, args[i])
	}
	return strings.Join(parts, " ")
}

// unreachable recognises kubectl's messages for an API server that did
// not answer.
func unreachable(out string) bool {
	return toolcall.Contains(out,
		"Unable to connect to the server",
		"The connection to the server",
		"couldn't get current server API group list",
		"no configuration has been provided",
	)
}
