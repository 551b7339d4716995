package gitgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

// hookEnvVar carries the remote's settings from the gate to its hooks
// through git receive-pack's environment. Only the gate starts
// receive-pack, so the agent cannot set it; a hook run without it refuses
// everything.
const hookEnvVar = "GITGATE_HOOK_CONFIG"

// hookConfig is what the pre-receive hook needs to police and forward a push.
type hookConfig struct {
	Name       string `json:"name"`
	Upstream   string `json:"upstream"`
	SSHCommand string `json:"ssh_command"`
	Policy     Policy `json:"policy"`
}

// Bounds on the hook's work. The forward has its own bound: a slow upstream
// must not hold the agent's push for ever.
const (
	hookScanTimeout    = 20 * time.Minute
	hookForwardTimeout = 10 * time.Minute
	maxFindingsShown   = 20
)

// HookMain runs a git hook: `claude-bottle-sidecar hook pre-receive`. Its
// stderr is what the pushing agent sees ("remote: ..." lines).
func HookMain(args []string) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(os.Stderr, "usage: claude-bottle-sidecar hook pre-receive\n\nInstalled by git-gate into each mirror; not meant to be run by hand.")
		return 0
	}
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "git-gate hook: missing hook name (want: hook pre-receive)")
		return 2
	}
	switch args[0] {
	case "pre-receive":
		return preReceive(os.Stdin, os.Stderr, os.Environ())
	default:
		fmt.Fprintf(os.Stderr, "git-gate hook: unknown hook %q; only pre-receive is installed\n", args[0])
		return 2
	}
}

// Push decisions as the hook records them for the gate's log.
const (
	pushAccepted = "accepted"
	pushRefused  = "refused"
	// Rules of a refused push (the gitleaks rule id, or known-secret, for
	// a secret).
	ruleBranchPolicy = "branch-policy"
	ruleScanError    = "scan-error"
	ruleUpstream     = "upstream"
	ruleBadPush      = "bad-push"
)

// decisionEnvVar names the file the gate asks the hook to write its
// decision to (one JSON object); the gate logs it as its "push" line. Like
// hookEnvVar it is set by the gate on receive-pack only.
const decisionEnvVar = "GITGATE_DECISION_FILE"

// pushDecision is what the hook decided about one push.
type pushDecision struct {
	Decision string `json:"decision"`
	Rule     string `json:"rule,omitempty"`
	// Reason is for the operator: never a secret (findings are named by
	// rule, not shown).
	Reason string `json:"reason,omitempty"`
	Refs   string `json:"refs,omitempty"`
}

func preReceive(stdin io.Reader, stderr io.Writer, env []string) int {
	code, d := preReceiveDecide(stdin, stderr, env)
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, decisionEnvVar+"="); ok && path != "" {
			if d.Decision == "" {
				d.Decision = pushAccepted
				if code != 0 {
					d.Decision = pushRefused
				}
			}
			b, _ := json.Marshal(d)
			_ = os.WriteFile(path, b, 0o600)
		}
	}
	return code
}

