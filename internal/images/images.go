// Package images makes sure the project's own container images exist on the
// local engine: claude-bottle-sidecars:latest and
// claude-bottle-agent-test:latest. It is what `claude-bottle build` and the
// Docker tests call.
//
// No registry may be reachable (DESIGN.md §6), so nothing is pulled: a
// missing debian:bookworm-slim is made by scripts/make-base-image.sh
// (debootstrap + docker import), the sidecar binary is built on the host
// and copied in, and images are built with the plain docker CLI and
// classic-builder Dockerfiles. Each image carries a label with a hash of
// its inputs (Dockerfile, build context files, base image ID); an image
// whose label matches is not rebuilt, so repeated CI runs are fast.
package images

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/fakeclaude"
)

// Image names.
const (
	Sidecars  = "claude-bottle-sidecars:latest"
	AgentTest = "claude-bottle-agent-test:latest"
	// UpstreamTest is the demo's fake upstream (HTTPS API + ssh git).
	UpstreamTest = "claude-bottle-upstream-test:latest"
	// Base is the FROM of both Dockerfiles.
	Base = "debian:bookworm-slim"
)

// LabelInputs carries the hash of an image's build inputs.
const LabelInputs = "dev.claude-bottle.inputs"

// The static binaries the sidecar image copies, by file name; the
// Dockerfile expects them under dist/ of the build context.
const (
	SidecarBinary = "claude-bottle-sidecar"
	// InitBinary is the light init/healthcheck binary (no daemons linked).
	InitBinary = "claude-bottle-sidecar-init"
)

var binaries = map[string]string{SidecarBinary: "./cmd/claude-bottle-sidecar", InitBinary: "./cmd/claude-bottle-sidecar-init"}

// spec says how to build one image.
type spec struct {
	dockerfile string
	// sidecarBinaries: the build context needs the static binaries.
	sidecarBinaries bool
	// goBinary, if set, is a Go main package ("./cmd/...") built static
	// into goBinaryPath in the build context.
	goBinary, goBinaryPath string
	// files are written into the build context as they are
	// (context-relative path -> content), e.g. the stand-in claude.
	files map[string][]byte
}

var specs = map[string]spec{
	Sidecars:  {dockerfile: "Dockerfile.sidecars", sidecarBinaries: true},
	AgentTest: {dockerfile: "Dockerfile.agent-test", files: map[string][]byte{fakeclaude.ContextPath: fakeclaude.Script}},
	UpstreamTest: {dockerfile: "Dockerfile.upstream-test",
		goBinary: "./cmd/claude-bottle-testupstream", goBinaryPath: "dist/claude-bottle-testupstream"},
}

// Names lists the images Ensure knows, in build order.
func Names() []string { return []string{Sidecars, AgentTest, UpstreamTest} }

// Options tune Ensure.
type Options struct {
	// Root is the source tree holding the Dockerfiles, scripts/ and, unless
	// BinDir is set, cmd/. Default: the nearest folder at or above the
	// working directory with Dockerfile.sidecars.
	Root string
	// BinDir, if set, holds prebuilt static claude-bottle-sidecar and
	// claude-bottle-sidecar-init binaries to use instead of building them
	// with the Go toolchain.
	BinDir string
	// Progress receives one line per step and the builds' output, each
	// line prefixed. Nil discards.
	Progress io.Writer
	// Force rebuilds even when the input hash matches.
	Force bool
}

// Ensure makes each named image (default: all of Names) exist and match its
// inputs. It holds a host-wide lock so parallel test binaries do not build
// the same image twice at once.
func Ensure(ctx context.Context, opt Options, names ...string) error {
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		if _, ok := specs[n]; !ok {
			return fmt.Errorf("images: unknown image %q; known: %s", n, strings.Join(Names(), ", "))
		}
	}
	root, p, unlock, err := begin(ctx, opt)
	if err != nil {
		return err
	}
	defer unlock()
	baseID, err := imageField(ctx, Base, "{{.Id}}")
	if err != nil {
		return fmt.Errorf("images: inspect %s after making it: %w", Base, err)
	}
	for _, name := range names {
		if err := ensureOne(ctx, root, name, baseID, opt, p); err != nil {
			return err
		}
	}
	return nil
}

