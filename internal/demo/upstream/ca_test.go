package upstream

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/testca"
)

// testCA makes a CA and a leaf for api.demo.test.
func testCA(t *testing.T) (caPEM, leafPEM, keyPEM []byte) {
	t.Helper()
	c := testca.New(t, "test CA")
	leafPEM, keyPEM = c.LeafPEM(t, "api.demo.test")
	return c.CertPEM, leafPEM, keyPEM
}
