package approve

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hupwait is a tiny static program: it prints a line for every SIGHUP, the
// way the sidecar daemons reload.
const hupwait = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println("ready")
	for s := range c {
		if s != syscall.SIGHUP {
			return
		}
		fmt.Println("got SIGHUP")
	}
}
`

func needDocker(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"docker", "docker-compose"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (CI=true: integration tests never skip)", tool)
			}
			t.Skipf("%s not found", tool)
		}
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker info: %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
}

func run(t *testing.T, ctx context.Context, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDockerSignalAndComposeDown: the real signaller reloads a real
// container (docker kill -s HUP), and the real teardown stops a real
// compose project. The image is made locally (no registry here): a static
// binary imported with docker import.
func TestDockerSignalAndComposeDown(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tmp := t.TempDir()
	must(t, os.WriteFile(filepath.Join(tmp, "main.go"), []byte(hupwait), 0o644))
	bin := filepath.Join(tmp, "hupwait")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "main.go")
	build.Dir = tmp
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hupwait: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	must(t, err)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	must(t, tw.WriteHeader(&tar.Header{Name: "hupwait", Mode: 0o755, Size: int64(len(data))}))
	tw.Write(data)
	must(t, tw.Close())

	var rb [4]byte
	rand.Read(rb[:])
	id := hex.EncodeToString(rb[:])
	image := "cbtest-hupwait:" + id
	project := "cbtest-approve-" + id
	container := project + "-hup"
	run(t, ctx, tb.Bytes(), "docker", "import", "--change", `ENTRYPOINT ["/hupwait"]`, "-", image)
	compose := filepath.Join(tmp, "docker-compose.yml")
	must(t, os.WriteFile(compose, []byte(fmt.Sprintf("version: \"2.4\"\nservices:\n  hup:\n    image: %s\n    container_name: %s\n    network_mode: none\n    labels:\n      dev.claude-bottle.test: \"true\"\n", image, container)), 0o644))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		exec.CommandContext(c, "docker-compose", "-p", project, "-f", compose, "down", "-t", "1").Run()
		exec.CommandContext(c, "docker", "rm", "-f", container).Run()
		exec.CommandContext(c, "docker", "rmi", "-f", image).Run()
	})
	run(t, ctx, nil, "docker-compose", "-p", project, "-f", compose, "up", "-d")
	waitLog := func(want string, n int) {
		t.Helper()
		for {
			logs := run(t, ctx, nil, "docker", "logs", container)
			if strings.Count(logs, want) >= n {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("container logs never showed %q x%d:\n%s", want, n, logs)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitLog("ready", 1)
	if err := (DockerSignaller{}).Signal(ctx, container, "HUP"); err != nil {
		t.Fatal(err)
	}
	waitLog("got SIGHUP", 1)
	if err := (DockerSignaller{}).Signal(ctx, "cbtest-no-such-container-"+id, "HUP"); err == nil || !strings.Contains(err.Error(), "docker kill -s HUP cbtest-no-such-container") {
		t.Fatalf("signalling a missing container: %v", err)
	}
	if err := (ComposeDown{}).Down(ctx, project, compose); err != nil {
		t.Fatal(err)
	}
	if out := run(t, ctx, nil, "docker", "ps", "-a", "-q", "--filter", "name=^"+container+"$"); strings.TrimSpace(out) != "" {
		t.Fatalf("container still there after down: %s", out)
	}
}
