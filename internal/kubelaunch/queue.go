package kubelaunch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// The supervise queue of a bottle on a cluster lives in its sidecars Pod
// (an emptyDir at layout.SuperviseQueueDir). The operator's host reaches
// it through the API server only: kubectl exec into the sidecars Pod reads
// the folder as a tar stream (new proposals are copied into the host queue
// dir, where the dashboard and approve read them as for a Docker bottle),
// and writes each host answer the Pod does not have yet. No port is
// exposed and nothing of the queue is stored in the cluster.

const (
	proposalSuffix = ".proposal.json"
	answerSuffix   = ".answer.json"
)

// SyncQueue mirrors one bottle's queue: proposals from the Pod to hostDir,
// answers from hostDir to the Pod. It returns how many files went each way.
func SyncQueue(ctx context.Context, k *kubectl.Client, m *state.Metadata, hostDir string) (pulled, pushed int, err error) {
	if m.Kube == nil {
		return 0, 0, fmt.Errorf("bottle %s does not run on Kubernetes", m.Slug)
	}
	pod := kubectl.ExecSpec{Namespace: m.Kube.Namespace, Pod: layout.SidecarContainer("sidecars", m.Slug), Container: kuberender.SidecarsContainer}
	var tarball bytes.Buffer
	s := pod
	s.Stdout = &tarball
	if err := k.Exec(ctx, s, "tar", "-c", "-f", "-", "-C", layout.SuperviseQueueDir, "."); err != nil {
		return 0, 0, err
	}
	if err := os.MkdirAll(hostDir, 0o700); err != nil {
		return 0, 0, err
	}
	inPod, pulled, err := PullProposals(&tarball, hostDir)
	if err != nil {
		return pulled, 0, fmt.Errorf("reading the queue of %s/%s: %w", pod.Namespace, pod.Pod, err)
	}
	answers, err := filepath.Glob(filepath.Join(hostDir, "*"+answerSuffix))
	if err != nil {
		return pulled, 0, err
	}
	sort.Strings(answers)
	for _, a := range answers {
		name := filepath.Base(a)
		id := strings.TrimSuffix(name, answerSuffix)
		if inPod[name] || !inPod[id+proposalSuffix] {
			continue // delivered already, or not this Pod's proposal
		}
		data, err := os.ReadFile(a)
		if err != nil {
			return pulled, pushed, err
		}
		w := pod
		w.Stdin = bytes.NewReader(data)
		// Written as the daemon writes: a temp file renamed into place,
		// so supervise never reads half an answer.
		dst := layout.SuperviseQueueDir + "/" + name
		if err := k.Exec(ctx, w, "sh", "-c", `cat > "$1.tmp" && mv -f "$1.tmp" "$1"`, "sh", dst); err != nil {
			return pulled, pushed, fmt.Errorf("answering %s in %s/%s: %w", id, pod.Namespace, pod.Pod, err)
		}
		pushed++
	}
	return pulled, pushed, nil
}

// PullProposals reads a tar of the Pod's queue folder and writes each
// proposal file hostDir lacks. The Pod is the agent's side: only regular
// files named <id>.proposal.json with a valid id and at most
// queue.MaxFileBytes are taken, each written once (an existing host file
// is never replaced); the host's queue reader validates their content as
// it does a Docker bottle's. It returns every name the tar holds.
func PullProposals(r io.Reader, hostDir string) (names map[string]bool, pulled int, err error) {
	names = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, pulled, nil
		}
		if err != nil {
			return names, pulled, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		if strings.Contains(name, "/") || h.Typeflag != tar.TypeReg {
			continue
		}
		names[name] = true
		id, ok := strings.CutSuffix(name, proposalSuffix)
		if !ok || !queue.ValidID(id) || h.Size > queue.MaxFileBytes {
			continue
		}
		dst := filepath.Join(hostDir, name)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, queue.MaxFileBytes+1))
		if err != nil {
			return names, pulled, err
		}
		if len(data) > queue.MaxFileBytes {
			continue
		}
		if err := fileio.WriteFileAtomic(dst, data, 0o600); err != nil {
			return names, pulled, err
		}
		pulled++
	}
}

