// Package ca makes and loads the per-bottle MITM certificate authorities
// (egress and pipelock each have one) and caches the leaf certificates the
// proxies mint from them.
//
// Keys are ECDSA P-256: leaf minting is fast and the keys are small. A CA key
// is written 0600 inside a 0700 directory (DESIGN.md §8.5).
package ca

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Generate makes a new CA valid for validFor, named after commonName, and
// returns its certificate and key in PEM.
func Generate(commonName string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	key, serial, err := newKeySerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"claude-bottle"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return encodePEM(der, key)
}

// newKeySerial makes a P-256 key and a random 127-bit serial number.
func newKeySerial() (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	return key, serial, nil
}

// encodePEM returns a certificate (DER) and its key in PEM.
func encodePEM(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// IssueLeaf signs a server certificate for names (DNS names or IP
// addresses; the first is also the subject) with the CA given in PEM, valid
// for validFor from an hour ago, and returns it and its new key in PEM. This
// is the one place claude-bottle mints a certificate outside the proxies'
// on-the-fly leaves: the demo's fake upstreams and every test use it.
func IssueLeaf(caCertPEM, caKeyPEM []byte, names []string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(names) == 0 {
		return nil, nil, errors.New("ca: a leaf certificate needs at least one name")
	}
	pair, err := tls.X509KeyPair(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: the signing CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("ca: the signing CA: %w", err)
	}
	if !caCert.IsCA {
		return nil, nil, errors.New("ca: the signing certificate is not a CA (basicConstraints CA:FALSE)")
	}
	key, serial, err := newKeySerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, pair.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	return encodePEM(der, key)
}

// WriteNew generates a CA and writes dir/ca.crt (0644) and dir/ca.key (0600),
// creating dir 0700. It refuses to overwrite an existing key.
func WriteNew(dir, commonName string, validFor time.Duration) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	keyPath := filepath.Join(dir, "ca.key")
	if _, err := os.Stat(keyPath); err == nil {
		return fmt.Errorf("%s already exists; refusing to replace a CA key", keyPath)
	}
	certPEM, keyPEM, err := Generate(commonName, validFor)
	if err != nil {
		return err
	}
	// O_EXCL: never follow a planted file or link.
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(keyPEM); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ca.crt"), certPEM, 0o644)
}

// Load reads a CA certificate and key (PEM files) into a tls.Certificate
// whose Leaf is parsed, ready for goproxy.TLSConfigFromCA.
func Load(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading CA %s / %s: %w", certFile, keyFile, err)
	}
	if c.Leaf == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("parsing CA %s: %w", certFile, err)
		}
		c.Leaf = leaf
	}
	if !c.Leaf.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate (basicConstraints CA:FALSE)", certFile)
	}
	return &c, nil
}

// CertPool returns a pool holding the PEM certificates in file.
func CertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// LeafCache is a bounded LRU of minted leaf certificates with expiry. It
// implements goproxy's CertStorage. Concurrent misses for one host mint once.
type LeafCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	order   *list.List // front = most recent; values are *leafEntry
	entries map[string]*list.Element
	pending map[string]*mintCall
}

type leafEntry struct {
	host    string
	cert    *tls.Certificate
	expires time.Time
}

type mintCall struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// NewLeafCache makes a cache of at most max leaves, each kept for ttl.
func NewLeafCache(max int, ttl time.Duration) *LeafCache {
	if max < 1 {
		max = 1
	}
	return &LeafCache{max: max, ttl: ttl, order: list.New(), entries: map[string]*list.Element{}, pending: map[string]*mintCall{}}
}

// Fetch returns the cached leaf for hostname or mints one with gen.
func (c *LeafCache) Fetch(hostname string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	c.mu.Lock()
	if el, ok := c.entries[hostname]; ok {
		e := el.Value.(*leafEntry)
		if time.Now().Before(e.expires) {
			c.order.MoveToFront(el)
			c.mu.Unlock()
			return e.cert, nil
		}
		c.order.Remove(el)
		delete(c.entries, hostname)
	}
	if call, ok := c.pending[hostname]; ok {
		c.mu.Unlock()
		<-call.done
		return call.cert, call.err
	}
	call := &mintCall{done: make(chan struct{})}
	c.pending[hostname] = call
	c.mu.Unlock()

	call.cert, call.err = gen()
	if call.err == nil && call.cert == nil {
		call.err = errors.New("leaf generator returned no certificate")
	}

	c.mu.Lock()
	delete(c.pending, hostname)
	if call.err == nil {
		c.entries[hostname] = c.order.PushFront(&leafEntry{host: hostname, cert: call.cert, expires: time.Now().Add(c.ttl)})
		for c.order.Len() > c.max {
			old := c.order.Back()
			c.order.Remove(old)
			delete(c.entries, old.Value.(*leafEntry).host)
		}
	}
	c.mu.Unlock()
	close(call.done)
	return call.cert, call.err
}

// Len is the number of cached leaves.
func (c *LeafCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
