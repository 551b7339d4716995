// Package composecli drives a rendered bottle through the Compose tool the
// machine has: `docker compose` (v2) when present, else Debian's
// `docker-compose` (1.x). Both get the same project name with -p, so
// containers, networks and labels are the same either way; 1.x gets the file
// without its top-level name: (see compose.ForComposeV1).
package composecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
)

// Runner runs one Compose tool.
type Runner struct {
	// Argv is the command prefix: ["docker", "compose"] or ["docker-compose"].
	Argv []string
	// V1 is true for docker-compose 1.x.
	V1      bool
	Version string
}

// Detect finds the Compose tool: v2 first, then 1.x.
func Detect(ctx context.Context) (*Runner, error) { return DetectCached(ctx, "") }

// DetectCached is Detect that remembers docker-compose's version in
// cacheFile ("" for none), keyed by the program's path, size and
// modification time: a Python docker-compose takes ~0.5 s just to print its
// version, on every start. The cache is best effort; a changed program is
// asked again.
func DetectCached(ctx context.Context, cacheFile string) (*Runner, error) {
	var problems []string
	if v, ok := probe(ctx, &problems, "docker", "compose"); ok {
		return &Runner{Argv: []string{"docker", "compose"}, Version: v}, nil
	}
	key := programKey("docker-compose")
	if v, ok := readCache(cacheFile, key); ok {
		return v1Runner(v), nil
	}
	if v, ok := probe(ctx, &problems, "docker-compose"); ok {
		writeCache(cacheFile, key, v)
		return v1Runner(v), nil
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("no working Compose tool: %s", strings.Join(problems, "; "))
	}
	return nil, errors.New("no Compose tool found: install Docker Compose v2 (the `docker compose` plugin) or docker-compose")
}

// Installed is every Compose tool that answers on this machine, v2 first:
// for checking a file against each (Detect picks one to run bottles).
func Installed(ctx context.Context) []*Runner {
	var out []*Runner
	var problems []string
	if v, ok := probe(ctx, &problems, "docker", "compose"); ok {
		out = append(out, &Runner{Argv: []string{"docker", "compose"}, Version: v})
	}
	if v, ok := probe(ctx, &problems, "docker-compose"); ok {
		out = append(out, v1Runner(v))
	}
	return out
}

func v1Runner(version string) *Runner {
	return &Runner{Argv: []string{"docker-compose"}, V1: strings.HasPrefix(version, "1."), Version: version}
}

// probe asks the tool argv for its version; a tool that is on PATH but does
// not answer adds to problems.
func probe(ctx context.Context, problems *[]string, argv ...string) (string, bool) {
	if _, err := exec.LookPath(argv[0]); err != nil {
		return "", false
	}
	// docker-compose 1.x is a Python program: on a loaded machine
	// (ten bottles starting at once) `version` alone takes 20 s.
	c, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(c, argv[0], append(argv[1:], "version", "--short")...).Output()
	if err != nil {
		if c.Err() != nil {
			*problems = append(*problems, fmt.Sprintf("`%s version` did not answer within 90 s", strings.Join(argv, " ")))
		}
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// programKey identifies an installed program by its resolved path, size and
// modification time ("" when it is not on PATH).
func programKey(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s\x00%d\x00%d", p, fi.Size(), fi.ModTime().UnixNano())
}

type versionCache struct {
	Key     string `json:"key"`
	Version string `json:"version"`
}

func readCache(file, key string) (string, bool) {
	if file == "" || key == "" {
		return "", false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false
	}
	var c versionCache
	if json.Unmarshal(b, &c) != nil || c.Key != key || c.Version == "" {
		return "", false
	}
	return c.Version, true
}

// writeCache replaces the cache file by rename, so a reader never sees half
// of it; failures are ignored (the next start asks the program again).
func writeCache(file, key, version string) {
	if file == "" || key == "" {
		return
	}
	b, err := json.Marshal(versionCache{Key: key, Version: version})
	if err != nil || os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	_ = fileio.WriteFileAtomic(file, b, 0o644)
}

// String names the tool for messages.
func (r *Runner) String() string { return strings.Join(r.Argv, " ") + " " + r.Version }

func (r *Runner) cmd(ctx context.Context, project, file string, env []string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, r.Argv[1:]...), "-p", project, "-f", file)
	argv = append(argv, args...)
	c := exec.CommandContext(ctx, r.Argv[0], argv...)
	c.Env = env
	// On cancel (Ctrl-C), stop the tool gently; compose cleans up better
	// after SIGINT than after SIGKILL.
	c.Cancel = func() error { return c.Process.Signal(interruptSignal) }
	c.WaitDelay = 20 * time.Second
	return c
}

// Up creates and starts the project's containers, never building or
// pulling (images are ensured beforehand). env is the full process
// environment: it carries the token values compose copies into the
// containers that list their names.
func (r *Runner) Up(ctx context.Context, project, file string, env []string, progress io.Writer) error {
	args := []string{"up", "-d", "--no-build"}
	if !r.V1 {
		args = append(args, "--pull", "never")
	}
	return r.run(ctx, r.cmd(ctx, project, file, env, args...), progress)
}

// Down removes the project's containers, networks and volumes.
func (r *Runner) Down(ctx context.Context, project, file string, env []string, progress io.Writer) error {
	return r.run(ctx, r.cmd(ctx, project, file, env, "down", "-v", "--remove-orphans", "--timeout", "10"), progress)
}

// Config checks file as the tool reads it (config -q), printing nothing:
// what the tool rejects comes back as its error.
func (r *Runner) Config(ctx context.Context, project, file string, env []string) error {
	return r.run(ctx, r.cmd(ctx, project, file, env, "config", "-q"), nil)
}

// Logs writes every service's logs to w.
func (r *Runner) Logs(ctx context.Context, project, file string, env []string, w io.Writer) error {
	c := r.cmd(ctx, project, file, env, "logs", "--no-color", "--timestamps")
	c.Stdout = w
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err := c.Run() // before reading stderr: arguments are evaluated first
	return engine.Explain(ctx, r.Argv[0], c.Args[1:], stderr.String(), err)
}

// run runs c, streaming to progress, and says a failure through
// engine.Explain (the one translation of docker and Compose errors: the
// engine being down is one line, a Python traceback its last line).
func (r *Runner) run(ctx context.Context, c *exec.Cmd, progress io.Writer) error {
	var out bytes.Buffer
	if progress != nil {
		c.Stdout = io.MultiWriter(&out, progress)
		c.Stderr = io.MultiWriter(&out, progress)
	} else {
		c.Stdout, c.Stderr = &out, &out
	}
	err := c.Run() // before reading out: arguments are evaluated first
	return engine.Explain(ctx, r.Argv[0], c.Args[1:], out.String(), err)
}
