package demo

import (
	"encoding/pem"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/ca"
)

// NewCA makes a throwaway demo CA and one server certificate it signs for
// hosts. It returns the CA certificate, the leaf certificate and the leaf
// key, all PEM. The CA key is never written anywhere: it dies with the run.
func NewCA(hosts []string) (caPEM, leafPEM, leafKeyPEM []byte, err error) {
	caPEM, caKey, err := ca.Generate("claude-bottle demo upstream CA", 24*time.Hour)
	if err != nil {
		return nil, nil, nil, err
	}
	leafPEM, leafKeyPEM, err = ca.IssueLeaf(caPEM, caKey, hosts, 24*time.Hour)
	if err != nil {
		return nil, nil, nil, err
	}
	return caPEM, leafPEM, leafKeyPEM, nil
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