func ensureOne(ctx context.Context, root, name, baseID string, opt Options, p progress) error {
	sp := specs[name]
	dockerfile := filepath.Join(root, sp.dockerfile)
	df, err := os.ReadFile(dockerfile)
	if err != nil {
		return fmt.Errorf("images: %s: %w", dockerfile, err)
	}
	// A private build context with only what the Dockerfile copies: small
	// to send, and exactly the inputs that are hashed.
	ctxDir, err := os.MkdirTemp("", "claude-bottle-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	files := map[string]string{} // context-relative path -> absolute
	if sp.sidecarBinaries {
		dist := filepath.Join(ctxDir, "dist")
		if err := os.MkdirAll(dist, 0o755); err != nil {
			return err
		}
		if opt.BinDir != "" {
			for name := range binaries {
				if err := copyFile(filepath.Join(opt.BinDir, name), filepath.Join(dist, name), 0o755); err != nil {
					return fmt.Errorf("images: prebuilt binary: %w", err)
				}
			}
		} else if err := BuildBinaries(ctx, root, dist, p.w); err != nil {
			return err
		}
		for name := range binaries {
			files["dist/"+name] = filepath.Join(dist, name)
		}
	}
	if sp.goBinary != "" {
		bin := filepath.Join(ctxDir, sp.goBinaryPath)
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			return err
		}
		p.printf("building %s (go build %s)", sp.goBinaryPath, sp.goBinary)
		env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if err := run(ctx, root, p.sub("go build"), env, "go", "build", "-trimpath",
			"-buildvcs=false", "-ldflags=-s -w", "-o", bin, sp.goBinary); err != nil {
			return fmt.Errorf("images: go build %s in %s failed (output above): %w", sp.goBinary, root, err)
		}
		files[sp.goBinaryPath] = bin
	}
	for rel, data := range sp.files {
		dst := filepath.Join(ctxDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			return err
		}
		files[rel] = dst
	}
	hash, err := inputHash(name, df, baseID, files)
	if err != nil {
		return err
	}
	if !opt.Force {
		if have, err := imageField(ctx, name, fmt.Sprintf("{{index .Config.Labels %q}}", LabelInputs)); err == nil && have == hash {
			p.printf("%s is up to date (inputs %s)", name, hash[:12])
			return nil
		}
	}
	p.printf("building %s from %s (inputs %s)", name, sp.dockerfile, hash[:12])
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	args := []string{"build", "-f", filepath.Join(ctxDir, "Dockerfile"), "-t", name,
		"--label", LabelInputs + "=" + hash, ctxDir}
	lw := &lineWriter{p: p.sub(name)}
	err = engine.Run(ctx, engine.Stdio{Dir: root, Stdout: lw, Stderr: lw}, args...)
	lw.flush()
	if err != nil {
		return fmt.Errorf("images: docker build of %s from %s failed (output above): %w", name, dockerfile, err)
	}
	p.printf("built %s", name)
	return nil
}

// BuildBinaries builds the static claude-bottle-sidecar and
// claude-bottle-sidecar-init from root into dir: CGO_ENABLED=0, stdlib
// regexp (no gore2regex tag: see internal/secretscan), -trimpath, stripped.
// The result does not depend on the build machine's paths, so its hash is a
// fair input hash.
func BuildBinaries(ctx context.Context, root, dir string, w io.Writer) error {
	p := progress{w: w}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	for _, name := range []string{SidecarBinary, InitBinary} {
		pkg := binaries[name]
		p.printf("building %s (go build %s)", name, pkg)
		err := run(ctx, root, p.sub("go build"), env, "go", "build", "-trimpath",
			"-buildvcs=false", "-ldflags=-s -w", "-o", filepath.Join(dir, name), pkg)
		if err != nil {
			return fmt.Errorf("images: go build %s in %s failed (output above): %w", pkg, root, err)
		}
	}
	return nil
}

