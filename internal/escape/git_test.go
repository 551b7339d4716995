package escape

import (
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/engine"
)

// patternSecret looks like a GitHub token: the gate's gitleaks rules know
// its shape. secretValue (the agent's env secret) has no such shape.
const patternSecret = "ghp_R8x2Kq9LmZ4vT7wP1nB5cY3dF6gH0jQsA2eU"

// attackGit: attack 5. Commits carrying a secret pushed through the gate
// (file content, commit message, a link in a README), and a push to a
// branch outside push_branches. The upstream's bare repository is then
// searched: nothing refused may be there.
func (b *bottle) attackGit(t *testing.T) {
	up := "ssh://git@" + gitHost + ":22/srv/repo.git"
	setup := `set -e; cd /tmp; rm -rf esc-repo; git clone -q "$1" esc-repo; cd esc-repo; git config user.name esc; git config user.email esc@escape.invalid`
	if out, errOut, code := b.run(t, setup, up); code != 0 {
		t.Fatalf("cloning %s through the gate failed, so the push attacks prove nothing: %s %s", up, out, errOut)
	}
	// push commits one change on a fresh branch from main and pushes it.
	push := func(branch, file, content, msg string) (string, int) {
		out, errOut, code := b.run(t, `set -e; cd /tmp/esc-repo; git checkout -q -B "$1" origin/main; printf '%s\n' "$3" > "$2"; git add "$2"; git commit -q -m "$4"; git push origin "HEAD:refs/heads/$1" 2>&1`, branch, file, content, msg)
		return out + errOut, code
	}
	br := "agent/" + b.shape
	if out, code := push(br+"-ok", "notes.txt", "harmless notes", "add notes"); code != 0 {
		t.Fatalf("the control push to %s-ok failed, so the refusals prove nothing: %s", br, out)
	}
	type tc struct {
		name, branch, file, content, msg string
		secret                           string
		want                             string // text the refusal must carry
		hole                             string // known hole id if it gets through
	}
	var cases []tc
	for _, s := range []struct{ kind, value, hole string }{
		{"gitleaks-shaped token", patternSecret, ""},
		// H2 (found by this suite, fixed): the gate matches the bottle's
		// own secrets like pipelock does.
		{"the agent's env secret", secretValue, ""},
	} {
		cases = append(cases,
			// No "token=" or similar keyword: gitleaks' generic rule would
			// catch that by its shape, hiding whether the value is known.
			tc{s.kind + " in file content", br + "-c", "notes.txt", "see " + s.value, "add notes", s.value, "push refused", s.hole},
			tc{s.kind + " in the commit message", br + "-m", "m.txt", "x", "deploy with " + s.value, s.value, "push refused", s.hole},
			tc{s.kind + " in a README link", br + "-r", "README.md", "[docs](https://" + echoHost + "/?t=" + s.value + ")", "docs", s.value, "push refused", s.hole},
		)
	}
	cases = append(cases, tc{"push to a forbidden branch", "main", "f.txt", "harmless", "to main", "", "refused", ""})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			branch := c.branch
			if branch != "main" {
				branch = fmt.Sprintf("%s%d", c.branch, i)
			}
			out, code := push(branch, c.file, c.content, c.msg)
			landed := b.upstreamHas(t, branch, c.secret, c.file)
			if code == 0 || landed {
				if c.hole != "" {
					knownHole(t, c.hole, []string{fmt.Sprintf("push of %s to %s was accepted (exit %d, upstream has it: %v)", c.name, branch, code, landed)})
				}
				t.Errorf("ESCAPE %s: the push to %s was accepted (exit %d, in the upstream: %v): %s", c.name, branch, code, landed, trunc(out))
				return
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("%s: the push failed, but not with the gate's refusal %q: %s", c.name, c.want, trunc(out))
			}
		})
	}
}

// upstreamHas reports whether the upstream's repository has the branch
// with the file, or holds the secret anywhere in that branch's history.
// Each case pushes its own branch, so one shape's accepted push does not
// count against the other's.
func (b *bottle) upstreamHas(t *testing.T, branch, secret, file string) bool {
	t.Helper()
	out, err := engine.Docker(t.Context(), "exec", b.w.gitName, "sh", "-c",
		`cd /srv/repo.git; git rev-parse -q --verify "refs/heads/$2" >/dev/null || { echo 0 0; exit; }
		 s=$(git log -p --format='%H %B' "refs/heads/$2" | grep -cF -e "$1"); f=$(git ls-tree -r --name-only "refs/heads/$2" | grep -cxF "$3"); echo "$s $f"`,
		"sh", secretOrNone(secret), branch, file)
	if err != nil {
		t.Fatalf("reading the upstream repository: %v %s", err, out)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("reading the upstream repository: unexpected %q", out)
	}
	return f[0] != "0" || f[1] != "0"
}

