package kuberender

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// TestUpstreamCA is where pipelock finds a test upstream's CA (the path
// compose uses).
const TestUpstreamCA = "/etc/claude-bottle/test-upstream-ca.crt"

// Volume names of the sidecars Pod that are not stores.
const (
	volGitGateConfig  = "git-gate-config"
	volGitGateData    = "git-gate-data"
	volSuperviseQueue = "supervise-queue"
	volTmp            = "tmp"
	volCerts          = "ca-certificates"
)

// daemonSpec is what one daemon needs in the sidecars container: the same
// env and in-container paths as its compose service.
type daemonSpec struct {
	env    []corev1.EnvVar
	mounts []mount
}

// mount is a volume at a path; the volume is defined once per Pod.
type mount struct {
	volume corev1.Volume
	path   string
	// subPath mounts one file of the volume (a file that never changes).
	subPath string
	rw      bool
}

func (r *renderer) storeMount(name, at string) mount {
	return mount{volume: corev1.Volume{Name: name, VolumeSource: volumeSource(storeByName(r.p, name))}, path: at}
}

func emptyDir(name, at string, memory bool) mount {
	src := &corev1.EmptyDirVolumeSource{}
	if memory {
		src.Medium = corev1.StorageMediumMemory
	}
	return mount{volume: corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}}, path: at, rw: true}
}

// secretEnv is a variable whose value comes from a key of a Secret.
func secretEnv(secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}}
}

func (r *renderer) daemonSpec(daemon string) daemonSpec {
	p := r.p
	var d daemonSpec
	switch daemon {
	case layout.DaemonEgress:
		d.env = []corev1.EnvVar{
			{Name: "EGRESS_UPSTREAM_PROXY", Value: fmt.Sprintf("http://%s:%d", p.PipelockHost(), layout.PipelockPort)},
			{Name: "EGRESS_UPSTREAM_CA", Value: layout.TrustPipelockCACert},
		}
		for _, t := range p.TokenSlots {
			d.env = append(d.env, secretEnv(SidecarsEnvSecret, t.Slot))
		}
		d.mounts = []mount{
			r.storeMount(EgressConfigMap, layout.EgressConfigDir),
			r.storeMount(EgressCASecret, layout.EgressCADir),
			r.storeMount(TrustConfigMap, layout.TrustDir),
		}
	case layout.DaemonPipelock:
		for _, s := range p.SecretSlots {
			d.env = append(d.env, secretEnv(SidecarsEnvSecret, s.Slot))
		}
		d.mounts = []mount{
			r.storeMount(PipelockConfigMap, layout.PipelockConfigDir),
			r.storeMount(PipelockCASecret, layout.PipelockCADir),
		}
		if tu := p.TestUpstream; tu != nil {
			if tu.CAFile != "" {
				d.mounts = append(d.mounts, mount{
					volume: corev1.Volume{Name: TestUpstreamCAConfigMap, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: TestUpstreamCAConfigMap},
					}}},
					path: TestUpstreamCA, subPath: TestUpstreamCAKey,
				})
				d.env = append(d.env, corev1.EnvVar{Name: "SSL_CERT_FILE", Value: TestUpstreamCA})
			}
			if len(tu.AllowPrivate) > 0 {
				d.env = append(d.env, corev1.EnvVar{Name: "PIPELOCK_ALLOW_PRIVATE_UPSTREAM", Value: strings.Join(tu.AllowPrivate, ",")})
			}
		}
	case layout.DaemonGitGate:
		// The agent's own secrets: the gate refuses pushes carrying them.
		for _, s := range p.SecretSlots {
			d.env = append(d.env, secretEnv(SidecarsEnvSecret, s.Slot))
		}
		d.mounts = []mount{
			{volume: corev1.Volume{Name: volGitGateConfig, VolumeSource: projected(storeByName(p, GitGateConfigMap), storeByName(p, GitGateKeysSecret))}, path: layout.GitGateConfigDir},
			emptyDir(volGitGateData, layout.GitGateDataDir, false),
		}
	case layout.DaemonSupervise:
		d.env = []corev1.EnvVar{
			{Name: "SUPERVISE_BOTTLE_SLUG", Value: p.Slug},
			{Name: "SUPERVISE_QUEUE_DIR", Value: layout.SuperviseQueueDir},
			{Name: "SUPERVISE_PORT", Value: fmt.Sprint(layout.SupervisePort)},
		}
		d.mounts = []mount{emptyDir(volSuperviseQueue, layout.SuperviseQueueDir, false)}
		if p.Has(layout.DaemonEgress) {
			d.mounts = append(d.mounts, r.storeMount(EgressConfigMap, layout.EgressConfigDir))
		}
		d.mounts = append(d.mounts, r.storeMount(PipelockConfigMap, layout.PipelockConfigDir))
	}
	return d
}