func preReceiveDecide(stdin io.Reader, stderr io.Writer, env []string) (int, pushDecision) {
	say := func(format string, a ...any) { fmt.Fprintf(stderr, "git-gate: "+format+"\n", a...) }
	var refs []string
	refuse := func(rule, reason string) (int, pushDecision) {
		return 1, pushDecision{Decision: pushRefused, Rule: rule, Reason: reason, Refs: strings.Join(refs, " ")}
	}
	raw := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, hookEnvVar+"="); ok {
			raw = v
		}
	}
	if raw == "" {
		say("this hook only runs under the gate (%s is unset); push refused", hookEnvVar)
		return refuse(ruleBadPush, "the hook ran outside the gate")
	}
	var cfg hookConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil || cfg.Upstream == "" || cfg.SSHCommand == "" {
		say("bad %s (%v); push refused", hookEnvVar, err)
		return refuse(ruleBadPush, "bad hook config")
	}
	updates, err := ParseHookInput(stdin)
	if err != nil {
		say("%v; push refused", err)
		return refuse(ruleBadPush, err.Error())
	}
	if len(updates) == 0 {
		return 0, pushDecision{Decision: pushAccepted}
	}
	for _, u := range updates {
		refs = append(refs, u.Ref)
	}

	ctx, cancel := context.WithTimeout(context.Background(), hookScanTimeout)
	defer cancel()

	// 1. Branch policy, deletions, fast-forwards: every violation is listed.
	var refused []string
	var tips, tags []string
	for _, u := range updates {
		if err := cfg.Policy.CheckStatic(u); err != nil {
			refused = append(refused, err.Error())
			continue
		}
		if u.IsDelete() {
			continue
		}
		tips = append(tips, u.New)
		typ, err := gitOutput(ctx, env, "cat-file", "-t", u.New)
		if err != nil {
			refused = append(refused, fmt.Sprintf("%s: cannot read pushed object %s: %v", u.Ref, u.New, err))
			continue
		}
		switch t := strings.TrimSpace(string(typ)); t {
		case "commit":
		case "tag":
			// Every tag of a chain (a tag of a tag) is an object sent
			// upstream with a header and a message of its own.
			chain, end, err := tagChain(ctx, env, u.New)
			if err != nil {
				refused = append(refused, fmt.Sprintf("%s: %v", u.Ref, err))
				continue
			}
			if end != "commit" {
				refused = append(refused, fmt.Sprintf("%s: a tag must point at a commit, not a %s", u.Ref, end))
				continue
			}
			tags = append(tags, chain...)
		default:
			// A ref straight at a blob or tree would send content the
			// commit scan never reads.
			refused = append(refused, fmt.Sprintf("%s: a ref must point at a commit or an annotated tag of one, not a %s", u.Ref, t))
			continue
		}
		if !u.IsCreate() && !cfg.Policy.AllowForcePush {
			ff, err := isAncestor(ctx, env, u.Old, u.New)
			if err != nil {
				refused = append(refused, fmt.Sprintf("%s: %v", u.Ref, err))
			} else if !ff {
				refused = append(refused, fmt.Sprintf("%s: not a fast-forward of %s; force pushes are not allowed (allow_force_push is false); fetch, rebase or merge, and push again", u.Ref, u.Old[:12]))
			}
		}
	}
	if len(refused) > 0 {
		for _, r := range refused {
			say("refused %s", r)
		}
		say("push refused by policy; nothing was sent upstream")
		return refuse(ruleBranchPolicy, refused[0])
	}

	// 2. Secrets in every new commit, not only the tips; in every ref name
	// the push sends upstream (deletions too: the name travels); in
	// annotated tags, their header (tag name, tagger) and message.
	scanStart := time.Now()
	rules, err := secretscan.Default()
	if err != nil {
		say("secret scanner unavailable (%v); push refused", err)
		return refuse(ruleScanError, "secret scanner unavailable")
	}
	sc := newKnownScanner(rules, knownSecretsFromEnv(env))
	var findings []Finding
	for i, u := range updates {
		for _, f := range sc.known(u.Ref) {
			findings = append(findings, Finding{File: inRefName, Line: i + 1, RuleID: f.RuleID, Redacted: f.Redacted})
		}
	}
	cfs, n, err := scanRange(ctx, env, tips, sc)
	if err != nil {
		say("could not scan the pushed commits (%v); push refused", err)
		return refuse(ruleScanError, err.Error())
	}
	findings = append(findings, cfs...)
	if len(tags) > 0 {
		objs, err := catObjects(ctx, env, tags, "tag")
		if err != nil {
			say("could not read pushed tags (%v); push refused", err)
			return refuse(ruleScanError, err.Error())
		}
		for _, tag := range tags {
			hdr, msg := splitObject(objs[tag])
			for _, f := range sc.known(hdr) {
				findings = append(findings, Finding{Commit: tag, File: inTagHeader, Line: f.Line, RuleID: f.RuleID, Redacted: f.Redacted})
			}
			for _, f := range sc.ScanString(msg) {
				findings = append(findings, Finding{Commit: tag, File: inTagMessage, Line: f.Line, RuleID: f.RuleID, Redacted: f.Redacted})
			}
		}
	}
	if len(findings) > 0 {
		for i, f := range findings {
			if i == maxFindingsShown {
				say("... and %d more", len(findings)-i)
				break
			}
			say("secret found: %s", f)
		}
		say("push refused: %d secret(s) in %d new commit(s). Remove them from history (not only from the tip: rewrite the commits), then push again. Nothing was sent upstream.", len(findings), n)
		var ids []string
		for _, f := range findings {
			if !slices.Contains(ids, f.RuleID) {
				ids = append(ids, f.RuleID)
			}
		}
		return refuse(ids[0], fmt.Sprintf("%d secret(s) in %d new commit(s) (rules: %s)", len(findings), n, strings.Join(ids, ", ")))
	}

	say("%d new commit(s) scanned, no secrets found (%.1fs); forwarding to the upstream", n, time.Since(scanStart).Seconds())

	// 3. Forward. The gate's refs move only if the upstream took the push.
	fwdStart := time.Now()
	fctx, fcancel := context.WithTimeout(context.Background(), hookForwardTimeout)
	defer fcancel()
	if err := forwardPush(fctx, env, cfg, updates, stderr); err != nil {
		say("%v", err)
		return refuse(ruleUpstream, "the upstream refused or could not be reached")
	}
	say("upstream accepted (%.1fs)", time.Since(fwdStart).Seconds())
	return 0, pushDecision{Decision: pushAccepted, Refs: strings.Join(refs, " ")}
}