// begin is what every build starts with: the docker CLI present, the
// source tree found, the host-wide build lock held (release it with
// unlock) and the base image on the engine.
func begin(ctx context.Context, opt Options) (root string, p progress, unlock func(), err error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return "", p, nil, errors.New("images: the docker CLI is not on PATH; install Docker Engine (docker.io) first")
	}
	if root, err = findRoot(opt.Root); err != nil {
		return "", p, nil, err
	}
	p = progress{w: opt.Progress}
	if unlock, err = lock(ctx); err != nil {
		return "", p, nil, err
	}
	if err := ensureBase(ctx, root, p); err != nil {
		unlock()
		return "", p, nil, err
	}
	return root, p, unlock, nil
}

func ensureBase(ctx context.Context, root string, p progress) error {
	if _, err := imageField(ctx, Base, "{{.Id}}"); err == nil {
		return nil
	}
	script := filepath.Join(root, "scripts", "make-base-image.sh")
	p.printf("%s is missing; running %s", Base, script)
	if err := run(ctx, root, p.sub("base"), nil, "bash", script, Base); err != nil {
		return fmt.Errorf("images: %s could not make %s (output above): %w", script, Base, err)
	}
	return nil
}

// inputHash covers everything that changes the image.
func inputHash(name string, dockerfile []byte, baseID string, files map[string]string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\nbase %s\ndockerfile %d\n", name, baseID, len(dockerfile))
	h.Write(dockerfile)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, err := os.Open(files[k])
		if err != nil {
			return "", err
		}
		fh := sha256.New()
		_, err = io.Copy(fh, f)
		f.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %s %x\n", k, fh.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// imageField returns a docker image inspect template's value, or an error
// when the image does not exist.
func imageField(ctx context.Context, image, format string) (string, error) {
	return engine.ImageField(ctx, image, format)
}

// lineWriter prints each complete line written to it to p; safe for the
// two streams of one command at once.
type lineWriter struct {
	mu  sync.Mutex
	p   progress
	buf []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.p.printf("%s", l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.p.printf("%s", l.buf)
		l.buf = nil
	}
}

// run streams a command's stdout and stderr, line by line, to p.
func run(ctx context.Context, dir string, p progress, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pw.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.printf("%s", sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err = cmd.Wait()
	<-done
	pr.Close()
	return err
}

type progress struct {
	w      io.Writer
	prefix string
}

func (p progress) sub(name string) progress {
	return progress{w: p.w, prefix: p.prefix + "  " + name + " | "}
}

func (p progress) printf(format string, a ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "images: %s%s\n", p.prefix, fmt.Sprintf(format, a...))
}

func findRoot(root string) (string, error) {
	if root != "" {
		if _, err := os.Stat(filepath.Join(root, "Dockerfile.sidecars")); err != nil {
			return "", fmt.Errorf("images: %s has no Dockerfile.sidecars; point Root at the claude-bottle source tree", root)
		}
		return filepath.Abs(root)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Dockerfile.sidecars")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("images: no Dockerfile.sidecars in %s or above; run from the claude-bottle source tree", dir)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lock takes a host-wide advisory lock (flock) for the build, waiting as
// long as ctx allows.
func lock(ctx context.Context) (func(), error) {
	path := filepath.Join(os.TempDir(), "claude-bottle-images.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("images: lock %s: %w", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("images: lock %s: %w", path, err)
		}
		return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
	case <-ctx.Done():
		// Closing the file drops a lock the goroutine may still get.
		go func() { <-done; f.Close() }()
		return nil, fmt.Errorf("images: waiting for the build lock %s: %w", path, ctx.Err())
	}
}
