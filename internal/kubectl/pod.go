package kubectl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// PodStatus is what WaitPodReady looks at of a Pod.
type PodStatus struct {
	Name, Phase, IP string
	Ready           bool
	// Unschedulable is the scheduler's reason, when it cannot place the Pod.
	Unschedulable string
	Containers    []ContainerStatus
}

// ContainerStatus is one container's (or init container's) state.
type ContainerStatus struct {
	Name, Image string
	Ready       bool
	Restarts    int
	// Waiting is the reason it is not running yet (ContainerCreating,
	// ErrImageNeverPull, CrashLoopBackOff, ...), with Message.
	Waiting, Message string
	// Terminated is set when it ran and exited, with ExitCode.
	Terminated bool
	ExitCode   int
}

// ParsePod reads the status part of a Pod's JSON.
func ParsePod(data []byte) (PodStatus, error) {
	type cs struct {
		Name         string `json:"name"`
		Image        string `json:"image"`
		Ready        bool   `json:"ready"`
		RestartCount int    `json:"restartCount"`
		State        struct {
			Waiting *struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"waiting"`
			Terminated *struct {
				ExitCode int    `json:"exitCode"`
				Reason   string `json:"reason"`
			} `json:"terminated"`
		} `json:"state"`
		LastState struct {
			Terminated *struct {
				ExitCode int `json:"exitCode"`
			} `json:"terminated"`
		} `json:"lastState"`
	}
	var raw struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Containers []struct {
				Name  string `json:"name"`
				Image string `json:"image"`
			} `json:"containers"`
		} `json:"spec"`
		Status struct {
			Phase      string `json:"phase"`
			PodIP      string `json:"podIP"`
			Conditions []struct {
				Type    string `json:"type"`
				Status  string `json:"status"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"conditions"`
			InitContainerStatuses []cs `json:"initContainerStatuses"`
			ContainerStatuses     []cs `json:"containerStatuses"`
		} `json:"status"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return PodStatus{}, fmt.Errorf("reading a Pod's status: %v", err)
	}
	st := PodStatus{Name: raw.Metadata.Name, Phase: raw.Status.Phase, IP: raw.Status.PodIP}
	for _, c := range raw.Status.Conditions {
		switch {
		case c.Type == "Ready":
			st.Ready = c.Status == "True"
		case c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable":
			st.Unschedulable = c.Message
		}
	}
	// The spec's image is the one asked for; the status may name it
	// resolved (docker.io/library/...).
	specImage := map[string]string{}
	for _, c := range raw.Spec.Containers {
		specImage[c.Name] = c.Image
	}
	for _, c := range append(raw.Status.InitContainerStatuses, raw.Status.ContainerStatuses...) {
		s := ContainerStatus{Name: c.Name, Image: c.Image, Ready: c.Ready, Restarts: c.RestartCount}
		if img := specImage[c.Name]; img != "" {
			s.Image = img
		}
		if w := c.State.Waiting; w != nil {
			s.Waiting, s.Message = w.Reason, w.Message
		}
		if t := c.State.Terminated; t != nil {
			s.Terminated, s.ExitCode = true, t.ExitCode
		} else if t := c.LastState.Terminated; t != nil && s.Waiting == "CrashLoopBackOff" {
			s.ExitCode = t.ExitCode
		}
		st.Containers = append(st.Containers, s)
	}
	return st, nil
}

// Summary is a Pod's state in one word or two, for progress lines:
// "Running/Ready", "Pending/ContainerCreating".
func (st PodStatus) Summary() string {
	s := st.Phase
	if s == "" {
		s = "Pending"
	}
	if st.Ready {
		return s + "/Ready"
	}
	var why []string
	for _, c := range st.Containers {
		if c.Waiting != "" {
			why = append(why, c.Waiting)
		}
	}
	sort.Strings(why)
	if len(why) > 0 {
		return s + "/" + strings.Join(why, ",")
	}
	return s
}

// imageHint is the part of an error that says how an image gets into the
// local cluster: the project's cluster has no registry (imagePullPolicy
// Never), its containerd gets images from Docker.
func imageHint(image string) string {
	return fmt.Sprintf("the cluster's container runtime does not have image %s and claude-bottle never pulls: import it (`scripts/k8s-cluster.sh import %s` for the project's local cluster) or push it where the nodes find it", image, image)
}

// Problem says why a Pod will not become Ready by waiting, or nil while it
// still may. Images missing, a container that exits or crash-loops, a
// config the kubelet cannot build (a missing Secret key) are final.
func (st PodStatus) Problem() error {
	if st.Phase == "Failed" || st.Phase == "Succeeded" {
		return fmt.Errorf("pod %s ended (phase %s)%s", st.Name, st.Phase, st.exits())
	}
	for _, c := range st.Containers {
		switch c.Waiting {
		case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
			return fmt.Errorf("pod %s, container %s: %s", st.Name, c.Name, imageHint(c.Image))
		case "CrashLoopBackOff":
			return fmt.Errorf("pod %s, container %s keeps exiting (last exit code %d, restarted %d times)", st.Name, c.Name, c.ExitCode, c.Restarts)
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return fmt.Errorf("pod %s, container %s cannot start: %s: %s", st.Name, c.Name, c.Waiting, c.Message)
		}
		if c.Terminated && c.ExitCode != 0 {
			return fmt.Errorf("pod %s, container %s exited with code %d", st.Name, c.Name, c.ExitCode)
		}
		if c.Restarts > 0 && !c.Ready {
			return fmt.Errorf("pod %s, container %s exited and was restarted %d times", st.Name, c.Name, c.Restarts)
		}
	}
	return nil
}

func (st PodStatus) exits() string {
	var s []string
	for _, c := range st.Containers {
		if c.Terminated {
			s = append(s, fmt.Sprintf("%s exited with code %d", c.Name, c.ExitCode))
		}
	}
	if len(s) == 0 {
		return ""
	}
	return ": " + strings.Join(s, ", ")
}

// PollInterval is how often WaitPodReady reads a Pod.
const PollInterval = 250 * time.Millisecond

// WaitPodReady waits until a Pod is Ready, printing each change of its
// state to progress. It fails fast on a Problem, quoting the failing
// container's last output, and says what it still waited for when ctx
// ends.
func (c *Client) WaitPodReady(ctx context.Context, ns, name string, progress io.Writer) (PodStatus, error) {
	return c.WaitPod(ctx, ns, name, progress, nil)
}

// Running reports whether every container of the Pod runs (none waiting
// or exited): what a caller's own readiness check needs first.
func (st PodStatus) Running() bool {
	if st.Phase != "Running" || len(st.Containers) == 0 {
		return false
	}
	for _, c := range st.Containers {
		if c.Waiting != "" || c.Terminated {
			return false
		}
	}
	return true
}

// WaitPod is WaitPodReady that also takes ready(st) returning true as
// ready: the kubelet runs a readiness probe a whole period after a
// container it first found not started, and the caller may run the same
// check sooner itself.
func (c *Client) WaitPod(ctx context.Context, ns, name string, progress io.Writer, ready func(PodStatus) bool) (PodStatus, error) {
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	last := ""
	var st PodStatus
	for {
		var raw json.RawMessage
		found, err := c.Get(ctx, ns, "pod", name, &raw)
		if err != nil {
			if ctx.Err() != nil {
				return st, waitingErr(ctx, ns, name, st)
			}
			return st, err
		}
		if found {
			if st, err = ParsePod(raw); err != nil {
				return st, err
			}
			if now := st.Summary(); now != last && progress != nil {
				fmt.Fprintf(progress, "  pod %s: %s\n", name, now)
				last = now
			}
			if st.Ready {
				return st, nil
			}
			if perr := st.Problem(); perr != nil {
				return st, fmt.Errorf("%w%s", perr, c.lastWords(ctx, ns, st))
			}
			if ready != nil && ready(st) {
				if progress != nil {
					fmt.Fprintf(progress, "  pod %s: %s, its readiness check passed when run now\n", name, st.Summary())
				}
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return st, waitingErr(ctx, ns, name, st)
		case <-tick.C:
		}
	}
}

// TailLines is how much of a failed container's output errors quote.
const TailLines = 15

// lastWords quotes the last output of a Pod's containers that exited or
// restarted; a fresh context, ctx may be what ended.
func (c *Client) lastWords(ctx context.Context, ns string, st PodStatus) string {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var b strings.Builder
	for _, cs := range st.Containers {
		if !cs.Terminated && cs.Restarts == 0 {
			continue
		}
		var out strings.Builder
		o := LogOptions{Tail: TailLines}
		if cs.Restarts > 0 && !cs.Terminated {
			// The running one has just started again; the last words
			// are those of the one before.
			_ = c.Run(tctx, Stdio{Stdout: &out}, "logs", "-n", ns, st.Name, "-c", cs.Name, "--previous", "--tail", fmt.Sprint(TailLines))
		} else {
			_ = c.Logs(tctx, ns, st.Name, cs.Name, o, &out)
		}
		t := strings.TrimSpace(out.String())
		if t == "" {
			continue
		}
		t = strings.Map(func(r rune) rune {
			if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
				return '?'
			}
			return r
		}, t)
		fmt.Fprintf(&b, "; %s's last output:\n    %s", cs.Name, strings.ReplaceAll(t, "\n", "\n    "))
	}
	return b.String()
}

func waitingErr(ctx context.Context, ns, name string, st PodStatus) error {
	s := st.Summary()
	if st.Name == "" {
		s = "not seen yet"
	}
	if st.Unschedulable != "" {
		s += "; the scheduler says: " + st.Unschedulable
	}
	return fmt.Errorf("waiting for pod %s/%s to be Ready: %w; it is %s", ns, name, context.Cause(ctx), s)
}
