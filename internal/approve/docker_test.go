package approve

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/dockertest"
	"github.com/claude-bottle/claude-bottle/internal/engine"
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

// TestEngineSignaller: the real signaller reloads a real container (docker
// kill -s HUP, the way the daemons are told to reload) and names a missing
// container in its error. The image is made locally (no registry here): a
// static binary imported with docker import. (Stopping a bottle is
// launch.Launcher.Teardown's, tested with a real bottle in internal/cli.)
func TestEngineSignaller(t *testing.T) {
	dockertest.Require(t)
	dockertest.Cleanup(t)
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

	id := dockertest.RunID()
	image := "cbtest-hupwait:" + id
	container := "cbtest-approve-hup-" + id
	if err := engine.Run(ctx, engine.Stdio{Stdin: &tb}, "import", "--change", `ENTRYPOINT ["/hupwait"]`, "-", image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = dockertest.TryDocker(context.Background(), "rmi", "-f", image) })
	dockertest.Run(t, ctx, "--name", container, "--network", "none", image)
	waitLog := func(want string, n int) {
		t.Helper()
		for {
			logs := dockertest.Logs(ctx, container)
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
	if err := (EngineSignaller{}).Signal(ctx, container, "HUP"); err != nil {
		t.Fatal(err)
	}
	waitLog("got SIGHUP", 1)
	if err := (EngineSignaller{}).Signal(ctx, "cbtest-no-such-container-"+id, "HUP"); err == nil || !strings.Contains(err.Error(), "docker kill -s HUP cbtest-no-such-container") {
		t.Fatalf("signalling a missing container: %v", err)
	}
}
