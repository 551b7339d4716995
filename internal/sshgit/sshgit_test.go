package sshgit

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseGitCommand(t *testing.T) {
	const root = "/srv/git"
	for _, tc := range []struct {
		cmd, verb, repo string
		ok              bool
	}{
		{"git-upload-pack '/srv/git/demo.git'", "git-upload-pack", "/srv/git/demo.git", true},
		{"git-receive-pack '/srv/git/demo.git'", "git-receive-pack", "/srv/git/demo.git", true},
		{"git-receive-pack /srv/git/demo.git", "git-receive-pack", "/srv/git/demo.git", true},
		{"git-upload-archive '/srv/git/demo.git'", "", "", false},
		{"sh -c id", "", "", false},
		{"git-upload-pack '/srv/git/../../etc'", "", "", false},
		{"git-upload-pack '/etc/passwd'", "", "", false},
		{"git-upload-pack 'demo.git'", "", "", false},
		{"git-upload-pack '/srv/git'", "", "", false},
		{"git-upload-pack '/srv/gitx/demo.git'", "", "", false},
		{"git-upload-pack '/srv/git/a'\\''b'", "", "", false},
		{"git-upload-pack", "", "", false},
	} {
		verb, repo, err := ParseGitCommand(tc.cmd, root)
		if (err == nil) != tc.ok || verb != tc.verb || repo != tc.repo {
			t.Errorf("ParseGitCommand(%q) = %q, %q, %v; want %q, %q, ok=%v", tc.cmd, verb, repo, err, tc.verb, tc.repo, tc.ok)
		}
	}
}

func FuzzParseGitCommand(f *testing.F) {
	for _, s := range []string{"git-upload-pack '/srv/git/demo.git'", "git-receive-pack /srv/git/x", "git-upload-pack '/srv/git/../x'", "x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		verb, repo, err := ParseGitCommand(cmd, "/srv/git")
		if err != nil {
			return
		}
		if verb != "git-upload-pack" && verb != "git-receive-pack" {
			t.Fatalf("verb %q accepted", verb)
		}
		if !strings.HasPrefix(repo, "/srv/git/") || filepath.Clean(repo) != repo || strings.Contains(repo, "..") && strings.Contains(repo, "/../") {
			t.Fatalf("repo %q accepted", repo)
		}
	})
}
