package claudecode

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

func agent(extra map[string]any) *manifest.Agent {
	return &manifest.Agent{Name: "fixer", File: "/home/u/.claude-bottle/agents/fixer.md", Extra: extra}
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name            string
		extra           map[string]any
		prompt          string
		flags           []string
		passed, ignored []string
		err             string
	}{
		{name: "nothing: full permissions", extra: map[string]any{}, flags: []string{"--dangerously-skip-permissions"}},
		{name: "system prompt first", extra: map[string]any{}, prompt: "/home/agent/p.md", flags: []string{"--append-system-prompt-file", "/home/agent/p.md", "--dangerously-skip-permissions"}},
		{name: "another permission mode", extra: map[string]any{"permissionMode": "acceptEdits"}, flags: []string{"--permission-mode", "acceptEdits"}, passed: []string{"permissionMode"}},
		{name: "bypass named", extra: map[string]any{"permissionMode": "bypassPermissions"}, flags: []string{"--dangerously-skip-permissions"}, passed: []string{"permissionMode"}},
		{
			name:    "model tools and the ignored keys",
			extra:   map[string]any{"model": "opus", "tools": "Read, Grep,Bash(git log:*)", "disallowedTools": []any{"WebFetch"}, "color": "blue", "description": "d", "maxTurns": 3},
			flags:   []string{"--dangerously-skip-permissions", "--model", "opus", "--allowedTools", "Read,Grep,Bash(git log:*)", "--disallowedTools", "WebFetch", "--max-turns", "3"},
			passed:  []string{"model", "tools", "disallowedTools", "maxTurns"},
			ignored: []string{"color", "description"},
		},
		{name: "empty tools pass nothing", extra: map[string]any{"tools": " , "}, flags: []string{"--dangerously-skip-permissions"}, ignored: []string{"tools"}},
		{name: "a flag as the model", extra: map[string]any{"model": "--dangerously-load"}, err: "key model"},
		{name: "a model with a space", extra: map[string]any{"model": "opus -p x"}, err: "key model"},
		{name: "a flag as a tool", extra: map[string]any{"tools": []any{"--help"}}, err: "key tools"},
		{name: "a newline in a tool rule", extra: map[string]any{"disallowedTools": "Bash(x\ny)"}, err: "key disallowedTools"},
		{name: "unknown permission mode", extra: map[string]any{"permissionMode": "yolo"}, err: "key permissionMode"},
		{name: "tools not a list", extra: map[string]any{"tools": 3}, err: "key tools"},
		{name: "turns not a number", extra: map[string]any{"maxTurns": "many"}, err: "key maxTurns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := Build(agent(tc.extra), tc.prompt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "fixer.md") {
					t.Fatalf("err = %v, want one naming the file and %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inv.Flags, tc.flags) {
				t.Errorf("flags = %q, want %q", inv.Flags, tc.flags)
			}
			if !reflect.DeepEqual(inv.Passed, tc.passed) || !reflect.DeepEqual(inv.Ignored, tc.ignored) {
				t.Errorf("passed %q ignored %q, want %q %q", inv.Passed, inv.Ignored, tc.passed, tc.ignored)
			}
		})
	}
}

func TestPrintPutsTheTaskLast(t *testing.T) {
	inv, _ := Build(agent(map[string]any{"tools": "Read"}), "")
	got := inv.Print("fix the bug")
	want := []string{"claude", "--dangerously-skip-permissions", "--allowedTools", "Read", "-p", "fix the bug"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("argv = %q, want %q", got, want)
	}
	if got := inv.Print("--help me"); got[len(got)-1] != " --help me" {
		t.Errorf("a task that looks like a flag is passed as %q", got[len(got)-1])
	}
	if got := inv.Interactive(true); got[len(got)-1] != "--continue" || got[0] != "claude" {
		t.Errorf("interactive argv = %q", got)
	}
}

