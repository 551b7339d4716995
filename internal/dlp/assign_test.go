package dlp

import (
	"testing"

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
		if v := checkAssignments([]byte(s)); v == nil || v.Rule != RuleAssignment {
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
		if v := checkAssignments([]byte(s)); v != nil {
			t.Errorf("%q: flagged %v", s, v)
		}
	}
}

// assignmentsByRegexp is the plain form of checkAssignments: assignRE over
// the whole text. The anchored search must block whatever this blocks.
func assignmentsByRegexp(b []byte) bool {
	for _, m := range assignRE.FindAllSubmatchIndex(b, -1) {
		if !excludedKey(b, m[2], m[3]) && randomValue(b[m[4]:m[5]]) {
			return true
		}
	}
	return false
}

func FuzzAssignmentsAnchoredCoversRegexp(f *testing.F) {
	for _, s := range []string{
		"AWS_SECRET_ACCESS_KEY=Zq9x7KpR2mW4vT8nB6cYaQ3sLd5FhJ0gUeWr",
		`{"client_secret": "Zq9x7KpR2mW4vT8nB6cYaQ3sLd5F"}`,
		"xauth: Zq9x7KpR2mW4vT8nB6cYaQ3sLd5F", "OAUTH_x=Zq9x7KpR2mW4vT8nB6cYaQ3sLd5F", "auth=Zq9x7KpR2mW4vT8nB6cYaQ3sLd5F",
		"token=Zq9x7KpR2mW4vT8nsecret=Zq9x7KpR2mW4vT8nB6cYaQ3sL",
		"PassWord   :=   'Zq9x7KpR2mW4vT8nB6cYaQ3sLd5F'", "api-key => Zq9x7KpR2mW4vT8nB6cYaQ3sLd5F+/",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if assignmentsByRegexp(b) && checkAssignments(b) == nil {
			t.Fatalf("assignRE blocks %q, the anchored search does not", b)
		}
	})
}
