package gitgate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// An AWS-access-key-shaped value (gitleaks rule aws-access-token). Built at
// run time so this file itself does not trip secret scanners.
var fakeAWSKey = "AKIA" + "Z7Q3XJ4KPLM2VN5R"

// testbed: one sshd-backed upstream "demo", one gate in front of it with
// push_branches ["agent/*"].
type testbed struct {
	env      []string
	root     string
	sshd     *sshd
	upstream string // bare repo path
	gate     *gate
}

func newTestbed(t *testing.T, mutate func(*sidecarconfig.GateRemote)) *testbed {
	t.Helper()
	requireTool(t, "git")
	root := t.TempDir()
	tb := &testbed{root: root, env: hermeticEnv(t, root)}
	tb.sshd = startSSHD(t)
	tb.upstream = newUpstream(t, tb.env, root, "demo")
	// The key as a careless mount would present it (0644): the gate must
	// copy it into a private file of its own.
	loose := filepath.Join(root, "mounted_key")
	key, err := os.ReadFile(tb.sshd.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, key, 0o644); err != nil {
		t.Fatal(err)
	}
	rc := sidecarconfig.GateRemote{
		Name:         "demo",
		Upstream:     tb.sshd.url(tb.upstream),
		IdentityFile: loose,
		KnownHostKey: tb.sshd.hostPub,
		PushBranches: []string{"agent/*", "refs/tags/v*"},
	}
	if mutate != nil {
		mutate(&rc)
	}
	// The gate knows one secret of the bottle, as in a bottle (the clients
	// never have the variable: only what they push carries it).
	gateEnv := append(append([]string{}, tb.env...), knownSecretPrefix+"0="+gateKnownSecret)
	tb.gate = startGate(t, gateEnv, sidecarconfig.Gate{Remotes: []sidecarconfig.GateRemote{rc}})
	return tb
}

func (tb *testbed) clone(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(tb.root, name)
	mustGit(t, tb.env, tb.root, "clone", "--quiet", tb.gate.url("demo"), dir)
	return dir
}

// upstreamCommit moves the upstream's main behind the gate's back.
func (tb *testbed) upstreamCommit(t *testing.T, file, content string) string {
	t.Helper()
	work := filepath.Join(tb.root, "direct")
	if _, err := os.Stat(work); err != nil {
		mustGit(t, tb.env, tb.root, "clone", "--quiet", tb.upstream, work)
	}
	mustGit(t, tb.env, work, "pull", "--quiet", "--ff-only", "origin", "main")
	c := commitFile(t, tb.env, work, file, content, "upstream moves")
	mustGit(t, tb.env, work, "push", "--quiet", "origin", "main")
	return c
}

