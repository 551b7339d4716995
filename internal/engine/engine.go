// Package engine is the one place claude-bottle talks to the Docker Engine
// (the Compose tool aside, which composecli runs): questions (version,
// runtimes, container states and health, the resources cleanup must find,
// images) and actions (exec, interactive or not, cp, kill, build). It goes
// through the docker CLI, which an interactive `docker exec -it` needs
// anyway; one client means one place where API versions are negotiated,
// and Explain is the one place where a failure is put in words for a user.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Docker runs the docker CLI and returns its trimmed stdout; a failure is
// an *Error (see Explain) carrying stderr.
func Docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	return strings.TrimSpace(out.String()), Explain(ctx, "docker", args, stderr.String(), err)
}

// ServerVersion is the engine's version ("20.10.24+dfsg1").
func ServerVersion(ctx context.Context) (string, error) {
	v, err := Docker(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil && !errors.Is(err, ErrUnreachable) {
		return "", fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if err != nil {
		return "", err
	}
	return v, nil
}

// DNSLeakFixed reports whether an engine version has the fix for
// CVE-2024-29018 (internal networks' DNS forwarded off the machine): 25.0.5
// and later. Unparseable versions are treated as unfixed.
func DNSLeakFixed(version string) bool {
	v := version
	if i := strings.IndexAny(v, "+-~ "); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		nums[i] = n
	}
	switch {
	case nums[0] != 25:
		return nums[0] > 25
	case nums[1] != 0:
		return true
	default:
		return nums[2] >= 5
	}
}

// Runtimes lists the OCI runtimes the engine offers (runc, runsc, ...).
func Runtimes(ctx context.Context) ([]string, error) {
	out, err := Docker(ctx, "info", "--format", "{{json .Runtimes}}")
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("docker info runtimes: %v", err)
	}
	var names []string
	for k := range m {
		names = append(names, k)
	}
	return names, nil
}

// ContainerState is what WaitHealthy looks at.
type ContainerState struct {
	Name     string
	Status   string // created, running, exited, ...
	Health   string // "", starting, healthy, unhealthy
	ExitCode int
	// Restarts is how many times Docker restarted it (restart policy).
	Restarts int
	// StartedAt is when it last started (zero if never).
	StartedAt time.Time
	// HealthLog is the last healthcheck output, for error messages.
	HealthLog string
	// HealthCmd is the container's healthcheck as an argv to exec in it
	// (["CMD", argv...] as is, ["CMD-SHELL", cmd] through /bin/sh), or nil.
	HealthCmd []string
}

// Inspect returns the state of a container; ok is false when it does not
// exist.
func Inspect(ctx context.Context, name string) (st ContainerState, ok bool, err error) {
	out, err := Docker(ctx, "inspect", "--type", "container", "--format", `{"State":{{json .State}},"Healthcheck":{{json .Config.Healthcheck}},"RestartCount":{{.RestartCount}}}`, name)
	if err != nil {
		if strings.Contains(err.Error(), "No such") || strings.Contains(err.Error(), "no such") {
			return st, false, nil
		}
		return st, false, err
	}
	var raw struct {
		State struct {
			Status    string
			ExitCode  int
			StartedAt time.Time
			Health    *struct {
				Status string
				Log    []struct{ Output string }
			}
		}
		Healthcheck  *struct{ Test []string }
		RestartCount int
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return st, false, fmt.Errorf("inspect %s: %v", name, err)
	}
	st = ContainerState{Name: name, Status: raw.State.Status, ExitCode: raw.State.ExitCode, Restarts: raw.RestartCount}
	if raw.State.StartedAt.Year() > 1 {
		st.StartedAt = raw.State.StartedAt
	}
	if h := raw.State.Health; h != nil {
		st.Health = h.Status
		if n := len(h.Log); n > 0 {
			st.HealthLog = strings.TrimSpace(h.Log[n-1].Output)
		}
	}
	if hc := raw.Healthcheck; hc != nil && len(hc.Test) > 1 {
		switch {
		case hc.Test[0] == "CMD":
			st.HealthCmd = hc.Test[1:]
		case hc.Test[0] == "CMD-SHELL" && len(hc.Test) == 2:
			st.HealthCmd = []string{"/bin/sh", "-c", hc.Test[1]}
		}
	}
	return st, true, nil
}

