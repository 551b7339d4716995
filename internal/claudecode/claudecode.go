// Package claudecode is what claude-bottle tells Claude Code: the command
// line built from an agent's own keys (model, tools, permission mode), and
// the first-run state (~/.claude.json) that lets an unattended run start
// without a screen to click through. It is pure: the launcher writes what
// it returns into the agent container.
//
// docs/CLAUDE-CODE.md cites the Claude Code documentation each choice
// rests on.
package claudecode

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

// Workspace is where --cwd puts the work tree in the agent container, and
// the project whose trust dialog the first-run state accepts.
const Workspace = "/workspace"

// Env is what every agent container gets so Claude Code never stops to
// update itself or phone home: the bottle has no route for either.
var Env = [][2]string{
	{"DISABLE_AUTOUPDATER", "1"},
	{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"},
}

// PermissionModes are the values Claude Code's --permission-mode takes.
var PermissionModes = []string{"default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"}

// Invocation is how claude is run for one agent.
type Invocation struct {
	// Flags go before -p (or --continue), in this order.
	Flags []string
	// Passed names the agent keys that became flags; Ignored the agent keys
	// Claude Code's command line has no use for (they are kept in the
	// agent file for subagent use).
	Passed, Ignored []string
}

var (
	modelRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@/\[\]-]*$`)
	// A tool rule: a name, optionally with a parenthesised specifier
	// ("Bash(git log:*)"). No leading dash, no comma (the list is joined
	// with commas), no control characters.
	toolRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:*-]*(\([^,\x00-\x1f\x7f]*\))?$`)
)

// Build turns an agent's keys into claude's flags. systemPromptFile is the
// in-container path of the agent's system prompt ("" when it has none).
// The values come from an agent file a cloned repo may supply, so each is
// checked to be a value, never a flag of its own.
func Build(a *manifest.Agent, systemPromptFile string) (Invocation, error) {
	var inv Invocation
	bad := func(key string, v any, what string) error {
		return fmt.Errorf("%s: key %s: %v is not %s; fix the agent file", a.File, key, v, what)
	}
	if systemPromptFile != "" {
		inv.Flags = append(inv.Flags, "--append-system-prompt-file", systemPromptFile)
	}
	mode := "bypassPermissions"
	if v, ok := a.Extra["permissionMode"]; ok {
		s, ok := v.(string)
		if !ok || !contains(PermissionModes, s) {
			return inv, bad("permissionMode", v, "one of "+strings.Join(PermissionModes, ", "))
		}
		mode = s
		inv.Passed = append(inv.Passed, "permissionMode")
	}
	if mode == "bypassPermissions" {
		// The bottle is the sandbox: nothing inside it needs a human's yes.
		inv.Flags = append(inv.Flags, "--dangerously-skip-permissions")
	} else {
		inv.Flags = append(inv.Flags, "--permission-mode", mode)
	}
	if v, ok := a.Extra["model"]; ok {
		s, ok := v.(string)
		if !ok || !modelRe.MatchString(s) {
			return inv, bad("model", v, "a model name (e.g. sonnet, opus, claude-sonnet-4-5)")
		}
		inv.Flags = append(inv.Flags, "--model", s)
		inv.Passed = append(inv.Passed, "model")
	}
	for _, k := range []struct{ key, flag string }{{"tools", "--allowedTools"}, {"disallowedTools", "--disallowedTools"}} {
		v, ok := a.Extra[k.key]
		if !ok {
			continue
		}
		tools, err := toolList(v)
		if err != nil {
			return inv, bad(k.key, v, "a list of tool names (a YAML list or \"Read, Grep\"): "+err.Error())
		}
		if len(tools) == 0 {
			continue
		}
		// One comma-joined argument: the flags are variadic, and a list
		// spread over several arguments would swallow the task after it.
		inv.Flags = append(inv.Flags, k.flag, strings.Join(tools, ","))
		inv.Passed = append(inv.Passed, k.key)
	}
	if v, ok := a.Extra["maxTurns"]; ok {
		n, ok := v.(int)
		if !ok || n < 1 {
			return inv, bad("maxTurns", v, "a whole number of turns, 1 or more")
		}
		inv.Flags = append(inv.Flags, "--max-turns", fmt.Sprint(n))
		inv.Passed = append(inv.Passed, "maxTurns")
	}
	for k := range a.Extra {
		if !contains(inv.Passed, k) {
			inv.Ignored = append(inv.Ignored, k)
		}
	}
	sort.Strings(inv.Ignored)
	return inv, nil
}

