package kubelaunch

import (
	"context"
	"fmt"
	"io"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// Agent is a bottle's agent container on a cluster: kubectl exec into its
// Pod, as the Pod's user. There is no root: asking for it is an error, not
// a silent run as someone else.
type Agent struct {
	Kube          *kubectl.Client
	Namespace     string
	Pod           string
	Dir           string // working directory for Exec ("" the image's)
	TTY           bool
	containerName string
}

// AgentOf is the agent of bottle slug in namespace ns.
func AgentOf(k *kubectl.Client, ns, slug string) *Agent {
	return &Agent{Kube: k, Namespace: ns, Pod: layout.AgentContainer(slug), containerName: kuberender.AgentContainer}
}

var _ launch.Agent = (*Agent)(nil)

// Name implements launch.Agent.
func (a *Agent) Name() string { return a.Namespace + "/" + a.Pod }

// Root implements launch.Agent: the agent Pod runs as non-root, with no
// way up.
func (a *Agent) Root() bool { return false }

func (a *Agent) spec(user string, s engine.Stdio) (kubectl.ExecSpec, error) {
	if user == "root" {
		return kubectl.ExecSpec{}, fmt.Errorf("in %s: nothing runs as root in an agent Pod (kubectl exec runs as the Pod's user)", a.Name())
	}
	return kubectl.ExecSpec{Namespace: a.Namespace, Pod: a.Pod, Container: a.containerName, Dir: a.Dir, TTY: a.TTY,
		Stdio: kubectl.Stdio{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr}}, nil
}

// Exec implements launch.Agent; user is the Pod's own (or "").
func (a *Agent) Exec(ctx context.Context, user string, s engine.Stdio, argv ...string) error {
	spec, err := a.spec(user, s)
	if err != nil {
		return err
	}
	return a.Kube.Exec(ctx, spec, argv...)
}

// Output implements launch.Agent.
func (a *Agent) Output(ctx context.Context, user string, stdin io.Reader, argv ...string) (string, error) {
	spec, err := a.spec(user, engine.Stdio{Stdin: stdin})
	if err != nil {
		return "", err
	}
	return a.Kube.ExecOutput(ctx, spec, argv...)
}
