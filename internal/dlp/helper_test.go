package dlp

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

func mustScanner(t testing.TB) *secretscan.Scanner {
	t.Helper()
	s, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
