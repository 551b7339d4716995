package gitgate

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"agent/*", "agent/x", true},
		{"agent/*", "agent/x/y", true},
		{"agent/*", "agent/", true},
		{"agent/*", "agent", false},
		{"agent/*", "main", false},
		{"agent/*", "xagent/y", false},
		{"main", "main", true},
		{"main", "main2", false},
		{"feat-?", "feat-1", true},
		{"feat-?", "feat-12", false},
		{"a?b", "a/b", false},
		{"*", "anything/at/all", true},
		{"*-wip", "x/y-wip", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tc := range tests {
		if got := globMatch(tc.pat, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}

func TestPolicyCheckStatic(t *testing.T) {
	agent := Policy{PushBranches: []string{"agent/*"}}
	tags := Policy{PushBranches: []string{"agent/*", "refs/tags/v*"}}
	open := Policy{}
	canDelete := Policy{PushBranches: []string{"agent/*"}, AllowDelete: true}
	tests := []struct {
		name    string
		p       Policy
		u       RefUpdate
		wantErr string
	}{
		{"agent branch create", agent, RefUpdate{zero, oidA, "refs/heads/agent/x"}, ""},
		{"main refused", agent, RefUpdate{oidA, oidB, "refs/heads/main"}, `not allowed by push_branches ["agent/*"]`},
		{"tag refused by branch globs", agent, RefUpdate{zero, oidA, "refs/tags/v1"}, "not allowed"},
		{"tag allowed by refs/ glob", tags, RefUpdate{zero, oidA, "refs/tags/v1"}, ""},
		{"other tag refused", tags, RefUpdate{zero, oidA, "refs/tags/x1"}, "not allowed"},
		{"open policy: any branch", open, RefUpdate{oidA, oidB, "refs/heads/main"}, ""},
		{"open policy: no tags", open, RefUpdate{zero, oidA, "refs/tags/v1"}, "only branches"},
		{"open policy: no notes", open, RefUpdate{zero, oidA, "refs/notes/commits"}, "only branches"},
		{"delete refused", agent, RefUpdate{oidA, zero, "refs/heads/agent/x"}, "allow_delete is false"},
		{"delete allowed", canDelete, RefUpdate{oidA, zero, "refs/heads/agent/x"}, ""},
		{"delete outside globs refused even if allowed", canDelete, RefUpdate{oidA, zero, "refs/heads/main"}, "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.CheckStatic(tc.u)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected refusal: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.u.Ref) {
				t.Errorf("error %q does not name the ref", err)
			}
		})
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("agent/*", "agent/x")
	f.Add("a*b*c*d*e*f*", strings.Repeat("a", 100))
	f.Fuzz(func(t *testing.T, pat, name string) {
		got := globMatch(pat, name)
		if !strings.ContainsAny(pat, "*?") && got != (pat == name) {
			t.Fatalf("literal %q vs %q: %v", pat, name, got)
		}
		if pat == "*" && !got {
			t.Fatalf("* did not match %q", name)
		}
	})
}
