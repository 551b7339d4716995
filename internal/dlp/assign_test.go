package dlp

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

func TestCheckAssignments(t *testing.T) {
	g := secrettest.New(31)
	b64 := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	bad := []string{
		"AWS_SECRET_ACCESS_KEY=" + g.Str(b64, 40) + "\n",
		`{"client_secret": "` + g.Str(b64[:62], 32) + `"}`,
		"export GH_TOKEN=" + g.Str(b64[:62], 40),
		"db_password: " + g.Str(b64[:62], 24),
	}
	for _, s := range bad {
		if v := checkAssignments([]byte(s), secretscan.Candidates([]byte(s))); v == nil || v.Rule != RuleAssignment {
			t.Errorf("%q: got %v", s, v)
		}
	}
	good := []string{
		"API_KEY=your-api-key-goes-here\n",
		"token := tokenizer.NextTokenValue2024()",
		`{"auth_type":"OAuth2ClientCredentialsFlow"}`,
		"password: ${{ secrets.REGISTRY_PASSWORD }}",
		"secret_name = prod-payments-webhook-signing-v2",
		`"integrity": "sha512-` + g.Str(b64, 86) + `"`,
	}
	for _, s := range good {
		if v := checkAssignments([]byte(s), secretscan.Candidates([]byte(s))); v != nil {
			t.Errorf("%q: flagged %v", s, v)
		}
	}
}