// sidecarName is one name the agent reaches a daemon by.
type sidecarName struct {
	name   string
	daemon string
}

// sidecarNames are compose's bundle aliases, in its order: every legacy
// short name and every per-slug long name, so nothing on the agent side
// changes.
func sidecarNames(p *plan.Plan) []sidecarName {
	var out []sidecarName
	for _, d := range p.Daemons {
		switch d {
		case layout.DaemonEgress, layout.DaemonSupervise:
			out = append(out, sidecarName{d, d}, sidecarName{layout.SidecarContainer(d, p.Slug), d})
		default:
			out = append(out, sidecarName{layout.SidecarContainer(d, p.Slug), d})
		}
	}
	return out
}

func names(p *plan.Plan) []string {
	var out []string
	for _, n := range sidecarNames(p) {
		out = append(out, n.name)
	}
	return out
}

// daemonPort is the port a daemon listens on.
func daemonPort(d string) int32 {
	switch d {
	case layout.DaemonEgress:
		return layout.EgressPort
	case layout.DaemonPipelock:
		return layout.PipelockPort
	case layout.DaemonGitGate:
		return layout.GitGatePort
	case layout.DaemonSupervise:
		return layout.SupervisePort
	}
	panic("kuberender: unknown daemon " + d)
}

// hardened is every container's security context: no capabilities, no
// privilege escalation, never root.
func hardened(readOnlyRoot bool) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Privileged:               ptr(false),
		RunAsNonRoot:             ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	if readOnlyRoot {
		sc.ReadOnlyRootFilesystem = ptr(true)
	}
	return sc
}

// podSecurity is both Pods' security context. RuntimeDefault seccomp is
// what Docker applies by default; Kubernetes applies none unless asked.
func podSecurity(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(uid),
		RunAsGroup:     ptr(uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// terminationGrace covers the bundle init's 8 s before it kills its
// daemons.
const terminationGrace int64 = 10

// agentGrace is the agent Pod's: nothing in it saves state on SIGTERM
// (claude runs under exec, which ends with the Pod), so a stop need not
// wait out the sidecars' grace.
const agentGrace int64 = 1

// probe is the init's health command, as compose's healthcheck runs it.
func probe(period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{plan.SidecarInitBinary, "health"}}},
		PeriodSeconds:    period,
		TimeoutSeconds:   5,
		FailureThreshold: failures,
	}
}

