package upstream

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

func sshKey(t *testing.T) (ssh.PublicKey, []byte) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ssh.NewPublicKey(pk)
	blk, err := ssh.MarshalPrivateKey(sk, "")
	if err != nil {
		t.Fatal(err)
	}
	return sp, pem.EncodeToMemory(blk)
}

// TestUpstreamServes runs the upstream on loopback and talks to it with
// real clients: Go's TLS client for the API, OpenSSH and git for the
// repository (clone, then push a branch).
func TestUpstreamServes(t *testing.T) {
	for _, tool := range []string{"git", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true and %s is missing", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	dir, repos := t.TempDir(), t.TempDir()
	caPEM, leafPEM, keyPEM := testCA(t)
	write(t, filepath.Join(dir, TLSCert), leafPEM, 0o644)
	write(t, filepath.Join(dir, TLSKey), keyPEM, 0o600)
	hostPub, hostPriv := sshKey(t)
	write(t, filepath.Join(dir, HostKey), hostPriv, 0o600)
	idPub, idPriv := sshKey(t)
	write(t, filepath.Join(dir, AuthorizedKey), ssh.MarshalAuthorizedKey(idPub), 0o644)
	write(t, filepath.Join(dir, "id"), idPriv, 0o600)
	_, otherPriv := sshKey(t)
	write(t, filepath.Join(dir, "other"), otherPriv, 0o600)

	httpsAddr, sshAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Dir: dir, Token: "tok-123", RepoRoot: repos, HTTPS: httpsAddr, SSH: sshAddr, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() { cancel(); <-done })

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "api.demo.test"}}}
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest("GET", "https://"+httpsAddr+"/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer tok-123")
		if resp, err = client.Do(req); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"authorized":true`) {
		t.Fatalf("whoami with the token: %d %s", resp.StatusCode, body)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer tok-1234"} {
		req, _ := http.NewRequest("GET", "https://"+httpsAddr+"/v1/whoami", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("whoami with %q: %d, want 401", auth, resp.StatusCode)
		}
	}

	host, port, _ := net.SplitHostPort(sshAddr)
	known := filepath.Join(dir, "known_hosts")
	write(t, known, []byte(fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(hostPub))), 0o644)
	url := fmt.Sprintf("ssh://git@%s:%s%s/demo.git", host, port, repos)
	git := func(key, wd string, args ...string) (string, error) {
		c := exec.CommandContext(ctx, "git", args...)
		c.Dir = wd
		c.Env = append(os.Environ(),
			"GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+known+" -i "+filepath.Join(dir, key),
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@demo.test", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@demo.test")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	work := t.TempDir()
	if out, err := git("other", work, "clone", "-q", url, "refused"); err == nil {
		t.Errorf("a key that is not authorized cloned: %s", out)
	}
	if out, err := git("id", work, "clone", "-q", url, "w"); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	w := filepath.Join(work, "w")
	write(t, filepath.Join(w, "x.txt"), []byte("x\n"), 0o644)
	for _, args := range [][]string{{"checkout", "-q", "-b", "agent/x"}, {"add", "x.txt"}, {"commit", "-qm", "x"}, {"push", "-q", "origin", "agent/x"}} {
		if out, err := git("id", w, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	head, _ := git("id", w, "rev-parse", "HEAD")
	up, err := git("id", repos, "--git-dir", filepath.Join(repos, "demo.git"), "rev-parse", "refs/heads/agent/x")
	if err != nil || strings.TrimSpace(up) != strings.TrimSpace(head) {
		t.Errorf("upstream agent/x = %q (%v), pushed %q", up, err, head)
	}
}
