package cli

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/activity"
	"github.com/claude-bottle/claude-bottle/internal/kubectl"
	"github.com/claude-bottle/claude-bottle/internal/kuberender"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/sidecarinit"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// describeKubeBottle is describeBottle for a bottle on a cluster: the
// Pods' states from the API server, each daemon's health asked in the
// sidecars Pod now, the counts from its logs.
func describeKubeBottle(ctx context.Context, m *state.Metadata, sd layout.StateDir, info *bottleInfo) (*bottleInfo, error) {
	info.Shape = "k8s"
	k, err := kubeClientOf(m)
	if err != nil {
		info.Status, info.Why, info.Activity = "unknown", err.Error(), "unknown"
		return info, err
	}
	ns := m.Kube.Namespace
	var root kubectl.Meta
	found, kerr := k.Get(ctx, ns, "configmap", kuberender.RootName, &root)
	running := setStatus(info, sd, found && root.Metadata.DeletionTimestamp == nil, kerr)
	daemons := []string{layout.DaemonPipelock}
	for _, role := range slices.Sorted(maps.Keys(m.Containers)) {
		name := m.Containers[role]
		ci := containerInfo{Role: role, Name: name, Status: "unknown"}
		if kerr == nil {
			var raw json.RawMessage
			ok, err := k.Get(ctx, ns, "pod", name, &raw)
			switch {
			case err != nil:
			case !ok:
				ci.Status = "gone"
			default:
				st, _ := kubectl.ParsePod(raw)
				ci.Status = strings.ToLower(st.Phase)
				for _, c := range st.Containers {
					ci.Restarts += c.Restarts
				}
				if t := podStarted(raw); !t.IsZero() && st.Phase == "Running" {
					ci.StartedAt, ci.UptimeS = &t, int64(time.Since(t).Seconds())
				}
				if role == "sidecars" {
					if ds := podDaemons(raw); len(ds) > 0 {
						daemons = ds
					}
				}
			}
		}
		info.Containers = append(info.Containers, ci)
	}
	src, _ := kubeLogSource(ctx, m, sd)
	evs, _ := activity.History(ctx, src)
	restarts := map[string]int{}
	tallyActivity(info, restarts, evs)
	for _, d := range daemons {
		di := daemonInfo{Name: d, Container: m.Containers["sidecars"], Restarts: restarts[d]}
		switch {
		case kerr != nil:
			di.Health = "unknown"
		case !running:
			di.Health = "down"
		default:
			s := kubectl.ExecSpec{Namespace: ns, Pod: di.Container, Container: kuberender.SidecarsContainer}
			if out, err := k.ExecOutput(ctx, s, plan.SidecarInitBinary, "health", d); err != nil {
				di.Health, di.Detail = "unhealthy", healthDetail(out, err)
			} else {
				di.Health = "healthy"
			}
		}
		info.Daemons = append(info.Daemons, di)
	}
	return info, kerr
}

// podStarted is when a Pod's first container last started.
func podStarted(raw []byte) time.Time {
	var p struct {
		Status struct {
			ContainerStatuses []struct {
				State struct {
					Running *struct {
						StartedAt time.Time `json:"startedAt"`
					} `json:"running"`
				} `json:"state"`
			} `json:"containerStatuses"`
		} `json:"status"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return time.Time{}
	}
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Running != nil {
			return c.State.Running.StartedAt
		}
	}
	return time.Time{}
}

// podDaemons is what the sidecars Pod was told to run.
func podDaemons(raw []byte) []string {
	var p struct {
		Spec struct {
			Containers []struct {
				Env []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"env"`
			} `json:"containers"`
		} `json:"spec"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == sidecarinit.EnvDaemons {
				if ds, err := sidecarinit.ParseDaemons(e.Value); err == nil {
					return ds
				}
			}
		}
	}
	return nil
}
