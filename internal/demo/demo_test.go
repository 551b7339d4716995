package demo

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

// TestNewCAChains: the leaf verifies against the demo CA for exactly the
// demo's host names, as pipelock will verify it.
func TestNewCAChains(t *testing.T) {
	caPEM, leafPEM, keyPEM, err := NewCA([]string{APIHost, BlockedHost})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM not accepted")
	}
	blk, _ := pem.Decode(leafPEM)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		ok   bool
	}{{APIHost, true}, {BlockedHost, true}, {GitHost, false}, {"api.github.com", false}} {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tc.ok {
			t.Errorf("verify for %s: %v, want ok=%v", tc.host, err, tc.ok)
		}
	}
	// The fake upstream serves them with tls.LoadX509KeyPair.
	if _, err := tls.X509KeyPair(leafPEM, keyPEM); err != nil {
		t.Errorf("leaf certificate and key do not pair: %v", err)
	}
}

// TestWriteHomeAndBottle: the keys pair up, and the bottle the demo writes
// is a valid manifest pinning the upstream's host key.
func TestWriteHomeAndBottle(t *testing.T) {
	home := t.TempDir()
	f, err := writeHome(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeBottle(home, f, manifest.ClaudeOAuth); err != nil {
		t.Fatal(err)
	}
	r, err := manifest.Finder{Home: home}.Resolve(AgentName)
	if err != nil {
		t.Fatal(err)
	}
	b := r.Bottle
	if len(b.Git) != 1 || b.Git[0].KnownHostKey != f.hostKeyPub || !strings.Contains(b.Git[0].Upstream, GitHost) {
		t.Errorf("git remote: %+v", b.Git)
	}
	if len(b.Routes) != 1 || b.Routes[0].Host != APIHost || b.Routes[0].Auth == nil {
		t.Errorf("routes: %+v", b.Routes)
	}
	if b.Claude == nil || b.Claude.Auth == nil || b.Claude.Auth.Kind != manifest.ClaudeOAuth || b.Claude.BaseURL != "https://model.demo.test" {
		t.Errorf("claude: %+v", b.Claude)
	}
	// The gate's identity is the key the upstream authorizes.
	idPEM, _ := os.ReadFile(f.identity)
	signer, err := ssh.ParsePrivateKey(idPEM)
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := os.ReadFile(filepath.Join(f.upstreamDir, "authorized_key"))
	want, _, _, _, err := ssh.ParseAuthorizedKey(auth)
	if err != nil || string(want.Marshal()) != string(signer.PublicKey().Marshal()) {
		t.Errorf("authorized_key does not match the identity: %v", err)
	}
	// The pinned host key is the upstream's.
	hostPEM, _ := os.ReadFile(filepath.Join(f.upstreamDir, "ssh_host_key"))
	hs, err := ssh.ParsePrivateKey(hostPEM)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hs.PublicKey()))) != f.hostKeyPub {
		t.Error("known_host_key is not the upstream's host key")
	}
	for _, p := range []string{f.identity, filepath.Join(f.upstreamDir, "ssh_host_key"), filepath.Join(f.upstreamDir, "tls.key")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, st.Mode().Perm())
		}
	}
}

func TestReportPassed(t *testing.T) {
	ok := Check{OK: true}
	for _, tc := range []struct {
		checks []Check
		want   bool
	}{
		{[]Check{ok, ok, ok, ok, ok, ok}, true},
		{[]Check{ok, ok, ok, ok, ok, {}}, false},
		{[]Check{ok, ok, ok, ok, ok}, false},
		{nil, false},
	} {
		if got := (&Report{Checks: tc.checks}).Passed(); got != tc.want {
			t.Errorf("%d checks: Passed() = %v, want %v", len(tc.checks), got, tc.want)
		}
	}
}
