package launch

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/claudecode"
	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/worktree"
)

// progressMin is the tree size above which a copy reports its progress.
const progressMin = 8 << 20

// CopyWorkTree copies dir (with its .git) to /workspace in the agent, as
// the agent user: the files are the agent's without a chown (its
// capabilities are dropped, root cannot give files away). Links are
// copied as links, special files are left out with a warning.
func CopyWorkTree(ctx context.Context, p *plan.Plan, dir string, progress io.Writer) error {
	return CopyWorkTreeTo(ctx, DockerAgent(layout.AgentContainer(p.Slug)), dir, progress)
}

// CopyWorkTreeTo is CopyWorkTree through any Agent.
func CopyWorkTreeTo(ctx context.Context, c Agent, dir string, progress io.Writer) error {
	u, err := LookupUser(ctx, c)
	if err != nil {
		return err
	}
	m, err := worktree.Measure(dir)
	if err != nil {
		return fmt.Errorf("reading the work tree %s: %w", dir, err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "  copying %s to %s (%d files, %d links, %s)\n", dir, Workspace, m.Files, m.Links, worktree.MB(m.Bytes))
	}
	if err := ensureWorkspace(ctx, c, u); err != nil {
		return err
	}
	st, err := copyTree(ctx, c, u, dir, Workspace, progress)
	if err != nil {
		return fmt.Errorf("copying the work tree %s to %s: %w", dir, Workspace, err)
	}
	if len(st.Skipped) > 0 && progress != nil {
		fmt.Fprintf(progress, "warning: left out %d special files (devices, sockets, fifos) of the work tree: %s\n", len(st.Skipped), strings.Join(st.Skipped, ", "))
	}
	return nil
}

// ensureWorkspace gives the agent user a /workspace it owns. An image
// that made one for it (Dockerfile.agent) has it already. Otherwise the
// agent makes a folder in /tmp and root, which owns both / and /tmp and so
// needs no capability, renames it to /workspace: a rename keeps the owner,
// where a mkdir by root followed by a chown would need CAP_CHOWN. The
// folder is open to all for the moment of the rename (moving a folder to
// another parent writes its ".." entry, and root has no DAC override).
func ensureWorkspace(ctx context.Context, c Agent, u AgentUser) error {
	out, err := c.Output(ctx, u.Name, nil, "sh", "-c", `if [ -d "$1" ] && [ -w "$1" ] && [ -O "$1" ]; then echo ok; else d=$(mktemp -d /tmp/claude-bottle-workspace.XXXXXX) && chmod 777 "$d" && echo "$d"; fi`, "sh", Workspace)
	if err != nil {
		return err
	}
	if out == "ok" {
		return nil
	}
	if !c.Root() {
		_, _ = c.Output(ctx, u.Name, nil, "rmdir", out)
		return fmt.Errorf("the agent user %s has no %s it owns, and without root it cannot get one: make it in the image (RUN mkdir %s && chown %s %s)", u.Name, Workspace, Workspace, u.Name, Workspace)
	}
	_, err = c.Output(ctx, "root", nil, "sh", "-c", `set -e; if [ -e "$2" ]; then rmdir "$2"; fi; mv -T "$1" "$2"`, "sh", out, Workspace)
	if err == nil {
		// Open for the rename only (moving a folder rewrites its ".."):
		// the agent closes it again.
		_, err = c.Output(ctx, u.Name, nil, "chmod", "755", Workspace)
	}
	if err != nil {
		return fmt.Errorf("the agent image has a %s the agent user %s cannot write, and it cannot be replaced: %w (make it in the image: RUN mkdir %s && chown %s %s)", Workspace, u.Name, err, Workspace, u.Name, Workspace)
	}
	return nil
}

// copyTree streams src as tar into the container, where the agent user
// unpacks it into dst.
func copyTree(ctx context.Context, c Agent, u AgentUser, src, dst string, progress io.Writer) (worktree.Stats, error) {
	pr, pw := io.Pipe()
	type result struct {
		st  worktree.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := worktree.Write(pw, src, worktree.Options{Progress: progress, ProgressMin: progressMin})
		pw.CloseWithError(err)
		done <- result{st, err}
	}()
	xerr := c.Exec(ctx, u.Name, engine.Stdio{Stdin: pr},
		"sh", "-c", `mkdir -p "$1" && exec tar -x -f - -C "$1"`, "sh", dst)
	// tar may stop reading early (a full disk): unblock the writer.
	pr.CloseWithError(io.ErrClosedPipe)
	res := <-done
	if res.err != nil && res.err != io.ErrClosedPipe {
		return res.st, res.err
	}
	if xerr != nil {
		return res.st, xerr
	}
	return res.st, res.err
}

// writeFirstRun merges Claude Code's first-run state into the agent's
// ~/.claude.json and ~/.claude/settings.json. An API key the agent holds as a literal (the
// placeholder egress replaces) is approved, so an interactive session
// does not ask about it.
func writeFirstRun(ctx context.Context, c Agent, u AgentUser, p *plan.Plan) error {
	// One exec reads both files (JSON holds no NUL), one writes both.
	out, err := c.Output(ctx, u.Name, nil, "sh", "-c", `cat "$HOME/.claude.json" 2>/dev/null; printf '\0'; cat "$HOME/.claude/settings.json" 2>/dev/null; true`)
	if err != nil {
		return err
	}
	existing, settings, _ := strings.Cut(out, "\x00")
	key := ""
	for _, e := range p.AgentEnv {
		if e.Key == "ANTHROPIC_API_KEY" && !e.FromProcess {
			key = e.Value
		}
	}
	state, err := claudecode.FirstRun([]byte(existing), key)
	if err != nil {
		return fmt.Errorf("in %s: %w", c.Name(), err)
	}
	set, err := claudecode.Settings([]byte(settings))
	if err != nil {
		return fmt.Errorf("in %s: %w", c.Name(), err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{{".claude.json", state}, {".claude/", nil}, {".claude/settings.json", set}} {
		h := &tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			h.Mode, h.Typeflag = 0o700, tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	// tar -x replaces each file (unlink, then create) with the modes above.
	if _, err := c.Output(ctx, u.Name, &buf, "sh", "-c", `umask 077 && exec tar -x -f - -C "$HOME" --no-overwrite-dir`); err != nil {
		return fmt.Errorf("writing ~/.claude.json and ~/.claude/settings.json: %w", err)
	}
	return nil
}