// WaitHealthy waits until every named container runs and, where it has a
// healthcheck, reports healthy. It fails fast when one exits or turns
// unhealthy, and prints each container's transition to progress.
func WaitHealthy(ctx context.Context, names []string, progress io.Writer) error {
	pending := map[string]string{}
	for _, n := range names {
		pending[n] = ""
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, n := range names {
			last, waiting := pending[n]
			if !waiting {
				continue
			}
			st, ok, err := Inspect(ctx, n)
			if err != nil {
				if ctx.Err() != nil {
					return waitingErr(ctx, pending)
				}
				return err
			}
			if !ok {
				return fmt.Errorf("container %s does not exist", n)
			}
			now := st.Status
			if st.Health != "" {
				now += "/" + st.Health
			}
			if now != last && progress != nil {
				fmt.Fprintf(progress, "  %s: %s\n", n, now)
			}
			pending[n] = now
			switch {
			// The teardown that follows a failed start removes the
			// container, so its own last words go into the error now.
			case st.Status == "exited" || st.Status == "dead":
				return fmt.Errorf("container %s exited with code %d%s", n, st.ExitCode, lastWords(ctx, n))
			case st.Status == "restarting":
				// Between two runs of a crash loop: its restart policy
				// brings it back, but a sidecar that crashes while the
				// bottle starts is not going to get better by waiting.
				return fmt.Errorf("container %s keeps exiting (last exit code %d, restarted %d times)%s", n, st.ExitCode, st.Restarts, lastWords(ctx, n))
			case st.Health == "unhealthy":
				return fmt.Errorf("container %s is unhealthy: %s%s", n, st.HealthLog, lastWords(ctx, n))
			case st.Status == "running" && (st.Health == "" || st.Health == "healthy"):
				delete(pending, n)
			case st.Status == "running" && st.Health == "starting" && probeHealth(ctx, st):
				// Docker's first probe comes one interval after the start;
				// the same command run now says what it will say.
				if progress != nil {
					fmt.Fprintf(progress, "  %s: running/healthy (its healthcheck, run now)\n", n)
				}
				delete(pending, n)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return waitingErr(ctx, pending)
		case <-tick.C:
		}
	}
}

// TailLines is how much of a failed container's output errors quote.
const TailLines = 15

// lastWords is ": its last output:" and the container's last lines, or ""
// when it printed nothing. A fresh context: ctx may be what ended.
func lastWords(ctx context.Context, name string) string {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	t := Tail(tctx, name, TailLines)
	if t == "" {
		return " (it printed nothing)"
	}
	// Shown on the operator's terminal: no control sequences.
	t = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			return '?'
		}
		return r
	}, t)
	return "; its last output:\n    " + strings.ReplaceAll(t, "\n", "\n    ")
}

