package gitgate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The hook fails closed: without the gate's settings, or with input it
// cannot parse, it refuses the whole push before touching git.
func TestPreReceiveFailsClosed(t *testing.T) {
	// push_branches refuses everything below before any git command runs.
	good, _ := json.Marshal(hookConfig{Name: "demo", Upstream: "ssh://h/x.git", SSHCommand: "ssh", Policy: Policy{PushBranches: []string{"agent/*"}}})
	tests := []struct {
		name  string
		env   []string
		stdin string
		want  string
		code  int
	}{
		{"not under the gate", nil, zero + " " + oidA + " refs/heads/agent/x\n", "only runs under the gate", 1},
		{"bad settings", []string{hookEnvVar + "={"}, zero + " " + oidA + " refs/heads/agent/x\n", "bad " + hookEnvVar, 1},
		{"settings without upstream", []string{hookEnvVar + `={"name":"x"}`}, "", "bad " + hookEnvVar, 1},
		{"malformed input", []string{hookEnvVar + "=" + string(good)}, "garbage\n", "hook input line 1", 1},
		{"ref outside policy (shell-looking, passed to no shell)", []string{hookEnvVar + "=" + string(good)}, zero + " " + oidA + " refs/heads/$(id)\n", "not allowed by push_branches", 1},
		{"nothing to do", []string{hookEnvVar + "=" + string(good)}, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := preReceive(strings.NewReader(tc.stdin), &stderr, tc.env)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.want != "" && !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
			if tc.code != 0 && !strings.Contains(stderr.String(), "refused") {
				t.Fatalf("stderr does not say the push is refused:\n%s", stderr.String())
			}
		})
	}
}

func TestHookMainArgs(t *testing.T) {
	if code := HookMain(nil); code != 2 {
		t.Errorf("no hook name: exit %d, want 2", code)
	}
	if code := HookMain([]string{"post-receive"}); code != 2 {
		t.Errorf("unknown hook: exit %d, want 2", code)
	}
}
