package gitgate

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/secretscan"
)

func collect(t *testing.T, patch string) ([]addedText, error) {
	t.Helper()
	var out []addedText
	err := ParseLogPatch(strings.NewReader(patch), func(a *addedText) error {
		out = append(out, *a)
		return nil
	})
	return out, err
}

func TestParseLogPatch(t *testing.T) {
	c1 := "\x00" + oidA + "\n"
	c2 := "\x00" + oidB + "\n"
	tests := []struct {
		name    string
		patch   string
		want    []addedText
		wantErr string
	}{
		{
			name: "added lines with their new line numbers",
			patch: c1 + "\ndiff --git a/f.txt b/f.txt\nindex 1..2 100644\n--- a/f.txt\n+++ b/f.txt\n" +
				"@@ -2,0 +3,2 @@ ctx\n+three\n+four\n@@ -9 +10 @@\n-old\n+ten\n",
			want: []addedText{{Commit: oidA, File: "f.txt", Lines: []string{"three", "four", "ten"}, Nums: []int{3, 4, 10}}},
		},
		{
			name: "content that looks like headers stays content",
			patch: c1 + "diff --git a/x b/x\n--- /dev/null\n+++ b/x\n@@ -0,0 +1,3 @@\n" +
				"++++ b/evil\n+diff --git a/y b/y\n+@@ -1 +1 @@\n",
			want: []addedText{{Commit: oidA, File: "x", Lines: []string{"+++ b/evil", "diff --git a/y b/y", "@@ -1 +1 @@"}, Nums: []int{1, 2, 3}}},
		},
		{
			name: "two commits, quoted path, deletion ignored",
			patch: c1 + "diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y\n" +
				"diff --git a/gone b/gone\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n" +
				c2 + "diff --git \"a/sp ace\\tx\" \"b/sp ace\\tx\"\n--- /dev/null\n+++ \"b/sp ace\\tx\"\n@@ -0,0 +1 @@\n+hi\n\\ No newline at end of file\n",
			want: []addedText{
				{Commit: oidA, File: "a", Lines: []string{"y"}, Nums: []int{1}},
				{Commit: oidB, File: "sp ace\tx", Lines: []string{"hi"}, Nums: []int{1}},
			},
		},
		{name: "hunk longer than its header", patch: c1 + "+++ b/a\n@@ -0,0 +1 @@\n+a\n+b\n", want: nil, wantErr: ""},
		{name: "garbage inside a hunk", patch: c1 + "+++ b/a\n@@ -0,0 +1,2 @@\n+a\nzzz\n", wantErr: "inside a hunk"},
		{name: "truncated hunk", patch: c1 + "+++ b/a\n@@ -0,0 +1,2 @@\n+a\n", wantErr: "ended inside a hunk"},
		{name: "bad hunk header", patch: c1 + "+++ b/a\n@@ -x +1 @@\n", wantErr: "bad line number"},
		{name: "hunk before a commit", patch: "+++ b/a\n@@ -0,0 +1 @@\n+a\n", wantErr: "before any commit"},
		{name: "bad marker", patch: "\x00nothex\n", wantErr: "bad commit marker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect(t, tc.patch)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if tc.name == "hunk longer than its header" {
				// The extra "+b" is outside the hunk: ignored as a header
				// line, never attributed to a file line.
				if err != nil || len(got) != 1 || len(got[0].Lines) != 1 {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Commit != w.Commit || g.File != w.File || strings.Join(g.Lines, "|") != strings.Join(w.Lines, "|") || len(g.Nums) != len(w.Nums) {
					t.Fatalf("[%d] got %+v\nwant %+v", i, g, w)
				}
				for j := range g.Nums {
					if g.Nums[j] != w.Nums[j] {
						t.Fatalf("[%d] nums %v, want %v", i, g.Nums, w.Nums)
					}
				}
			}
		})
	}
}

func FuzzParseLogPatch(f *testing.F) {
	f.Add("\x00" + oidA + "\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n+c\n+d\n")
	f.Add("\x00" + oidA + "\n+++ b/a\n@@ -0,0 +1,2 @@\n+a\n")
	f.Add("@@ -1,99999999999 +1 @@\n")
	f.Fuzz(func(t *testing.T, patch string) {
		_ = ParseLogPatch(strings.NewReader(patch), func(a *addedText) error {
			if len(a.Lines) != len(a.Nums) || len(a.Lines) == 0 {
				t.Fatalf("emitted %d lines with %d numbers", len(a.Lines), len(a.Nums))
			}
			if checkOID(a.Commit) != nil {
				t.Fatalf("emitted commit %q", a.Commit)
			}
			return nil
		})
	})
}

// TestScanRangeRealGit runs git log -p on a real repo and scans with the
// real gitleaks rules: the finding names the right commit, file and line.
func TestScanRangeRealGit(t *testing.T) {
	requireTool(t, "git")
	dir := t.TempDir()
	env := hermeticEnv(t, dir)
	work := filepath.Join(dir, "w")
	mustGit(t, env, dir, "init", "--quiet", "-b", "main", work)
	base := commitFile(t, env, work, "a.txt", "one\n", "base")
	mustGit(t, env, work, "update-ref", "refs/heads/base", base)
	mustGit(t, env, work, "checkout", "--quiet", "-b", "topic")
	bad := commitFile(t, env, work, "dir/b.txt", "x\ny\nid="+fakeAWSKey+"\n", "add b")
	clean := commitFile(t, env, work, "dir/b.txt", "x\ny\nid=none\n", "clean b")
	// Only the topic commits are "new": make main point at base.
	mustGit(t, env, work, "branch", "-f", "main", "base")
	mustGit(t, env, work, "checkout", "--quiet", "--detach", clean)
	mustGit(t, env, work, "branch", "-D", "topic")

	sc, err := secretscan.Default()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runEnv := append(env, "GIT_DIR="+filepath.Join(work, ".git"))
	// --all includes HEAD (detached at the tip): simulate the hook by
	// pointing HEAD back at main first.
	mustGit(t, env, work, "checkout", "--quiet", "main")
	findings, n, err := scanRange(ctx, runEnv, []string{clean}, newKnownScanner(sc, nil))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("scanned %d commits, want 2", n)
	}
	if len(findings) != 1 {
		t.Fatalf("findings = %v, want one", findings)
	}
	f := findings[0]
	if f.Commit != bad || f.File != "dir/b.txt" || f.Line != 3 || f.RuleID != "aws-access-token" {
		t.Errorf("finding = %+v, want commit %s dir/b.txt line 3 aws-access-token", f, bad)
	}
	if strings.Contains(f.String(), fakeAWSKey) {
		t.Errorf("finding text carries the secret: %s", f)
	}
}