// probeHealth runs a starting container's own healthcheck now and
// reports whether it passed. Docker runs the first probe only one interval
// after the start (30 s for claude-bottle's sidecars, whose probes cost the
// host CPU; engines before 25 have no start_interval).
func probeHealth(ctx context.Context, st ContainerState) bool {
	if len(st.HealthCmd) == 0 {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := Docker(pctx, append([]string{"exec", st.Name}, st.HealthCmd...)...)
	return err == nil
}

// waitingErr says why WaitHealthy stopped early and what it still waited for.
func waitingErr(ctx context.Context, pending map[string]string) error {
	var left []string
	for n, s := range pending {
		if s == "" {
			s = "not seen yet"
		}
		left = append(left, n+" ("+s+")")
	}
	sort.Strings(left)
	return fmt.Errorf("waiting for health: %w; still waiting for %s", context.Cause(ctx), strings.Join(left, ", "))
}

// Resource is a container, network or volume that belongs to claude-bottle.
// Slug is its dev.claude-bottle.slug label (empty on a resource made by
// hand or by an older version).
type Resource struct {
	Kind, ID, Name, Project, Slug string
}

// ListResources finds every container, network and volume named
// claude-bottle-* or labelled by claude-bottle, with its compose project.
func ListResources(ctx context.Context) ([]Resource, error) {
	var out []Resource
	seen := map[string]bool{}
	add := func(r Resource) {
		if !seen[r.Kind+r.ID] {
			seen[r.Kind+r.ID] = true
			out = append(out, r)
		}
	}
	queries := []struct {
		kind string
		args []string
	}{
		// Name filters match substrings on some engines, hence the prefix
		// check below; label filters are exact.
		{"container", []string{"ps", "-a", "--filter", "name=^claude-bottle-", "--format", "{{.ID}}\t{{.Names}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"dev.claude-bottle.slug\"}}"}},
		{"container", []string{"ps", "-a", "--filter", "label=dev.claude-bottle.managed", "--format", "{{.ID}}\t{{.Names}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"dev.claude-bottle.slug\"}}"}},
		{"network", []string{"network", "ls", "--filter", "name=^claude-bottle-", "--format", "{{.ID}}\t{{.Name}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"dev.claude-bottle.slug\"}}"}},
		{"network", []string{"network", "ls", "--filter", "label=dev.claude-bottle.managed", "--format", "{{.ID}}\t{{.Name}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"dev.claude-bottle.slug\"}}"}},
		{"volume", []string{"volume", "ls", "--filter", "label=dev.claude-bottle.managed", "--format", "{{.Name}}\t{{.Name}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"dev.claude-bottle.slug\"}}"}},
	}
	for _, q := range queries {
		res, err := Docker(ctx, q.args...)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(res, "\n") {
			f := strings.Split(line, "\t")
			if len(f) < 4 || f[0] == "" {
				continue
			}
			byName := strings.Contains(strings.Join(q.args, " "), "name=")
			if byName && !strings.HasPrefix(f[1], "claude-bottle-") {
				continue
			}
			add(Resource{Kind: q.kind, ID: f[0], Name: f[1], Project: f[2], Slug: f[3]})
		}
	}
	return out, nil
}

// Remove deletes resources: containers first (forced), then networks, then
// volumes. It keeps going past errors and returns them joined.
func Remove(ctx context.Context, rs []Resource) error {
	var errs []error
	for _, kind := range []string{"container", "network", "volume"} {
		var ids []string
		for _, r := range rs {
			if r.Kind == kind {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		var args []string
		switch kind {
		case "container":
			args = append([]string{"rm", "-f", "-v"}, ids...)
		case "network":
			args = append([]string{"network", "rm"}, ids...)
		case "volume":
			args = append([]string{"volume", "rm", "-f"}, ids...)
		}
		if _, err := Docker(ctx, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// LiveProjects names the compose projects that have at least one container.
func LiveProjects(ctx context.Context) (map[string]bool, error) {
	rs, err := ListResources(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, r := range rs {
		if r.Kind == "container" && r.Project != "" {
			live[r.Project] = true
		}
	}
	return live, nil
}

// StreamLogs streams a container's output (stdout and stderr, each line
// with the engine's RFC 3339 timestamp first, whole lines only) to w. With
// follow it returns when the container is removed or ctx ends (neither is
// an error).
func StreamLogs(ctx context.Context, name string, follow bool, w io.Writer) error {
	args := []string{"logs", "--timestamps"}
	if follow {
		args = append(args, "--follow")
	}
	lw := &lineWriter{w: w}
	err := Run(ctx, Stdio{Stdout: lw, Stderr: lw.stderr()}, append(args, name)...)
	lw.flush()
	var e *Error
	if err != nil && (ctx.Err() != nil || errors.As(err, &e) && strings.Contains(strings.ToLower(e.Msg), "no such container")) {
		return nil
	}
	return err
}

// Tail returns the last n lines of a container's own output, or "" when
// the engine has none for it.
//
// The container's stdout and stderr come back on the CLI's own two
// streams; they are read into separate buffers (one buffer behind both
// came back empty on this machine's docker CLI 28) and joined, stderr
// last: a dying daemon's cause is usually there.
func Tail(ctx context.Context, name string, n int) string {
	cmd := exec.CommandContext(ctx, "docker", "logs", "--tail", strconv.Itoa(n), name)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cmd.Run() != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimSpace(out.String()) + "\n" + strings.TrimSpace(errb.String()))
}

// lineWriter passes whole lines to w, so stdout and stderr of one
// container never interleave inside a line.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf map[int][]byte
}

type lineSide struct {
	lw   *lineWriter
	side int
}

func (l *lineWriter) Write(p []byte) (int, error) { return lineSide{l, 0}.Write(p) }
func (l *lineWriter) stderr() io.Writer           { return lineSide{l, 1} }

func (s lineSide) Write(p []byte) (int, error) {
	l := s.lw
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		l.buf = map[int][]byte{}
	}
	b := append(l.buf[s.side], p...)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		if _, err := l.w.Write(b[:i+1]); err != nil {
			return 0, err
		}
		b = b[i+1:]
	}
	l.buf[s.side] = append([]byte(nil), b...)
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.buf {
		if len(b) > 0 {
			_, _ = l.w.Write(append(b, '\n'))
		}
	}
}
