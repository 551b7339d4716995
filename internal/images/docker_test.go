package images

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/sidecarinit"
)

const root = "../.."

// testWriter sends progress lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// binDir builds the static binaries into a temp dir.
func binDir(t *testing.T, ctx context.Context) string {
	t.Helper()
	dir := t.TempDir()
	if err := BuildBinaries(ctx, root, dir, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bottleFiles writes a minimal valid state dir, as the CLI would, with
// internal/ca and internal/sidecarconfig, and returns the docker run mount
// and env flags of the bundle (the union of the four services).
func bottleFiles(t *testing.T) (mounts, env []string) {
	t.Helper()
	sd := layout.StateDir(t.TempDir())
	mk := func(dir string) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{sd.Egress(), sd.Pipelock(), sd.Trust(), sd.GitGate(), sd.GitGateData()} {
		mk(d)
	}
	if err := ca.WriteNew(sd.EgressCA(), "claude-bottle test egress CA", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteNew(sd.PipelockCA(), "claude-bottle test pipelock CA", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	cp := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp(filepath.Join(sd.PipelockCA(), layout.CACertFileName), filepath.Join(sd.Trust(), "pipelock-ca.crt"))
	cp(filepath.Join(sd.EgressCA(), layout.CACertFileName), filepath.Join(sd.Trust(), "egress-ca.crt"))
	write := func(path string, v any) {
		if err := fileio.WriteJSON(path, v, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(sd.RoutesFile(), sidecarconfig.Routes{Routes: []sidecarconfig.Route{{
		Host: "api.example.com", PathAllowlist: []string{"/v1"},
		Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"},
	}}})
	write(sd.PipelockFile(), sidecarconfig.Pipelock{Allowlist: []string{"api.example.com"}, KnownSecretEnv: []string{"PIPELOCK_SECRET_0"}})
	write(sd.GateFile(), sidecarconfig.Gate{Remotes: []sidecarconfig.GateRemote{}})
	// As the renderer does when it runs sidecars as the host user: a
	// passwd naming that uid, for ssh in git-gate.
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\nsidecar:x:%d:%d:sidecar:/tmp:/usr/sbin/nologin\n", os.Getuid(), os.Getgid())
	if err := os.WriteFile(sd.Passwd(), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	queue := filepath.Join(t.TempDir(), "queue")
	mk(queue)

	ro := func(host, ctr string) string { return host + ":" + ctr + ":ro" }
	for _, m := range []string{
		ro(sd.Egress(), layout.EgressConfigDir), ro(sd.EgressCA(), layout.EgressCADir), ro(sd.Trust(), layout.TrustDir),
		ro(sd.Pipelock(), layout.PipelockConfigDir), ro(sd.PipelockCA(), layout.PipelockCADir),
		ro(sd.GitGate(), layout.GitGateConfigDir), sd.GitGateData() + ":" + layout.GitGateDataDir,
		ro(sd.Passwd(), "/etc/passwd"), queue + ":" + layout.SuperviseQueueDir,
	} {
		mounts = append(mounts, "-v", m)
	}
	for _, e := range []string{
		"EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888", "EGRESS_UPSTREAM_CA=" + layout.TrustPipelockCACert,
		"EGRESS_TOKEN_0=test-token-not-real", "PIPELOCK_SECRET_0=test-secret-not-real",
		"SUPERVISE_BOTTLE_SLUG=test-abc12", "SUPERVISE_QUEUE_DIR=" + layout.SuperviseQueueDir,
		"SUPERVISE_PORT=" + strconv.Itoa(layout.SupervisePort),
	} {
		env = append(env, "-e", e)
	}
	return mounts, env
}

// hardening mirrors the compose renderer's sidecar settings.
func hardening() []string {
	return []string{"--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), "--read-only", "--tmpfs", "/tmp",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
		"--entrypoint", "/usr/local/bin/claude-bottle-sidecar"}
}

// waitHealthy waits (from the host, cheaply) until each daemon's port on
// the container accepts, then runs the image's own healthcheck command
// once: it must agree. Polling the full binary's health would cost a DLP
// engine start-up per poll.
func waitHealthy(t *testing.T, ctx context.Context, c, bin string, daemons []string, healthArgs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ip := dockertest.IP(t, ctx, c)
	for _, d := range daemons {
		if err := dockertest.WaitTCP(ctx, net.JoinHostPort(ip, strconv.Itoa(sidecarinit.Ports[d]))); err != nil {
			t.Fatalf("%s: %s never listened: %v\nlogs:\n%s", c, d, err, dockertest.Logs(context.Background(), c))
		}
	}
	args := append([]string{"exec", c, "/usr/local/bin/" + bin, "health"}, healthArgs...)
	if out, err := dockertest.TryDocker(ctx, args...); err != nil {
		t.Fatalf("%s: ports open but %s health fails: %v: %s", c, bin, err, out)
	}
}

// probe connects from the host to the container's address on each port
// (the project's own container: an allowed target).
func probe(t *testing.T, ctx context.Context, ip string, daemons []string, wantOpen bool) {
	t.Helper()
	for _, d := range daemons {
		addr := net.JoinHostPort(ip, strconv.Itoa(sidecarinit.Ports[d]))
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		if (err == nil) != wantOpen {
			t.Errorf("%s at %s: connect error %v, want open=%v", d, addr, err, wantOpen)
		}
	}
}

// stop stops a container within the init's grace and checks no daemon
// had to be killed: the exit code is the highest daemon's and below 128.
func stop(t *testing.T, ctx context.Context, c string) {
	t.Helper()
	dockertest.Docker(t, ctx, "stop", "-t", "15", c)
	code := dockertest.Docker(t, ctx, "inspect", "-f", "{{.State.ExitCode}}", c)
	if n, _ := strconv.Atoi(code); n >= 128 {
		t.Errorf("%s exited %s after docker stop: a daemon was killed, not stopped\nlogs:\n%s", c, code, dockertest.Logs(ctx, c))
	} else {
		t.Logf("%s exited %s after docker stop", c, code)
	}
}

// TestSidecarImage builds claude-bottle-sidecars:latest and runs it in
// both shapes: the bundle (init) with every subset of the daemons,
// and each daemon alone as a legacy service.
func TestSidecarImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs images")
	}
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bins := binDir(t, ctx)
	daemons := layout.DaemonOrder
	if err := Ensure(ctx, Options{Root: root, BinDir: bins, Progress: testWriter{t}}, Sidecars); err != nil {
		t.Fatal(err)
	}
	// Ensure again: the inputs did not change, so no rebuild.
	var second strings.Builder
	if err := Ensure(ctx, Options{Root: root, BinDir: bins, Progress: &second}, Sidecars); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.String(), "up to date") || strings.Contains(second.String(), "building "+Sidecars) {
		t.Errorf("second Ensure rebuilt an unchanged image:\n%s", second.String())
	}
	// The image itself: user, binary, tools git-gate needs.
	out := dockertest.Docker(t, ctx, "run", "--rm", "--label", dockertest.Label(), "--entrypoint", "sh", Sidecars,
		"-c", "id -u; getent passwd 10001 | cut -d: -f1; git --version; ssh -V 2>&1; test -x /usr/local/bin/claude-bottle-sidecar && test -x /usr/local/bin/claude-bottle-sidecar-init && echo bin-ok")
	for _, want := range []string{"10001\n", "sidecar\n", "git version", "OpenSSH", "bin-ok"} {
		if !strings.Contains(out+"\n", want) {
			t.Errorf("image check lacks %q:\n%s", want, out)
		}
	}

	mounts, env := bottleFiles(t)
	base := append(append(hardening(), mounts...), env...)

	// The subsets the renderer can produce: pipelock is always there (every
	// subset when pipelock itself is not real yet). All shapes run at once:
	// most of each case is waiting for the engine.
	type shape struct {
		name       string
		run        []string // image and command
		bin        string   // the binary that runs init and health
		health     []string // health arguments
		open, shut []string // daemons whose ports must be open / closed
	}
	var shapes []shape
	hasPipelock := false
	for _, d := range daemons {
		hasPipelock = hasPipelock || d == layout.DaemonPipelock
	}
	for mask := 1; mask < 1<<len(daemons); mask++ {
		var subset, others []string
		for i, d := range daemons {
			if mask&(1<<i) != 0 {
				subset = append(subset, d)
			} else {
				others = append(others, d)
			}
		}
		csv := strings.Join(subset, ",")
		if hasPipelock && !strings.Contains(","+csv+",", ",pipelock,") {
			continue
		}
		shapes = append(shapes, shape{name: "bundle/" + csv, bin: SidecarBinary,
			run:  []string{"-e", sidecarinit.EnvDaemons + "=" + csv, Sidecars, "init"},
			open: subset, shut: others})
	}
	// The light init binary as PID 1 and healthcheck, every daemon.
	all := strings.Join(daemons, ",")
	shapes = append(shapes, shape{name: "bundle-light-init/" + all, bin: InitBinary,
		run:  []string{"--entrypoint", "/usr/local/bin/" + InitBinary, "-e", sidecarinit.EnvDaemons + "=" + all, Sidecars},
		open: daemons})
	for _, d := range daemons {
		shapes = append(shapes, shape{name: "legacy/" + d, bin: SidecarBinary, run: []string{Sidecars, d}, health: []string{d}, open: []string{d}})
	}
	t.Run("shapes", func(t *testing.T) {
		for i, sh := range shapes {
			t.Run(sh.name, func(t *testing.T) {
				t.Parallel()
				name := fmt.Sprintf("cb-%s-%d", dockertest.RunID(), i)
				dockertest.Run(t, ctx, append(append([]string{"--name", name}, base...), sh.run...)...)
				waitHealthy(t, ctx, name, sh.bin, sh.open, sh.health...)
				ip := dockertest.IP(t, ctx, name)
				probe(t, ctx, ip, sh.open, true)
				probe(t, ctx, ip, sh.shut, false)
				logs := dockertest.Logs(ctx, name)
				if sh.health == nil {
					for _, d := range sh.open {
						if !strings.Contains(logs, `"msg":"daemon started","daemon":"`+d+`"`) {
							t.Errorf("init did not log starting %s:\n%s", d, logs)
						}
					}
				}
				if strings.Contains(logs, "test-token-not-real") || strings.Contains(logs, "test-secret-not-real") {
					t.Errorf("a secret value reached the logs:\n%s", logs)
				}
				stop(t, ctx, name)
			})
		}
	})
}

// TestAgentTestImage builds claude-bottle-agent-test:latest and checks the
// tools the security tests use are there, the stand-in claude runs on
// Debian's node, and the user is not root.
func TestAgentTestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	dockertest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := Ensure(ctx, Options{Root: root, Progress: testWriter{t}}, AgentTest); err != nil {
		t.Fatal(err)
	}
	out := dockertest.Docker(t, ctx, "run", "--rm", "--label", dockertest.Label(), "--network", "none", AgentTest, "sh", "-c",
		"id -un; for c in curl git dig ssh nc node; do command -v $c >/dev/null && echo have-$c; done; claude --version")
	for _, want := range []string{"agent", "have-curl", "have-git", "have-dig", "have-ssh", "have-nc", "have-node", "claude-bottle stand-in"} {
		if !strings.Contains(out, want) {
			t.Errorf("agent-test image lacks %q:\n%s", want, out)
		}
	}
}

func TestEnsureRejectsUnknownImage(t *testing.T) {
	err := Ensure(context.Background(), Options{Root: root}, "claude-bottle-sidecar:latest")
	if err == nil || !strings.Contains(err.Error(), `unknown image "claude-bottle-sidecar:latest"`) || !strings.Contains(err.Error(), Sidecars) {
		t.Fatalf("got %v", err)
	}
}

func TestInputHash(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bin")
	os.WriteFile(f, []byte("one"), 0o644)
	h1, _ := inputHash(Sidecars, []byte("FROM x"), "sha256:a", map[string]string{"dist/bin": f})
	tests := []struct {
		name       string
		image      string
		dockerfile string
		base       string
		content    string
		same       bool
	}{
		{"identical", Sidecars, "FROM x", "sha256:a", "one", true},
		{"dockerfile", Sidecars, "FROM y", "sha256:a", "one", false},
		{"base image", Sidecars, "FROM x", "sha256:b", "one", false},
		{"binary", Sidecars, "FROM x", "sha256:a", "two", false},
		{"image name", AgentTest, "FROM x", "sha256:a", "one", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(f, []byte(tc.content), 0o644)
			h, err := inputHash(tc.image, []byte(tc.dockerfile), tc.base, map[string]string{"dist/bin": f})
			if err != nil {
				t.Fatal(err)
			}
			if (h == h1) != tc.same {
				t.Errorf("hash equal=%v, want %v", h == h1, tc.same)
			}
		})
	}
}