func TestGateFetchAndPush(t *testing.T) {
	tb := newTestbed(t, nil)
	env := tb.env

	work := tb.clone(t, "work")
	t.Run("clone sees the upstream", func(t *testing.T) {
		got, err := os.ReadFile(filepath.Join(work, "README.md"))
		if err != nil || string(got) != "hello from upstream\n" {
			t.Fatalf("README.md = %q, %v", got, err)
		}
		if h, u := mustGit(t, env, work, "rev-parse", "HEAD"), refIn(env, tb.upstream, "refs/heads/main"); h != u {
			t.Fatalf("clone HEAD %s, upstream main %s", h, u)
		}
	})

	t.Run("key and known_hosts are private to the gate", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{
			filepath.Join(tb.gate.dataDir, ".gate"):                        0o700 | os.ModeDir,
			filepath.Join(tb.gate.dataDir, ".gate", "demo"):                0o700 | os.ModeDir,
			filepath.Join(tb.gate.dataDir, ".gate", "demo", "identity"):    0o600,
			filepath.Join(tb.gate.dataDir, ".gate", "demo", "known_hosts"): 0o600,
		} {
			st, err := os.Stat(path)
			if err != nil {
				t.Errorf("%s: %v", path, err)
			} else if st.Mode() != want {
				t.Errorf("%s mode %v, want %v", path, st.Mode(), want)
			}
		}
	})

	t.Run("fetch after the upstream moves", func(t *testing.T) {
		moved := tb.upstreamCommit(t, "news.txt", "new upstream work\n")
		mustGit(t, env, work, "fetch", "--quiet", "origin")
		if got := mustGit(t, env, work, "rev-parse", "origin/main"); got != moved {
			t.Fatalf("origin/main after fetch = %s, upstream moved to %s", got, moved)
		}
		mustGit(t, env, work, "merge", "--quiet", "--ff-only", "origin/main")
	})

	t.Run("clean push lands upstream", func(t *testing.T) {
		mustGit(t, env, work, "checkout", "--quiet", "-b", "agent/feature")
		c := commitFile(t, env, work, "feature.go", "package feature\n", "add feature")
		mustGit(t, env, work, "push", "--quiet", "origin", "agent/feature")
		if got := refIn(env, tb.upstream, "refs/heads/agent/feature"); got != c {
			t.Fatalf("upstream agent/feature = %q, want %s", got, c)
		}
		if got := refIn(env, filepath.Join(tb.gate.dataDir, "demo.git"), "refs/heads/agent/feature"); got != c {
			t.Fatalf("gate mirror agent/feature = %q, want %s", got, c)
		}
		// A second, fast-forward push on the same branch.
		c2 := commitFile(t, env, work, "feature.go", "package feature\n\nconst X = 1\n", "more feature")
		seen := len(pushLines(tb))
		mustGit(t, env, work, "push", "--quiet", "origin", "agent/feature")
		if got := refIn(env, tb.upstream, "refs/heads/agent/feature"); got != c2 {
			t.Fatalf("upstream agent/feature = %q, want %s", got, c2)
		}
		if d := nextPush(t, tb, seen); d["decision"] != "accepted" || d["refs"] != "refs/heads/agent/feature" {
			t.Errorf("the gate's push line: %v", d)
		}
	})

	secretCases := []struct {
		name    string
		branch  string
		build   func(t *testing.T, w string) (secretCommit string)
		file    string
		line    string
		message bool
	}{
		{
			name: "secret in the tip", branch: "agent/secret-tip", file: "config.env", line: "line 3",
			build: func(t *testing.T, w string) string {
				return commitFile(t, env, w, "config.env", "# settings\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID="+fakeAWSKey+"\n", "add config")
			},
		},
		{
			name: "secret in an earlier commit, removed at the tip", branch: "agent/secret-history", file: "deploy/creds.txt", line: "line 1",
			build: func(t *testing.T, w string) string {
				c := commitFile(t, env, w, "deploy/creds.txt", "key="+fakeAWSKey+"\n", "add creds")
				commitFile(t, env, w, "deploy/creds.txt", "key=<from vault>\n", "remove creds")
				return c
			},
		},
		{
			name: "secret in a commit message", branch: "agent/secret-msg", file: "(commit message)", message: true,
			build: func(t *testing.T, w string) string {
				writeFile(t, filepath.Join(w, "notes.txt"), "notes\n")
				mustGit(t, env, w, "add", "notes.txt")
				mustGit(t, env, w, "commit", "--quiet", "-m", "use key "+fakeAWSKey)
				return mustGit(t, env, w, "rev-parse", "HEAD")
			},
		},
	}
	for _, tc := range secretCases {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			mustGit(t, env, work, "checkout", "--quiet", "-B", tc.branch, "main")
			secret := tc.build(t, work)
			tip := mustGit(t, env, work, "rev-parse", "HEAD")
			seen := len(pushLines(tb))
			out, err := gitRun(env, work, "push", "origin", tc.branch)
			if err == nil {
				t.Fatalf("push with a secret succeeded:\n%s", out)
			}
			for _, want := range []string{"secret found", "commit " + secret, tc.file, "aws-access-token", tc.line} {
				if !strings.Contains(out, want) {
					t.Errorf("push output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, fakeAWSKey) {
				t.Errorf("push output contains the whole secret:\n%s", out)
			}
			if d := nextPush(t, tb, seen); d["decision"] != "refused" || d["rule"] != "aws-access-token" || d["refs"] != "refs/heads/"+tc.branch {
				t.Errorf("the gate's push line: %v", d)
			}
			if strings.Contains(tb.gate.proc.out.String(), fakeAWSKey) {
				t.Error("the gate's log holds the secret")
			}
			if got := refIn(env, tb.upstream, "refs/heads/"+tc.branch); got != "" {
				t.Errorf("upstream has %s = %s after a rejected push", tc.branch, got)
			}
			for _, oid := range []string{secret, tip} {
				if hasObject(env, tb.upstream, oid) {
					t.Errorf("upstream holds object %s from the rejected push", oid)
				}
			}
			if got := refIn(env, filepath.Join(tb.gate.dataDir, "demo.git"), "refs/heads/"+tc.branch); got != "" {
				t.Errorf("gate mirror has %s after a rejected push", tc.branch)
			}
		})
	}

	policyCases := []struct {
		name  string
		setup func(t *testing.T) []string // returns push args
		ref   string                      // upstream ref that must not change
		want  string
	}{
		{
			name: "branch outside push_branches",
			setup: func(t *testing.T) []string {
				mustGit(t, env, work, "checkout", "--quiet", "-B", "main", "origin/main")
				commitFile(t, env, work, "main.txt", "direct to main\n", "to main")
				return []string{"origin", "main"}
			},
			ref: "refs/heads/main", want: `not allowed by push_branches ["agent/*", "refs/tags/v*"]`,
		},
		{
			name: "tag outside push_branches",
			setup: func(t *testing.T) []string {
				mustGit(t, env, work, "tag", "x1.0")
				return []string{"origin", "x1.0"}
			},
			ref: "refs/tags/x1.0", want: "refs/tags/x1.0: not allowed by push_branches",
		},
		{
			name: "force push",
			setup: func(t *testing.T) []string {
				mustGit(t, env, work, "checkout", "--quiet", "-B", "agent/feature", "origin/agent/feature")
				mustGit(t, env, work, "commit", "--quiet", "--amend", "-m", "rewritten")
				return []string{"origin", "+agent/feature"}
			},
			ref: "refs/heads/agent/feature", want: "force pushes are not allowed",
		},
		{
			name:  "deletion",
			setup: func(t *testing.T) []string { return []string{"origin", ":agent/feature"} },
			ref:   "refs/heads/agent/feature", want: "deleting refs is not allowed",
		},
	}
	for _, tc := range policyCases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			before := refIn(env, tb.upstream, tc.ref)
			args := tc.setup(t)
			seen := len(pushLines(tb))
			out, err := gitRun(env, work, append([]string{"push"}, args...)...)
			if err == nil {
				t.Fatalf("push %v succeeded:\n%s", args, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("push output lacks %q:\n%s", tc.want, out)
			}
			if d := nextPush(t, tb, seen); d["decision"] != "refused" || d["rule"] != "branch-policy" || !strings.Contains(fmt.Sprint(d["reason"]), tc.want) {
				t.Errorf("the gate's push line: %v", d)
			}
			if after := refIn(env, tb.upstream, tc.ref); after != before {
				t.Errorf("upstream %s moved from %q to %q", tc.ref, before, after)
			}
		})
	}

	t.Run("annotated tags: clean lands, secret in the message refused", func(t *testing.T) {
		mustGit(t, env, work, "checkout", "--quiet", "-B", "agent/feature", "origin/agent/feature")
		mustGit(t, env, work, "tag", "-a", "-m", "release one", "v1.0")
		mustGit(t, env, work, "push", "--quiet", "origin", "v1.0")
		if got, want := refIn(env, tb.upstream, "refs/tags/v1.0"), mustGit(t, env, work, "rev-parse", "v1.0"); got != want {
			t.Fatalf("upstream v1.0 = %q, want %s", got, want)
		}
		mustGit(t, env, work, "tag", "-a", "-m", "release two\n\nkey "+fakeAWSKey, "v2.0")
		tag := mustGit(t, env, work, "rev-parse", "v2.0")
		out, err := gitRun(env, work, "push", "origin", "v2.0")
		if err == nil {
			t.Fatalf("tag with a secret pushed:\n%s", out)
		}
		for _, want := range []string{"tag " + tag, "message line 3", "aws-access-token"} {
			if !strings.Contains(out, want) {
				t.Errorf("push output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, fakeAWSKey) || refIn(env, tb.upstream, "refs/tags/v2.0") != "" {
			t.Errorf("secret echoed or tag landed upstream:\n%s", out)
		}
	})

	t.Run("upstream refusal reaches the agent", func(t *testing.T) {
		hook := "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/heads/agent/blocked) echo \"upstream policy says no to $ref\" >&2; exit 1;; esac\ndone\n"
		hp := filepath.Join(tb.upstream, "hooks", "pre-receive")
		if err := os.WriteFile(hp, []byte(hook), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(hp) })
		mustGit(t, env, work, "checkout", "--quiet", "-B", "agent/blocked", "origin/main")
		commitFile(t, env, work, "b.txt", "b\n", "blocked")
		out, err := gitRun(env, work, "push", "origin", "agent/blocked")
		if err == nil {
			t.Fatalf("push succeeded despite the upstream's refusal:\n%s", out)
		}
		for _, want := range []string{"upstream policy says no to refs/heads/agent/blocked", "refused the push"} {
			if !strings.Contains(out, want) {
				t.Errorf("push output lacks %q:\n%s", want, out)
			}
		}
		if got := refIn(env, filepath.Join(tb.gate.dataDir, "demo.git"), "refs/heads/agent/blocked"); got != "" {
			t.Errorf("gate mirror took agent/blocked = %s though the upstream refused it", got)
		}
	})

	t.Run("two clients pushing at once", func(t *testing.T) { concurrentPushes(t, tb) })

	t.Run("unknown repository", func(t *testing.T) {
		out, err := gitRun(env, tb.root, "ls-remote", "git://"+tb.gate.addr+"/other.git")
		if err == nil || !strings.Contains(out, `no repository "/other.git"`) {
			t.Fatalf("ls-remote of an undeclared repo: err=%v\n%s", err, out)
		}
	})
}

