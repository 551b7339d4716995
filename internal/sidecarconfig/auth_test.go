package sidecarconfig

import (
	"strings"
	"testing"
)

// TestAuthHeader: where a route's credential goes and what egress sends,
// which is also what pipelock's injected_credentials hash.
func TestAuthHeader(t *testing.T) {
	for _, tc := range []struct {
		auth             Auth
		header, value    string
		validateContains string // "" = valid
	}{
		{Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}, "Authorization", "Bearer tok", ""},
		{Auth{Header: "x-api-key", TokenSlot: "EGRESS_TOKEN_0"}, "X-Api-Key", "tok", ""},
		{Auth{Header: "PRIVATE-TOKEN", TokenSlot: "EGRESS_TOKEN_0"}, "Private-Token", "tok", ""},
		{Auth{Header: "X-Auth", Scheme: "Token", TokenSlot: "EGRESS_TOKEN_0"}, "X-Auth", "Token tok", ""},
		{Auth{TokenSlot: "EGRESS_TOKEN_0"}, "Authorization", "tok", "auth.scheme"},
		{Auth{Header: "Host", TokenSlot: "EGRESS_TOKEN_0"}, "Host", "tok", "cannot carry a credential"},
		{Auth{Header: "X:Y", TokenSlot: "EGRESS_TOKEN_0"}, "X:Y", "tok", "not an HTTP header name"},
		{Auth{Header: "X-Api-Key", Scheme: "a b", TokenSlot: "EGRESS_TOKEN_0"}, "X-Api-Key", "a b tok", "one word"},
		{Auth{Header: "X-Api-Key", TokenSlot: "TOKEN"}, "X-Api-Key", "tok", "EGRESS_TOKEN_<N>"},
	} {
		if got := tc.auth.HeaderName(); got != tc.header {
			t.Errorf("%+v: HeaderName = %q; want %q", tc.auth, got, tc.header)
		}
		if got := tc.auth.Value("tok"); got != tc.value {
			t.Errorf("%+v: Value = %q; want %q", tc.auth, got, tc.value)
		}
		err := (&Routes{Routes: []Route{{Host: "a.test", Auth: &tc.auth}}}).Validate()
		switch {
		case tc.validateContains == "" && err != nil:
			t.Errorf("%+v: %v", tc.auth, err)
		case tc.validateContains != "" && (err == nil || !strings.Contains(err.Error(), tc.validateContains)):
			t.Errorf("%+v: error %v; want one containing %q", tc.auth, err, tc.validateContains)
		}
	}
}