func TestFirstRun(t *testing.T) {
	for _, tc := range []struct {
		name, existing, key string
		wantTail            string
		err                 bool
	}{
		{name: "no file", existing: ""},
		{name: "keeps other keys", existing: `{"userID":"u1","projects":{"/other":{"x":1},"/workspace":{"allowedTools":["Read"]}},"mcpServers":{"supervise":{}}}`},
		{name: "api key approved by its tail", existing: `{}`, key: "sk-ant-api03-placeholder-0123456789abcdefghij", wantTail: "0123456789abcdefghij"},
		{name: "short key whole", existing: `{"customApiKeyResponses":{"approved":["short-key"],"rejected":["x"]}}`, key: "short-key", wantTail: "short-key"},
		{name: "not an object", existing: `[1,2]`, err: true},
		{name: "not json", existing: `{`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := FirstRun([]byte(tc.existing), tc.key)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), ".claude.json") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Onboarding bool `json:"hasCompletedOnboarding"`
				Bypass     bool `json:"bypassPermissionsModeAccepted"`
				Projects   map[string]map[string]any
				Keys       *struct{ Approved, Rejected []string } `json:"customApiKeyResponses"`
				UserID     string
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !got.Onboarding || !got.Bypass || got.Projects["/workspace"]["hasTrustDialogAccepted"] != true {
				t.Errorf("first-run state missing:\n%s", out)
			}
			if tc.name == "keeps other keys" && (got.UserID != "u1" || got.Projects["/other"] == nil || got.Projects["/workspace"]["allowedTools"] == nil || !strings.Contains(string(out), "mcpServers")) {
				t.Errorf("existing keys lost:\n%s", out)
			}
			if tc.key == "" && got.Keys != nil {
				t.Errorf("no key, yet key responses:\n%s", out)
			}
			if tc.key != "" {
				if got.Keys == nil || got.Keys.Rejected == nil {
					t.Fatalf("no key responses:\n%s", out)
				}
				n := 0
				for _, a := range got.Keys.Approved {
					if a == tc.wantTail {
						n++
					}
				}
				if n != 1 {
					t.Errorf("approved = %q, want %q once", got.Keys.Approved, tc.wantTail)
				}
			}
		})
	}
}

func TestSettings(t *testing.T) {
	out, err := Settings([]byte(`{"model":"opus","permissions":{"allow":["Read"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil || got["skipDangerousModePermissionPrompt"] != true || got["model"] != "opus" || got["permissions"] == nil {
		t.Errorf("settings = %s (%v)", out, err)
	}
	if _, err := Settings([]byte(`"x"`)); err == nil || !strings.Contains(err.Error(), "settings.json") {
		t.Errorf("a string: err = %v", err)
	}
}

func FuzzFirstRun(f *testing.F) {
	f.Add([]byte(`{"projects":{"/workspace":1}}`), "k")
	f.Add([]byte(`{"customApiKeyResponses":{"approved":3}}`), "0123456789012345678901")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, existing []byte, key string) {
		out, err := FirstRun(existing, key)
		if err != nil {
			return
		}
		again, err := FirstRun(out, key)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %v\n%s\n%s", err, out, again)
		}
	})
}

func FuzzBuild(f *testing.F) {
	f.Add("opus", "Read, Grep", "acceptEdits")
	f.Add("-x", "--y", "plan")
	f.Fuzz(func(t *testing.T, model, tools, mode string) {
		inv, err := Build(agent(map[string]any{"model": model, "tools": tools, "permissionMode": mode}), "")
		if err != nil {
			return
		}
		// Every value follows its flag and none looks like a flag itself.
		for i := 1; i < len(inv.Flags); i++ {
			if strings.HasPrefix(inv.Flags[i-1], "--") && !strings.HasPrefix(inv.Flags[i-1], "--dangerously") && strings.HasPrefix(inv.Flags[i], "-") {
				t.Fatalf("a value looks like a flag: %q", inv.Flags)
			}
		}
	})
}