// concurrentPushes: two clients push at once. Run inside
// TestGateFetchAndPush to share its sshd and gate.
func concurrentPushes(t *testing.T, tb *testbed) {
	env := tb.env
	a, b := tb.clone(t, "a"), tb.clone(t, "b")

	push := func(works []string, branches []string) ([]string, []error, []string) {
		commits := make([]string, len(works))
		for i, w := range works {
			mustGit(t, env, w, "checkout", "--quiet", "-B", branches[i], "origin/main")
			commits[i] = commitFile(t, env, w, "who.txt", w+"\n", "from "+filepath.Base(w))
		}
		outs, errs := make([]string, len(works)), make([]error, len(works))
		var wg sync.WaitGroup
		for i, w := range works {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = gitRun(env, w, "push", "origin", branches[i])
			}()
		}
		wg.Wait()
		return commits, errs, outs
	}

	t.Run("different branches both land", func(t *testing.T) {
		commits, errs, outs := push([]string{a, b}, []string{"agent/one", "agent/two"})
		for i, br := range []string{"agent/one", "agent/two"} {
			if errs[i] != nil {
				t.Fatalf("push of %s failed: %v\n%s", br, errs[i], outs[i])
			}
			if got := refIn(env, tb.upstream, "refs/heads/"+br); got != commits[i] {
				t.Errorf("upstream %s = %q, want %s", br, got, commits[i])
			}
		}
	})

	t.Run("same branch: exactly one wins", func(t *testing.T) {
		commits, errs, outs := push([]string{a, b}, []string{"agent/same", "agent/same"})
		winners := 0
		for i := range errs {
			if errs[i] == nil {
				winners++
				if got := refIn(env, tb.upstream, "refs/heads/agent/same"); got != commits[i] {
					t.Errorf("upstream agent/same = %q, winner pushed %s", got, commits[i])
				}
				if got := refIn(env, filepath.Join(tb.gate.dataDir, "demo.git"), "refs/heads/agent/same"); got != commits[i] {
					t.Errorf("gate agent/same = %q, upstream has %s", got, commits[i])
				}
			}
		}
		if winners != 1 {
			t.Fatalf("%d pushes won, want exactly 1:\n--- a:\n%s\n--- b:\n%s", winners, outs[0], outs[1])
		}
	})
}