// Print is the argv for an unattended run of task.
func (inv Invocation) Print(task string) []string {
	// The task is the last argument, right after -p; one that starts with
	// a dash would be read as a flag, and a leading space changes nothing
	// for the model.
	if strings.HasPrefix(task, "-") {
		task = " " + task
	}
	return append(append([]string{"claude"}, inv.Flags...), "-p", task)
}

// Interactive is the argv for an attached session; cont resumes the most
// recent conversation in the working directory (claude --continue).
func (inv Invocation) Interactive(cont bool) []string {
	argv := append([]string{"claude"}, inv.Flags...)
	if cont {
		argv = append(argv, "--continue")
	}
	return argv
}

func toolList(v any) ([]string, error) {
	var raw []string
	switch t := v.(type) {
	case string:
		raw = strings.Split(t, ",")
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a tool name", x)
			}
			raw = append(raw, s)
		}
	default:
		return nil, fmt.Errorf("a %T", v)
	}
	var out []string
	for _, s := range raw {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !toolRe.MatchString(s) {
			return nil, fmt.Errorf("%q is not a tool name or rule", s)
		}
		out = append(out, s)
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// FirstRun merges into an existing ~/.claude.json (nil or empty: none) the
// state that keeps an unattended Claude Code from stopping at a first-run
// screen: onboarding done, the bypass-permissions warning acknowledged,
// /workspace trusted, and, when apiKey is the placeholder key the agent
// holds, that key approved. Everything else in the file is kept.
func FirstRun(existing []byte, apiKey string) ([]byte, error) {
	cfg, err := object("~/.claude.json", existing)
	if err != nil {
		return nil, err
	}
	cfg["hasCompletedOnboarding"] = true
	cfg["bypassPermissionsModeAccepted"] = true
	projects, _ := cfg["projects"].(map[string]any)
	if projects == nil {
		projects = map[string]any{}
	}
	ws, _ := projects[Workspace].(map[string]any)
	if ws == nil {
		ws = map[string]any{}
	}
	ws["hasTrustDialogAccepted"] = true
	projects[Workspace] = ws
	cfg["projects"] = projects
	if apiKey != "" && printableASCII(apiKey) {
		// Claude Code remembers an approved key by its last 20 characters
		// (API keys are ASCII; anything else is not a key to approve).
		tail := apiKey
		if len(tail) > 20 {
			tail = tail[len(tail)-20:]
		}
		resp, _ := cfg["customApiKeyResponses"].(map[string]any)
		if resp == nil {
			resp = map[string]any{}
		}
		approved := []any{}
		if l, ok := resp["approved"].([]any); ok {
			approved = l
		}
		found := false
		for _, x := range approved {
			found = found || x == tail
		}
		if !found {
			approved = append(approved, tail)
		}
		resp["approved"] = approved
		if _, ok := resp["rejected"].([]any); !ok {
			resp["rejected"] = []any{}
		}
		cfg["customApiKeyResponses"] = resp
	}
	return marshal(cfg)
}

// Settings merges into an existing ~/.claude/settings.json (nil or empty:
// none) the acknowledgement of the bypass-permissions warning that newer
// Claude Code versions keep there rather than in ~/.claude.json; without
// it an attached session in bypass mode opens on a warning to accept.
func Settings(existing []byte) ([]byte, error) {
	cfg, err := object("~/.claude/settings.json", existing)
	if err != nil {
		return nil, err
	}
	cfg["skipDangerousModePermissionPrompt"] = true
	return marshal(cfg)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func object(name string, data []byte) (map[string]any, error) {
	cfg := map[string]any{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s in the agent image is not a JSON object: %v; fix the image or remove the file", name, err)
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	return cfg, nil
}

func marshal(cfg map[string]any) ([]byte, error) {
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
