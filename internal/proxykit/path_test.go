package proxykit

import "testing"

func TestCheckPath(t *testing.T) {
	paths := []string{"/repos/org/demo", "/v1/"}
	tests := []struct {
		path  string
		allow bool
	}{
		{"/repos/org/demo", true},
		{"/repos/org/demo/issues", true},
		{"/repos/org/demo-evil", false},
		{"/repos/org", false},
		{"/v1/", true},
		{"/v1/x", true},
		{"/v1", false},
		{"/repos/org/demo/../other", false},
		{"/repos/org/demo/./x", false},
		{"/repos/org/demo\\..\\x", false},
		{"/repos/org/demo/..;/x", false},
		{"/repos/org/demo/%2e%2E/x", false},
		{"/repos/org/demo/.%2e/x", false},
		{"/repos/org/demo/..a/x", true},
		{"/repos/org/demo/a;b", true},
		{"", false},
	}
	for _, tc := range tests {
		if got := CheckPath(paths, "api.test", tc.path) == ""; got != tc.allow {
			t.Errorf("CheckPath(%q) allowed=%v; want %v", tc.path, got, tc.allow)
		}
	}
	if CheckPath(nil, "x", "/anything/../x") != "" {
		t.Error("a route without allowlist must allow any path")
	}
}
