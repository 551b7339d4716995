package gitgate

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gateKnownSecret is the bottle secret every testbed gate knows. It has no
// shape gitleaks knows, so only the known-secret matcher can refuse it.
const gateKnownSecret = "shapeless-Gate-Secret-7731"

// TestGateKnownSecretOutsideContent: every place of a push other than a
// file's added lines and a message, where the known secret used to reach
// the upstream (issue 15, hole 4): commit headers, ref names, paths,
// UTF-16 content, tag headers, refs at blobs. Each case pushes a branch
// of its own and must be refused by its named rule, with nothing upstream.
func TestGateKnownSecretOutsideContent(t *testing.T) {
	tb := newTestbed(t, nil)
	env := tb.env
	work := tb.clone(t, "work")
	gateMirror := filepath.Join(tb.gate.dataDir, "demo.git")
	fresh := func(t *testing.T, branch string) {
		t.Helper()
		mustGit(t, env, work, "checkout", "--quiet", "-B", branch, "origin/main")
	}
	withEnv := func(extra ...string) []string { return append(append([]string{}, env...), extra...) }

	cases := []struct {
		name  string
		build func(t *testing.T, branch string) (pushRef string) // a refspec "<src>:<dst>"
		want  []string
	}{
		{
			name: "author name",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				writeFile(t, filepath.Join(work, "a.txt"), "a\n")
				mustGit(t, env, work, "add", "a.txt")
				mustGit(t, env, work, "-c", "user.name=Dev "+gateKnownSecret, "commit", "--quiet", "-m", "a")
				return "HEAD:refs/heads/" + br
			},
			want: []string{"header line 3 (author", "known-secret"},
		},
		{
			name: "committer email, upper case",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				writeFile(t, filepath.Join(work, "b.txt"), "b\n")
				mustGit(t, env, work, "add", "b.txt")
				_, err := gitRun(withEnv("GIT_COMMITTER_EMAIL="+strings.ToUpper(gateKnownSecret)+"@x.invalid"), work, "commit", "--quiet", "-m", "b")
				if err != nil {
					t.Fatal(err)
				}
				return "HEAD:refs/heads/" + br
			},
			want: []string{"header line 4", "known-secret"},
		},
		{
			name: "extra commit header written with hash-object",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				raw := mustGit(t, env, work, "cat-file", "commit", "HEAD")
				hdr, msg, _ := strings.Cut(raw, "\n\n")
				obj := hdr + "\nx-note " + gateKnownSecret + "\n\n" + msg + "\n"
				oid := gitStdin(t, env, work, obj, "hash-object", "-t", "commit", "-w", "--stdin")
				return oid + ":refs/heads/" + br
			},
			want: []string{"an extra header", "known-secret"},
		},
		{
			name: "ref name agent/<secret>",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				commitFile(t, env, work, "c.txt", "c\n", "c")
				return "HEAD:refs/heads/agent/" + gateKnownSecret
			},
			want: []string{"name of pushed ref #1", "known-secret"},
		},
		{
			name: "file name",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				commitFile(t, env, work, "notes/"+gateKnownSecret+".txt", "", "empty file, no patch lines")
				return "HEAD:refs/heads/" + br
			},
			want: []string{"a file path it adds or changes", "known-secret"},
		},
		{
			name: "UTF-16LE file content",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				commitFile(t, env, work, "u16.txt", "\xff\xfe"+utf16LE("see "+gateKnownSecret+"\n"), "u16")
				return "HEAD:refs/heads/" + br
			},
			want: []string{"file u16.txt", "known-secret"},
		},
		{
			name: "tagger name of an annotated tag",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				mustGit(t, env, work, "-c", "user.name="+gateKnownSecret, "tag", "-a", "-m", "rel", "v-tagger")
				return "refs/tags/v-tagger:refs/tags/v-tagger"
			},
			want: []string{"tag name or tagger", "known-secret"},
		},
		{
			name: "tag of a tag: the inner tag's message",
			build: func(t *testing.T, br string) string {
				fresh(t, br)
				mustGit(t, env, work, "tag", "-a", "-m", "inner "+gateKnownSecret, "v-inner")
				mustGit(t, env, work, "tag", "-a", "-m", "outer", "v-outer", "v-inner")
				mustGit(t, env, work, "tag", "-d", "v-inner")
				return "refs/tags/v-outer:refs/tags/v-outer"
			},
			want: []string{"message line 1", "known-secret"},
		},
		{
			name: "a tag ref straight at a blob",
			build: func(t *testing.T, br string) string {
				oid := gitStdin(t, env, work, "blob "+gateKnownSecret+"\n", "hash-object", "-w", "--stdin")
				return oid + ":refs/tags/v-blob"
			},
			want: []string{"a ref must point at a commit", "not a blob"},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			br := "agent/known-" + string(rune('a'+i))
			spec := tc.build(t, br)
			dst := spec[strings.Index(spec, ":")+1:]
			out, err := gitRun(env, work, "push", "origin", spec)
			if err == nil {
				t.Fatalf("ESCAPE: push %s with the known secret succeeded:\n%s", tc.name, out)
			}
			for _, w := range append([]string{"push refused"}, tc.want...) {
				if !strings.Contains(out, w) {
					t.Errorf("push output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(strings.ToLower(out), strings.ToLower(gateKnownSecret)) && !strings.Contains(tc.name, "ref name") {
				t.Errorf("push output echoes the secret:\n%s", out)
			}
			for _, repo := range []string{tb.upstream, gateMirror} {
				if got := refIn(env, repo, dst); got != "" {
					t.Errorf("%s has %s = %s after a refused push", repo, dst, got)
				}
			}
		})
	}

	t.Run("control: the same shapes with a harmless value land", func(t *testing.T) {
		fresh(t, "agent/known-ok")
		mustGit(t, env, work, "-c", "user.name=Dev Harmless", "tag", "-a", "-m", "ok", "v-ok")
		commitFile(t, env, work, "notes/harmless-name.txt", "\xff\xfe"+utf16LE("harmless\n"), "ok")
		for _, spec := range []string{"HEAD:refs/heads/agent/known-ok", "refs/tags/v-ok:refs/tags/v-ok"} {
			if out, err := gitRun(env, work, "push", "origin", spec); err != nil {
				t.Fatalf("control push %s refused:\n%s", spec, out)
			}
		}
	})
}

// gitStdin runs git with stdin and returns its trimmed stdout.
func gitStdin(t *testing.T, env []string, dir, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
