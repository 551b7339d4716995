package ca

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestIssueLeaf(t *testing.T) {
	caPEM, caKey, err := Generate("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := IssueLeaf(caPEM, caKey, []string{"api.example.com", "127.0.0.1", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("cert and key do not pair: %v", err)
	}
	b, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, name := range []string{"api.example.com", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("does not verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots}); err == nil {
		t.Error("verifies for a name it was not issued for")
	}
	if leaf.IsCA {
		t.Error("the leaf is a CA")
	}
	// A leaf cannot sign, and a leaf needs a name.
	if _, _, err := IssueLeaf(certPEM, keyPEM, []string{"x"}, time.Hour); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Errorf("signing with a leaf: %v", err)
	}
	if _, _, err := IssueLeaf(caPEM, caKey, nil, time.Hour); err == nil {
		t.Error("a leaf with no name was issued")
	}
	if _, _, err := IssueLeaf(caPEM, []byte("junk"), []string{"x"}, time.Hour); err == nil || !strings.Contains(err.Error(), "signing CA") {
		t.Errorf("a bad CA key: %v", err)
	}
}