func TestGateHostKeyPinning(t *testing.T) {
	requireTool(t, "git")
	root := t.TempDir()
	env := hermeticEnv(t, root)
	s := startSSHD(t)
	up := newUpstream(t, env, root, "demo")
	otherPub := sshKeygen(t, filepath.Join(root, "other_host_key"))

	t.Run("wrong host key is refused", func(t *testing.T) {
		g := startGate(t, env, sidecarconfig.Gate{Remotes: []sidecarconfig.GateRemote{{
			Name: "demo", Upstream: s.url(up), IdentityFile: s.clientKey, KnownHostKey: otherPub,
		}}})
		out, err := gitRun(env, root, "clone", g.url("demo"), filepath.Join(root, "wrongkey"))
		if err == nil {
			t.Fatalf("clone through a gate pinning the wrong host key succeeded:\n%s", out)
		}
		for _, want := range []string{"remote error", "git-gate: cannot reach the upstream", "Host key verification failed"} {
			if !strings.Contains(out, want) {
				t.Errorf("clone output lacks %q:\n%s", want, out)
			}
		}
	})

	for _, tc := range []struct {
		name, key, want string
	}{
		{"unpinned host key", "", "known_host_key: must be set"},
		{"garbage host key", "ssh-ed25519 not-base64!", "known_host_key"},
	} {
		t.Run(tc.name+" stops the gate", func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeGateConfig(t, dir, sidecarconfig.Gate{Remotes: []sidecarconfig.GateRemote{{
				Name: "demo", Upstream: s.url(up), IdentityFile: s.clientKey, KnownHostKey: tc.key,
			}}})
			p := startProc(t, env, gateBinary(t), "git-gate", "--config", cfg, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
			<-p.exited
			if p.cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("gate started with %s", tc.name)
			}
			if out := p.out.String(); !strings.Contains(out, tc.want) || !strings.Contains(out, "remotes[0]") {
				t.Errorf("gate error lacks %q and the key path:\n%s", tc.want, out)
			}
		})
	}
}

func TestGateUpstreamDown(t *testing.T) {
	tb := newTestbed(t, nil)
	work := tb.clone(t, "work")
	tb.sshd.proc.stop()

	for _, args := range [][]string{
		{"fetch", "origin"},
		{"push", "origin", "HEAD:refs/heads/agent/while-down"},
	} {
		out, err := gitRun(tb.env, work, args...)
		if err == nil {
			t.Fatalf("git %v with the upstream down succeeded:\n%s", args, out)
		}
		for _, want := range []string{"remote error", "cannot reach the upstream", "not served (no stale data)"} {
			if !strings.Contains(out, want) {
				t.Errorf("git %v output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

// pushLines are the gate's "push" log lines so far: what the operator
// sees of each push (claude-bottle logs).
func pushLines(tb *testbed) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(tb.gate.proc.out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "push" {
			out = append(out, m)
		}
	}
	return out
}

// nextPush waits for the push line after the first `seen` ones: the gate
// writes it when the session ends, which may be just after the client
// returns.
func nextPush(t *testing.T, tb *testbed, seen int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ls := pushLines(tb); len(ls) > seen {
			return ls[seen]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no push line after the %d before in the gate's log:\n%s", seen, tb.gate.proc.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
