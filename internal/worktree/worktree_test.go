package worktree

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tree makes a work tree with a link out of it (to a secret beside it), a
// link inside it, a fifo and an executable.
func tree(t *testing.T) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "repo")
	secret = filepath.Join(base, "secret.txt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(secret, []byte("HOST-SECRET-never-copied"), 0o600))
	must(os.MkdirAll(filepath.Join(root, ".git", "refs"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "src"), 0o755))
	must(os.WriteFile(filepath.Join(root, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "src", "main.go"), []byte("package main\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "run.sh"), []byte("#!/bin/sh\n"), 0o755|os.ModeSetuid))
	must(os.Symlink(secret, filepath.Join(root, "escape")))
	must(os.Symlink("../../"+filepath.Base(secret), filepath.Join(root, "src", "escape-rel")))
	must(os.Symlink(filepath.Dir(secret), filepath.Join(root, "escape-dir")))
	must(os.Symlink("src/main.go", filepath.Join(root, "inside")))
	must(syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))
	return root, secret
}

func TestWriteCarriesLinksAsLinks(t *testing.T) {
	root, _ := tree(t)
	var buf bytes.Buffer
	st, err := Write(&buf, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "HOST-SECRET") {
		t.Fatal("the target of a link out of the tree was copied")
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	want := map[string]byte{
		".git/": tar.TypeDir, ".git/HEAD": tar.TypeReg, ".git/refs/": tar.TypeDir, "src/": tar.TypeDir,
		"src/main.go": tar.TypeReg, "run.sh": tar.TypeReg, "escape": tar.TypeSymlink,
		"src/escape-rel": tar.TypeSymlink, "escape-dir": tar.TypeSymlink, "inside": tar.TypeSymlink,
	}
	for name, typ := range want {
		h, ok := got[name]
		if !ok {
			t.Errorf("%s missing from the stream", name)
			continue
		}
		if h.Typeflag != typ {
			t.Errorf("%s: type %c, want %c", name, h.Typeflag, typ)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected entry %s", name)
		}
	}
	if got["escape"].Linkname == "" || got["inside"].Linkname != "src/main.go" {
		t.Errorf("link targets: %q %q", got["escape"].Linkname, got["inside"].Linkname)
	}
	if m := got["run.sh"].Mode; m != 0o755 {
		t.Errorf("run.sh mode %o, want 755 (no setuid)", m)
	}
	if len(st.Skipped) != 1 || st.Skipped[0] != "pipe" || st.Links != 4 || st.Files != 3 {
		t.Errorf("stats = %+v", st)
	}
}

// TestWriteUnpacksWithTar unpacks the stream with the tar the agent
// container runs (GNU tar) as an ordinary user, as the agent does.
func TestWriteUnpacksWithTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	root, secret := tree(t)
	dst := t.TempDir()
	var buf bytes.Buffer
	if _, err := Write(&buf, root, Options{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "-x", "-f", "-", "-C", dst)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	if l, err := os.Readlink(filepath.Join(dst, "escape")); err != nil || l != secret {
		t.Errorf("escape arrived as %q, %v; want a link to %s", l, err, secret)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "inside")); err != nil || string(data) != "package main\n" {
		t.Errorf("the in-tree link does not resolve: %q %v", data, err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "pipe")); err == nil {
		t.Error("the fifo was copied")
	}
}

func TestWriteProgress(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 20; i++ {
		if err := os.WriteFile(filepath.Join(root, "f"+string(rune('a'+i))), bytes.Repeat([]byte{'x'}, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var prog bytes.Buffer
	if _, err := Write(io.Discard, root, Options{Progress: &prog, ProgressMin: 100}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(prog.String()), "\n")
	if len(lines) != 10 || !strings.Contains(lines[9], "100%") {
		t.Errorf("progress:\n%s", prog.String())
	}
	prog.Reset()
	if _, err := Write(io.Discard, root, Options{Progress: &prog, ProgressMin: 1 << 20}); err != nil || prog.Len() != 0 {
		t.Errorf("a small tree printed progress: %q %v", prog.String(), err)
	}
}

func TestWriteRootNotAFolder(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Write(io.Discard, f, Options{}); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("err = %v", err)
	}
}