// maxTagChain bounds a tag-of-a-tag chain.
const maxTagChain = 16

// tagChain follows the tag at oid through tags of tags and returns every
// tag object on the way and the type of the object at the end.
func tagChain(ctx context.Context, env []string, oid string) ([]string, string, error) {
	var chain []string
	for range maxTagChain {
		chain = append(chain, oid)
		body, err := gitOutput(ctx, env, "cat-file", "tag", oid)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read pushed tag %s: %v", oid, err)
		}
		hdr, _ := splitObject(string(body))
		var obj, typ string
		for _, l := range strings.Split(hdr, "\n") {
			if v, ok := strings.CutPrefix(l, "object "); ok && obj == "" {
				obj = v
			} else if v, ok := strings.CutPrefix(l, "type "); ok && typ == "" {
				typ = v
			}
		}
		if checkOID(obj) != nil || typ == "" {
			return nil, "", fmt.Errorf("pushed tag %s has no object/type header", oid)
		}
		if typ != "tag" {
			return chain, typ, nil
		}
		oid = obj
	}
	return nil, "", fmt.Errorf("tag chain from %s is longer than %d tags", chain[0], maxTagChain)
}

// isAncestor reports whether old is an ancestor of new (a fast-forward).
func isAncestor(ctx context.Context, env []string, old, new string) (bool, error) {
	cmd := exec.CommandContext(ctx, "git", "merge-base", "--is-ancestor", old, new)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4 << 10}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	default:
		return false, fmt.Errorf("checking fast-forward %s..%s: %v: %s", old, new, err, strings.TrimSpace(stderr.String()))
	}
}

// forwardPush pushes the updates to the upstream in one atomic push, each
// with a lease on the value the gate holds, so the upstream is changed only
// from the state the agent saw and either every ref moves or none does. The
// push goes to the URL, not a named remote: git forbids ref updates inside
// the quarantine, and a URL push updates no remote-tracking ref.
func forwardPush(ctx context.Context, env []string, cfg hookConfig, updates []RefUpdate, stderr io.Writer) error {
	args := []string{"push", "--atomic", "--porcelain", "--no-verify", "--no-recurse-submodules"}
	var specs []string
	for _, u := range updates {
		expect := u.Old
		if u.IsCreate() {
			expect = ""
		}
		args = append(args, "--force-with-lease="+u.Ref+":"+expect)
		if u.IsDelete() {
			specs = append(specs, ":"+u.Ref)
		} else {
			specs = append(specs, u.New+":"+u.Ref)
		}
	}
	args = append(args, "--", cfg.Upstream)
	args = append(args, specs...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(append([]string{}, env...),
		"GIT_SSH_COMMAND="+cfg.SSHCommand,
		"GIT_SSH_VARIANT=ssh",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ALLOW_PROTOCOL=ssh",
	)
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: 64 << 10}
	cmd.Stderr = &limitedWriter{w: &out, n: 64 << 10}
	err := cmd.Run()
	// Relay what the upstream said (its hooks' messages, rejections).
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(stderr, "git-gate: upstream: %s\n", l)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("push to upstream %s timed out; nothing was changed on the gate", cfg.Upstream)
		}
		return fmt.Errorf("upstream %s refused the push (%v); nothing was changed on the gate. If the upstream moved, fetch and try again", cfg.Upstream, err)
	}
	return nil
}
