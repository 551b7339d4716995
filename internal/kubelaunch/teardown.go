package kubelaunch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Teardown stops a bottle on its cluster: the Pods' logs go to the state
// dir's compose.log (as on Docker, so `logs` reads them after stop), the
// bottle's namespace (or, in the operator's namespace, its root object,
// which owns the rest) is deleted and waited for, and the key material
// leaves the state dir.
func (l *Launcher) Teardown(ctx context.Context, m *state.Metadata, sd layout.StateDir) error {
	if m.Kube == nil {
		return fmt.Errorf("bottle %s does not run on Kubernetes (its metadata has no namespace)", m.Slug)
	}
	return l.teardown(ctx, m.Slug, m.Kube.Namespace, sd)
}

func (l *Launcher) teardown(ctx context.Context, slug, ns string, sd layout.StateDir) error {
	// The cluster down: nothing can be deleted. Say so once and keep
	// everything, the keys too (the Pods come back with the cluster).
	if _, err := l.Kube.Version(ctx); errors.Is(err, kubectl.ErrUnreachable) {
		return fmt.Errorf("%w; bottle %s was not stopped: run `claude-bottle stop %s` again once the cluster answers", err, slug, slug)
	}
	var errs []error
	l.step("saving logs to %s", sd.ComposeLog())
	if err := activity.RotateLog(sd); err != nil {
		errs = append(errs, err)
	}
	if f, err := os.OpenFile(sd.ComposeLog(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		for _, pod := range []string{layout.SidecarContainer("sidecars", slug), layout.AgentContainer(slug)} {
			if err := l.saveLogs(ctx, ns, pod, f); err != nil {
				fmt.Fprintf(f, "(logs of pod %s unavailable: %v)\n", pod, err)
			}
		}
		f.Close()
	} else {
		errs = append(errs, err)
	}
	if ownNamespace(slug, ns) {
		l.step("deleting namespace %s", ns)
		if err := l.Kube.Delete(ctx, "", "namespace", ns, true); err != nil {
			errs = append(errs, err)
		}
	} else {
		// The root owns every other object of the bottle; foreground
		// deletion returns once they are gone too.
		l.step("deleting the bottle's objects in namespace %s", ns)
		if _, err := l.Kube.Output(ctx, nil, "-n", ns, "delete", "configmap", kuberender.RootName, "--ignore-not-found", "--cascade=foreground", "--wait=true"); err != nil {
			errs = append(errs, err)
		}
	}
	if err := launch.RemoveKeys(sd); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// saveLogs appends a Pod's log to w in the form `compose logs
// --timestamps` writes ("<source> | <time> <line>"), which activity reads.
// A Pod that is not there has nothing to save.
func (l *Launcher) saveLogs(ctx context.Context, ns, pod string, w io.Writer) error {
	var raw json.RawMessage
	if found, err := l.Kube.Get(ctx, ns, "pod", pod, &raw); err != nil || !found {
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		var werr error
		for sc.Scan() {
			if werr == nil {
				_, werr = fmt.Fprintf(w, "%s | %s\n", pod, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, pr)
		done <- werr
	}()
	err := l.Kube.Logs(ctx, ns, pod, "", kubectl.LogOptions{Timestamps: true}, pw)
	pw.Close()
	return errors.Join(err, <-done)
}