// sidecarsPod is the bundle: one container, the init and the daemons it
// needs, with the union of the daemons' env and mounts.
func (r *renderer) sidecarsPod() *corev1.Pod {
	p := r.p
	c := corev1.Container{
		Name:            SidecarsContainer,
		Image:           p.SidecarImage,
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{plan.SidecarInitBinary, "init"},
		Env:             []corev1.EnvVar{{Name: "CLAUDE_BOTTLE_SIDECAR_DAEMONS", Value: strings.Join(p.Daemons, ",")}},
		SecurityContext: hardened(true),
		// Starting is checked every second, so the Pod is Ready as soon as
		// the daemons answer; after that every 30 s, as compose does (each
		// probe is an exec, and costs the node CPU).
		StartupProbe:   probe(1, 60),
		ReadinessProbe: probe(30, 3),
	}
	var vols []corev1.Volume
	seenVol := map[string]bool{}
	seenPath := map[string]bool{}
	seenEnv := map[string]bool{}
	for _, daemon := range p.Daemons {
		d := r.daemonSpec(daemon)
		// Never HTTP_PROXY/HTTPS_PROXY/NO_PROXY here: they would send
		// git-gate's ssh and fetches through pipelock.
		for _, e := range d.env {
			if !seenEnv[e.Name] {
				seenEnv[e.Name] = true
				c.Env = append(c.Env, e)
			}
		}
		for _, m := range d.mounts {
			if !seenVol[m.volume.Name] {
				seenVol[m.volume.Name] = true
				vols = append(vols, m.volume)
			}
			if !seenPath[m.path] {
				seenPath[m.path] = true
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: m.volume.Name, MountPath: m.path, SubPath: m.subPath, ReadOnly: !m.rw})
			}
		}
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: daemon, ContainerPort: daemonPort(daemon), Protocol: corev1.ProtocolTCP})
	}
	// compose's tmpfs /tmp under a read-only root.
	tmp := emptyDir(volTmp, "/tmp", true)
	vols = append(vols, tmp.volume)
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volTmp, MountPath: tmp.path})

	sec := podSecurity(SidecarUID)
	// Secret and projected files are root:SidecarUID 0440 (secretMode).
	sec.FSGroup = ptr(SidecarUID)
	spec := corev1.PodSpec{
		ServiceAccountName:            SidecarsServiceAccount,
		AutomountServiceAccountToken:  ptr(false),
		EnableServiceLinks:            ptr(false),
		RestartPolicy:                 corev1.RestartPolicyOnFailure,
		TerminationGracePeriodSeconds: ptr(terminationGrace),
		SecurityContext:               sec,
		HostAliases:                   r.sidecarsHostAliases(),
		Containers:                    []corev1.Container{c},
		Volumes:                       vols,
	}
	return &corev1.Pod{TypeMeta: tmPod, ObjectMeta: r.meta(layout.SidecarContainer(SidecarsContainer, p.Slug), RoleSidecars), Spec: spec}
}

