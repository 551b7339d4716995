package pipelock

import (
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/dlp"
	"github.com/claude-bottle/claude-bottle/internal/respscan"
	"github.com/claude-bottle/claude-bottle/internal/secretscan"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func mustScanner(t testing.TB) *secretscan.Scanner {
	t.Helper()
	sc, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// The manifest validates dlp: names against sidecarconfig's list, pipelock
// against dlp's: they must be the same.
func TestDLPClassListsAgree(t *testing.T) {
	if strings.Join(sidecarconfig.DLPClasses, ",") != strings.Join(dlp.ClassNames, ",") {
		t.Fatalf("sidecarconfig.DLPClasses %v != dlp.ClassNames %v", sidecarconfig.DLPClasses, dlp.ClassNames)
	}
}

// The manifest validates responses: against sidecarconfig's lists,
// pipelock against respscan's: they must be the same.
func TestResponseListsAgree(t *testing.T) {
	var modes []string
	for _, m := range respscan.Modes {
		modes = append(modes, string(m))
	}
	if strings.Join(sidecarconfig.ResponseModes, ",") != strings.Join(modes, ",") {
		t.Fatalf("sidecarconfig.ResponseModes %v != respscan.Modes %v", sidecarconfig.ResponseModes, modes)
	}
	if strings.Join(sidecarconfig.ResponseKinds, ",") != strings.Join(respscan.Kinds, ",") {
		t.Fatalf("sidecarconfig.ResponseKinds %v != respscan.Kinds %v", sidecarconfig.ResponseKinds, respscan.Kinds)
	}
}

func TestWildcardAllowlist(t *testing.T) {
	p, err := BuildPolicy(&sidecarconfig.Pipelock{Allowlist: []string{"*.githubusercontent.com"}}, func(string) string { return "" }, mustScanner(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	for host, want := range map[string]string{
		"raw.githubusercontent.com":                                "",
		"a.b.githubusercontent.com":                                "",
		"githubusercontent.com":                                    RuleAllowlist, // the entry admits names under it, not itself
		"evilgithubusercontent.com":                                RuleAllowlist,
		"68696464656e2d646174612d6865726521.githubusercontent.com": "dlp.subdomain",
	} {
		if rule, reason := s.checkHost(p, host); rule != want {
			t.Errorf("%s: rule %q (%s), want %q", host, rule, reason, want)
		}
	}
}

func TestBuildPolicyErrors(t *testing.T) {
	sc := mustScanner(t)
	env := func(k string) string {
		if k == "SET" {
			return "long-enough-secret"
		}
		if k == "SHORT" {
			return "abc"
		}
		return ""
	}
	tests := []struct {
		name    string
		cfg     sidecarconfig.Pipelock
		wantErr string
	}{
		{"ok", sidecarconfig.Pipelock{Allowlist: []string{"pypi.org"}, KnownSecretEnv: []string{"SET"}}, ""},
		{"unset env", sidecarconfig.Pipelock{KnownSecretEnv: []string{"SET", "MISSING"}}, "known_secret_env[1]: MISSING is not set"},
		{"bad ip literal", sidecarconfig.Pipelock{AllowIPLiterals: []string{"1.2.3"}}, `allow_ip_literals[0]: "1.2.3" is not an IP address`},
		{"bad host", sidecarconfig.Pipelock{Allowlist: []string{"https://x"}}, "allowlist[0]"},
		{"short secret is a warning", sidecarconfig.Pipelock{KnownSecretEnv: []string{"SHORT"}}, ""},
		{"dlp classes off", sidecarconfig.Pipelock{DLPOff: []string{"pii", "financial"}}, ""},
		{"wildcard", sidecarconfig.Pipelock{Allowlist: []string{"*.githubusercontent.com"}}, ""},
		{"wildcard over a TLD", sidecarconfig.Pipelock{Allowlist: []string{"*.com"}}, "allowlist[0]: \"*.com\" admits a whole top-level domain"},
		{"wildcard inside", sidecarconfig.Pipelock{Allowlist: []string{"a*.example.com"}}, "allowlist[0]"},
		{"unknown dlp class", sidecarconfig.Pipelock{DLPOff: []string{"pii", "emails"}}, `dlp_off[1]: "emails" is not a DLP class`},
		{"response modes", sidecarconfig.Pipelock{Responses: "block", ResponsesOff: []string{"css-hidden"}}, ""},
		{"unknown response mode", sidecarconfig.Pipelock{Responses: "loud"}, `responses: "loud" is not a response mode; use warn, strip, block or off`},
		{"unknown response kind", sidecarconfig.Pipelock{ResponsesOff: []string{"override", "comments"}}, `responses_off[1]: "comments" is not a response rule kind`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildPolicy(&tc.cfg, env, sc)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
	p, _ := BuildPolicy(&sidecarconfig.Pipelock{Passthrough: []string{"not-allowed.example"}}, env, sc)
	if p.isPassthrough("not-allowed.example") || len(p.warnings) != 1 {
		t.Fatalf("a passthrough host outside the allowlist must stay blocked and warn: %v", p.warnings)
	}
	// The model host is inspected like any host unless the bottle
	// declares it passthrough (issue 15 hole 6).
	if p.isPassthrough("api.anthropic.com") {
		t.Fatal("api.anthropic.com must not be passthrough by default")
	}
	declared, _ := BuildPolicy(&sidecarconfig.Pipelock{Passthrough: []string{"api.anthropic.com"}}, env, sc)
	if !declared.isPassthrough("api.anthropic.com") {
		t.Fatal("a declared passthrough host in the allowlist must be passthrough")
	}
	// With the bottle's model credential injected by egress, the model
	// host is intercepted: what goes with the credential is scanned.
	withCred, err := BuildPolicy(&sidecarconfig.Pipelock{Passthrough: []string{"gw.example.com"}, Allowlist: []string{"gw.example.com"}, InjectedCredentials: []sidecarconfig.InjectedCredential{
		{Host: "API.anthropic.com", Header: "X-Api-Key", SHA256: strings.Repeat("ab", 32)},
		{Host: "gw.example.com", Header: "Authorization", SHA256: strings.Repeat("cd", 32)},
	}}, env, sc)
	if err != nil {
		t.Fatal(err)
	}
	if withCred.isPassthrough("api.anthropic.com") || withCred.isPassthrough("gw.example.com") {
		t.Fatal("a host with an injected credential must be intercepted, not passthrough")
	}
}

func TestParseIPLiteral(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1": "127.0.0.1", "2130706433": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"0x7f.1": "127.0.0.1", "127.1": "127.0.0.1", "0x7f000001": "127.0.0.1", "10.0.258": "10.0.1.2",
		"::ffff:10.0.0.1": "10.0.0.1", "::1": "::1", "169.254.43518": "169.254.169.254",
		"example.com": "", "1.2.3.4.5": "", "256.1.1.1": "", "1.2.3.256": "", "0x": "", "08.1.1.1": "", "123abc": "",
	}
	for in, want := range tests {
		a, ok := parseIPLiteral(in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("parseIPLiteral(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseIPLiteral(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "2130706433", "0x7f.1", "::1", "a.b", "1.2.3.4.5", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, ok := parseIPLiteral(in)
		if ok && !a.IsValid() {
			t.Fatalf("%q: ok with an invalid address", in)
		}
	})
}
