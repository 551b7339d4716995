// Package testca is a throwaway certificate authority for tests, built on
// internal/ca (ca.Generate and ca.IssueLeaf), so tests mint certificates the
// way the product does and no test has its own x509 template. Only tests
// import it (internal/deptest checks).
package testca

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
)

// CA is a test CA: its PEM, its parsed certificate and a pool trusting it.
type CA struct {
	CertPEM, KeyPEM []byte
	Cert            *x509.Certificate
	Pool            *x509.CertPool
}

// New makes a CA named name, valid for a day.
func New(t testing.TB, name string) *CA {
	t.Helper()
	certPEM, keyPEM, err := ca.Generate(name, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert, Pool: pool}
}

// LeafPEM issues a server certificate for names (DNS names or IPs).
func (c *CA) LeafPEM(t testing.TB, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueLeaf(c.CertPEM, c.KeyPEM, names, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

// Leaf is LeafPEM as a tls.Certificate for a test server.
func (c *CA) Leaf(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	pair, err := tls.X509KeyPair(c.LeafPEM(t, names...))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// WriteCert writes the CA certificate (PEM) to path and returns path.
func (c *CA) WriteCert(t testing.TB, path string) string {
	t.Helper()
	if err := os.WriteFile(path, c.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