// sidecarsHostAliases: the daemons reach each other by their names (egress
// dials pipelock by its long name), which on Docker resolve to the bundle
// itself; here they are this Pod's loopback. Then the gate's extra_hosts,
// one entry per address in first-seen order, then the test upstream's
// names (by name: a map has no order of its own).
func (r *renderer) sidecarsHostAliases() []corev1.HostAlias {
	out := []corev1.HostAlias{{IP: "127.0.0.1", Hostnames: names(r.p)}}
	at := map[string]int{}
	add := func(ip, host string) {
		i, ok := at[ip]
		if !ok {
			i = len(out)
			at[ip] = i
			out = append(out, corev1.HostAlias{IP: ip})
		}
		if !contains(out[i].Hostnames, host) {
			out[i].Hostnames = append(out[i].Hostnames, host)
		}
	}
	if r.p.Has(layout.DaemonGitGate) {
		for _, g := range r.p.Bottle.Git {
			for _, h := range g.ExtraHosts {
				add(h.IP, h.Host)
			}
		}
	}
	if tu := r.p.TestUpstream; tu != nil {
		for _, host := range slices.Sorted(maps.Keys(tu.Hosts)) {
			add(tu.Hosts[host], host)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// trustScript builds the system CA bundle the agent's SSL_CERT_FILE and
// friends name, with the bottle's CA appended: the image's own
// /etc/ssl/certs copied into an emptyDir that the agent mounts over
// /etc/ssl/certs. On Docker provisioning appends the CA as root; the
// agent Pod runs nothing as root. The bundle is written afresh each time
// (a rerun never appends twice, a symlinked bundle is replaced by a file).
const trustScript = `set -e
out="$1"; ca="$2"; bundle=ca-certificates.crt
if [ -d /etc/ssl/certs ]; then cp -RP /etc/ssl/certs/. "$out"/; fi
rm -f "$out/$bundle"
{ if [ -f "/etc/ssl/certs/$bundle" ]; then cat "/etc/ssl/certs/$bundle"; fi; cat "$ca"; } > "$out/$bundle"`

// certsStaging is where the init container sees the emptyDir.
const certsStaging = "/run/claude-bottle/certs"

// systemCerts is the folder the agent's system bundle lives in.
const systemCerts = "/etc/ssl/certs"

// agentPod idles (`sleep infinity`); the CLI runs claude in it with exec.
func (r *renderer) agentPod() *corev1.Pod {
	p := r.p
	trust := r.storeMount(TrustConfigMap, layout.TrustDir)
	certs := emptyDir(volCerts, systemCerts, false)
	init := corev1.Container{
		Name:            TrustInitContainer,
		Image:           p.AgentImage,
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"sh", "-c", trustScript, "sh", certsStaging, p.AgentCA},
		SecurityContext: hardened(false),
		VolumeMounts: []corev1.VolumeMount{
			{Name: trust.volume.Name, MountPath: trust.path, ReadOnly: true},
			{Name: volCerts, MountPath: certsStaging},
		},
	}
	c := corev1.Container{
		Name:  AgentContainer,
		Image: p.AgentImage,
		// Never pulled: no registry may be reachable, and a bottle must not
		// fetch code it was not given (images are imported into the node).
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"sleep", "infinity"},
		Env:             r.agentEnv(),
		// No capabilities: the agent user needs none, and nothing runs as
		// root in this Pod (the CA arrives through the init container).
		SecurityContext: hardened(false),
		VolumeMounts: []corev1.VolumeMount{
			{Name: trust.volume.Name, MountPath: trust.path, ReadOnly: true},
			{Name: volCerts, MountPath: certs.path},
		},
	}
	spec := corev1.PodSpec{
		ServiceAccountName:           AgentServiceAccount,
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
		Hostname:                     p.Slug,
		// compose's init: true. With a shared process namespace the
		// pause process is PID 1: it reaps what exec'd commands leave
		// behind, and `sleep infinity` ends on SIGTERM.
		ShareProcessNamespace:         ptr(true),
		RestartPolicy:                 corev1.RestartPolicyNever,
		TerminationGracePeriodSeconds: ptr(agentGrace),
		SecurityContext:               podSecurity(AgentUID),
		// No resolver at all (Docker's CVE-2024-29018 concern, and here
		// cluster DNS would answer for every Service in the cluster): the
		// sidecar names come from hostAliases, nothing else resolves.
		DNSPolicy:      corev1.DNSNone,
		DNSConfig:      &corev1.PodDNSConfig{Nameservers: []string{"127.0.0.1"}},
		InitContainers: []corev1.Container{init},
		Containers:     []corev1.Container{c},
		Volumes:        []corev1.Volume{trust.volume, certs.volume},
	}
	if r.in.SidecarsIP != "" {
		spec.HostAliases = []corev1.HostAlias{{IP: r.in.SidecarsIP, Hostnames: names(p)}}
	}
	if p.Runtime != "" {
		spec.RuntimeClassName = ptr(p.Runtime)
	}
	return &corev1.Pod{TypeMeta: tmPod, ObjectMeta: r.meta(layout.AgentContainer(p.Slug), RoleAgent), Spec: spec}
}

// agentEnv is the plan's agent env; a secret entry's value comes from the
// agent-env Secret, never from a sidecars Secret.
func (r *renderer) agentEnv() []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, e := range r.p.AgentEnv {
		if e.FromProcess {
			env = append(env, secretEnv(AgentEnvSecret, e.Key))
		} else {
			env = append(env, corev1.EnvVar{Name: e.Key, Value: e.Value})
		}
	}
	return env
}

// services: one per sidecar name, selecting the sidecars Pod, for clusters
// whose DNS and kube-proxy make them reachable. The agent itself reaches
// the Pod through hostAliases.
func (r *renderer) services() []Object {
	var out []Object
	for _, n := range sidecarNames(r.p) {
		port := daemonPort(n.daemon)
		out = append(out, &corev1.Service{
			TypeMeta:   tmService,
			ObjectMeta: r.meta(n.name, RoleSidecars),
			Spec: corev1.ServiceSpec{
				Selector: r.selector(RoleSidecars),
				Ports: []corev1.ServicePort{{
					Name: n.daemon, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromInt32(port),
				}},
			},
		})
	}
	return out
}