// SyncAll mirrors the queue of every bottle on Kubernetes under paths
// that runs supervise; a bottle whose cluster or Pod does not answer is
// skipped (its error joined), the others still sync.
func SyncAll(ctx context.Context, paths layout.Paths) error {
	entries, err := os.ReadDir(paths.StateRoot())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range entries {
		sd := layout.StateDir(paths.StateDir(e.Name()))
		m, err := state.Read(sd)
		if err != nil || m.Kube == nil {
			continue
		}
		if _, err := os.Stat(paths.QueueDir(m.Slug)); err != nil {
			continue // no supervise: Prepare makes the host queue dir for it
		}
		k, err := kubectl.New(m.Kube.Kubeconfig)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, _, err = SyncQueue(sctx, k, m, paths.QueueDir(m.Slug))
		cancel()
		var ke *kubectl.Error
		if errors.As(err, &ke) && ke.NotFound {
			continue // stopped: its Pod is gone
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("bottle %s: %w", m.Slug, err))
		}
	}
	return errors.Join(errs...)
}

// Signaller is approve.Signaller for bottles on either backend: a
// container of a bottle on Kubernetes (its sidecars Pod) gets its live
// configs through its ConfigMaps and the signal once the mounted files
// show them; any other goes through the engine (docker kill -s).
type Signaller struct {
	Paths layout.Paths
	// MountTimeout bounds the wait for the kubelet to update the mounted
	// ConfigMap files (0: 3 minutes; its sync period is a minute by
	// default, plus its cache).
	MountTimeout time.Duration
}

// Signal implements approve.Signaller.
func (s Signaller) Signal(ctx context.Context, container, signal string) error {
	slug, ok := strings.CutPrefix(container, layout.SidecarContainer("sidecars", ""))
	var m *state.Metadata
	if ok {
		m, _ = state.Read(layout.StateDir(s.Paths.StateDir(slug)))
	}
	if m == nil || m.Kube == nil {
		return engine.Kill(ctx, container, signal)
	}
	k, err := kubectl.New(m.Kube.Kubeconfig)
	if err != nil {
		return err
	}
	return Reload(ctx, k, m, layout.StateDir(s.Paths.StateDir(slug)), signal, s.MountTimeout)
}

// liveConfigs are the ConfigMaps an approval rewrites: name, key, the
// host file, the file in the Pod.
func liveConfigs(sd layout.StateDir) [][4]string {
	return [][4]string{
		{kuberender.EgressConfigMap, layout.RoutesFileName, sd.RoutesFile(), layout.EgressConfigDir + "/" + layout.RoutesFileName},
		{kuberender.PipelockConfigMap, layout.PipelockFileName, sd.PipelockFile(), layout.PipelockConfigDir + "/" + layout.PipelockFileName},
	}
}

// Reload carries the state dir's live configs to a bottle on a cluster:
// each ConfigMap whose host file differs is patched, the mounted files in
// the sidecars Pod are waited for until they read as on the host, and then
// the Pod's init (PID 1, which forwards it to its daemons) gets the signal.
func Reload(ctx context.Context, k *kubectl.Client, m *state.Metadata, sd layout.StateDir, signal string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	ns := m.Kube.Namespace
	pod := kubectl.ExecSpec{Namespace: ns, Pod: layout.SidecarContainer("sidecars", m.Slug), Container: kuberender.SidecarsContainer}
	type want struct{ mounted, content string }
	var waits []want
	for _, c := range liveConfigs(sd) {
		data, err := os.ReadFile(c[2])
		if errors.Is(err, os.ErrNotExist) {
			continue // the bottle has no such daemon
		}
		if err != nil {
			return err
		}
		patch, err := jsonMarshal(map[string]any{"data": map[string]string{c[1]: string(data)}})
		if err != nil {
			return err
		}
		_, err = k.Output(ctx, nil, "-n", ns, "patch", "configmap", c[0], "--type=merge", "--field-manager="+kubectl.FieldManager, "-p", string(patch))
		var ke *kubectl.Error
		if errors.As(err, &ke) && ke.NotFound {
			// The state dir has the file for every bottle; the cluster
			// has the ConfigMap only when the daemon runs.
			continue
		}
		if err != nil {
			return err
		}
		waits = append(waits, want{c[3], string(data)})
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, w := range waits {
		for {
			got, err := k.ExecOutput(wctx, pod, "cat", w.mounted)
			if err == nil && got == strings.TrimSpace(w.content) {
				break
			}
			select {
			case <-wctx.Done():
				return fmt.Errorf("%s in %s/%s did not show the new config within %s (the kubelet updates mounted ConfigMaps on its sync period): %w", w.mounted, ns, pod.Pod, timeout, context.Cause(wctx))
			case <-time.After(time.Second):
			}
		}
	}
	_, err := k.ExecOutput(ctx, pod, "sh", "-c", `kill -s "$1" 1`, "sh", strings.TrimPrefix(signal, "SIG"))
	return err
}
