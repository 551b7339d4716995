package gitgate

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// Real tools, no mocks: git, ssh, sshd and the built sidecar binary.

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI (apt-get install openssh-server git): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening polls addr until it accepts, the process exits, or 15 s.
func waitListening(t *testing.T, addr string, exited <-chan struct{}, what string, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s:\n%s", what, addr, logs())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not listening on %s after 15s:\n%s", what, addr, logs())
}

// proc is a child process the test owns; killed and reaped in Cleanup.
type proc struct {
	cmd    *exec.Cmd
	out    *testkit.SyncBuffer
	exited chan struct{}
	once   sync.Once
}

func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), out: &testkit.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

// stop kills the process group and every descendant (sshd's per-connection
// children start their own sessions, so the group alone misses them), then
// reaps.
func (p *proc) stop() {
	p.once.Do(func() {
		for _, pid := range descendants(p.cmd.Process.Pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	})
}

// descendants lists every process below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ")".
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], id)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for _, k := range children[c] {
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

// sshd is a throwaway OpenSSH server on loopback with its own host key,
// authorising one client key for the current user.
type sshd struct {
	port       int
	hostPub    string // "ssh-ed25519 AAAA..."
	clientKey  string // private key path
	user       string
	proc       *proc
	configPath string
}

func sshKeygen(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}

func startSSHD(t *testing.T) *sshd {
	t.Helper()
	sshdPath := "/usr/sbin/sshd"
	if _, err := os.Stat(sshdPath); err != nil {
		sshdPath = requireTool(t, "sshd")
	}
	requireTool(t, "ssh")
	requireTool(t, "ssh-keygen")
	dir := t.TempDir()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshd{port: freePort(t), user: u.Username}
	hostPub := sshKeygen(t, filepath.Join(dir, "host_ed25519"))
	f := strings.Fields(hostPub)
	s.hostPub = f[0] + " " + f[1]
	s.clientKey = filepath.Join(dir, "client_ed25519")
	clientPub := sshKeygen(t, s.clientKey)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(clientPub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd insists on its privilege separation directory.
	_ = os.MkdirAll("/run/sshd", 0o755)
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
MaxStartups 50:30:100
LogLevel ERROR
`, s.port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "authorized_keys"))
	s.configPath = filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(s.configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.proc = startProc(t, os.Environ(), sshdPath, "-D", "-e", "-f", s.configPath)
	waitListening(t, "127.0.0.1:"+strconv.Itoa(s.port), s.proc.exited, "sshd", s.proc.out.String)
	return s
}

func (s *sshd) url(repoPath string) string {
	return fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, s.port, repoPath)
}

// gateBinary builds the real sidecar binary (once per test binary).
func gateBinary(t *testing.T) string {
	t.Helper()
	return testkit.Binary(t, "cmd/claude-bottle-sidecar")
}

// hermeticEnv is an environment for git clients and the gate: its own HOME
// and global config, nothing from the machine's git config.
func hermeticEnv(t *testing.T, home string) []string {
	t.Helper()
	gc := filepath.Join(home, ".gitconfig")
	if _, err := os.Stat(gc); err != nil {
		conf := "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
		if err := os.WriteFile(gc, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "SSH_AUTH_SOCK" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "GIT_CONFIG_GLOBAL="+gc, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
}

// gitRun runs git in dir with a timeout and returns combined output.
func gitRun(env []string, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	out, err := gitRun(env, dir, args...)
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(out)
}

// gate is a running git-gate process.
type gate struct {
	addr    string
	dataDir string
	proc    *proc
}

func writeGateConfig(t *testing.T, dir string, cfg sidecarconfig.Gate) string {
	t.Helper()
	p := filepath.Join(dir, "gate.json")
	if err := fileio.WriteJSON(p, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startGate(t *testing.T, env []string, cfg sidecarconfig.Gate) *gate {
	t.Helper()
	dir := t.TempDir()
	g := &gate{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), dataDir: filepath.Join(dir, "data")}
	cfgPath := writeGateConfig(t, dir, cfg)
	g.proc = startProc(t, env, gateBinary(t), "git-gate", "--config", cfgPath, "--listen", g.addr, "--data-dir", g.dataDir)
	waitListening(t, g.addr, g.proc.exited, "git-gate", g.proc.out.String)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("git-gate log:\n%s", g.proc.out.String())
		}
	})
	return g
}

func (g *gate) url(name string) string { return "git://" + g.addr + "/" + name + ".git" }

// newUpstream makes a bare repo with one commit on main and returns its path.
func newUpstream(t *testing.T, env []string, root, name string) string {
	t.Helper()
	bare := filepath.Join(root, name+".git")
	mustGit(t, env, root, "init", "--bare", "--quiet", "-b", "main", bare)
	work := filepath.Join(root, name+"-seed")
	mustGit(t, env, root, "init", "--quiet", "-b", "main", work)
	writeFile(t, filepath.Join(work, "README.md"), "hello from upstream\n")
	mustGit(t, env, work, "add", ".")
	mustGit(t, env, work, "commit", "--quiet", "-m", "initial")
	mustGit(t, env, work, "push", "--quiet", bare, "main")
	return bare
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// commitFile writes a file and commits it; returns the new commit id.
func commitFile(t *testing.T, env []string, work, file, content, msg string) string {
	t.Helper()
	writeFile(t, filepath.Join(work, file), content)
	mustGit(t, env, work, "add", "--", file)
	mustGit(t, env, work, "commit", "--quiet", "-m", msg)
	return mustGit(t, env, work, "rev-parse", "HEAD")
}

// refIn returns the object a ref points at in repo, or "" if none.
func refIn(env []string, repo, ref string) string {
	out, err := gitRun(env, repo, "rev-parse", "--verify", "--quiet", ref)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func hasObject(env []string, repo, oid string) bool {
	_, err := gitRun(env, repo, "cat-file", "-e", oid)
	return err == nil
}