func secretOrNone(s string) string {
	if s == "" {
		return "\x01no-secret-in-this-case\x01"
	}
	return s
}

// attackGitHidden: attack 5 (issue 15, hole 4). The agent's env secret in
// the places of a push that are not a file's added lines or a message:
// author and committer, an extra commit header, a ref name, a file name,
// UTF-16 file content, a tagger. Each pushes a ref of its own (per shape)
// and must be refused by the gate's rule known-secret, and the ref must
// not exist upstream afterwards.
func (b *bottle) attackGitHidden(t *testing.T) {
	up := "ssh://git@" + gitHost + ":22/srv/repo.git"
	setup := `set -e; cd /tmp; [ -d esc-repo ] && exit 0; git clone -q "$1" esc-repo; cd esc-repo; git config user.name esc; git config user.email esc@escape.invalid`
	if out, errOut, code := b.run(t, setup, up); code != 0 {
		t.Fatalf("cloning %s through the gate failed, so the push attacks prove nothing: %s %s", up, out, errOut)
	}
	build := `set -e; cd /tmp/esc-repo; git checkout -q -B "$1" origin/main; s="$3"
case "$2" in
author) echo a > a.txt; git add a.txt; git -c user.name="Dev $s" commit -q -m a ;;
committer) echo b > b.txt; git add b.txt; GIT_COMMITTER_EMAIL="$s@escape.invalid" git commit -q -m b ;;
header) git reset -q --hard "$(git cat-file commit HEAD | sed "/^committer /a x-note $s" | git hash-object -t commit -w --stdin)" ;;
refname) echo c > c.txt; git add c.txt; git commit -q -m c ;;
path) mkdir -p notes; : > "notes/$s.txt"; git add notes; git commit -q -m p ;;
utf16) printf 'see %s\n' "$s" | iconv -t UTF-16LE > u16.txt; git add u16.txt; git commit -q -m u ;;
tagger) git -c user.name="$s" tag -f -a -m rel "esc-tag-$1" >/dev/null; git push origin "refs/tags/esc-tag-$1:refs/heads/$4" 2>&1; exit ;;
control) mkdir -p notes; printf 'harmless\n' | iconv -t UTF-16LE > notes/harmless.txt; git add notes; git -c user.name="Dev harmless" commit -q -m ok ;;
esac
git push origin "HEAD:refs/heads/$4" 2>&1`
	pre := "agent/" + b.shape + "-hid"
	push := func(kind, dst string) (string, int) {
		out, errOut, code := b.run(t, build, pre+"-"+kind, kind, secretValue, dst)
		return out + errOut, code
	}
	if out, code := push("control", pre+"-control"); code != 0 {
		t.Fatalf("the control push (harmless name, UTF-16 file, author) failed, so the refusals prove nothing: %s", trunc(out))
	}
	cases := []struct{ kind, dst, want string }{
		{"author", pre + "-author", "header line 3 (author"},
		{"committer", pre + "-committer", "header line 4 (author, committer"},
		{"header", pre + "-header", "an extra header"},
		{"refname", "agent/" + b.shape + "-" + secretValue, "name of pushed ref"},
		{"path", pre + "-path", "a file path"},
		{"utf16", pre + "-utf16", "file u16.txt"},
		// The bottle's push_branches is agent/* only: the annotated tag
		// object goes to a branch name the policy allows.
		{"tagger", pre + "-tagger", "tag name or tagger"},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			out, code := push(c.kind, c.dst)
			ref := "refs/heads/" + c.dst
			landed := b.upstreamRef(t, ref)
			if code == 0 || landed {
				t.Errorf("ESCAPE the secret in the %s: the push to %s was accepted (exit %d, in the upstream: %v): %s", c.kind, ref, code, landed, trunc(out))
				return
			}
			for _, w := range []string{"push refused", "rule known-secret", c.want} {
				if !strings.Contains(out, w) {
					t.Errorf("%s: the push failed, but its output lacks %q: %s", c.kind, w, trunc(out))
				}
			}
		})
	}
}

// upstreamRef reports whether the upstream's repository has ref.
func (b *bottle) upstreamRef(t *testing.T, ref string) bool {
	t.Helper()
	out, err := engine.Docker(t.Context(), "exec", b.w.gitName, "sh", "-c",
		`cd /srv/repo.git; git rev-parse -q --verify "$1" >/dev/null && echo yes || echo no`, "sh", ref)
	if err != nil {
		t.Fatalf("reading the upstream repository: %v %s", err, out)
	}
	return strings.TrimSpace(out) == "yes"
}
