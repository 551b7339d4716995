package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const testHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPjd5LkDLWFjX/+oZP0RFL68PeZTVxCKlgPRJhwijTM"

// TestDryRunChecks: start --dry-run finds what start would trip on, before
// anything is created, with the file, key and value at fault.
func TestDryRunChecks(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen")
	}
	home := setupHome(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	keys := t.TempDir()
	keygen := func(name, pass string) string {
		p := filepath.Join(keys, name)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", pass, "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		return p
	}
	good := keygen("good", "")
	open := keygen("open", "")
	os.Chmod(open, 0o644)
	locked := keygen("locked", "a passphrase")
	bottle := func(identity, extra string) {
		data := "---\nimage: claude-bottle-agent-test:latest\n" + extra + "git:\n  - name: app\n    upstream: ssh://git@git.example.com/o/app.git\n    identity_file: " + identity + "\n    known_host_key: \"" + testHostKey + "\"\n---\n"
		if err := os.WriteFile(filepath.Join(home, "bottles", "chk.md"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(home, "agents", "chk.md"), []byte("---\nbottle: chk\n---\nx\n"), 0o644)
	}
	t.Setenv("BIG_VALUE", strings.Repeat("v", 200<<10))
	for _, tt := range []struct {
		name, identity, extra string
		want                  []string // empty: passes
	}{
		{"good key", good, "", nil},
		{"missing key", filepath.Join(keys, "nope"), "", []string{"git[0].identity_file", "no such file"}},
		{"group-readable key", open, "", []string{"git[0].identity_file", "mode 0644", "chmod 600"}},
		{"passphrase", locked, "", []string{"git[0].identity_file", "passphrase"}},
		{"public key", good + ".pub", "", []string{"git[0].identity_file", "public key"}},
		{"huge host value", good, "env:\n  BIG: ${BIG_VALUE}\n", []string{"env.BIG", "204800 bytes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "public key" {
				os.Chmod(good+".pub", 0o600)
			}
			bottle(tt.identity, tt.extra)
			_, errOut, err := run(t, "start", "--dry-run", "chk")
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("dry run failed: %v\n%s", err, errOut)
				}
				if !strings.Contains(errOut, "images were not checked") {
					t.Errorf("no warning that the images were not checked without an engine:\n%s", errOut)
				}
				return
			}
			if err == nil {
				t.Fatalf("dry run passed; want %v", tt.want)
			}
			for _, w := range append(tt.want, filepath.Join(home, "bottles", "chk.md")) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "vvvvvvvv") {
				t.Error("the error carries the value")
			}
		})
	}
	// Nothing was created.
	if entries, _ := os.ReadDir(filepath.Join(home, "state")); len(entries) > 0 {
		t.Errorf("a dry run created state: %v", entries)
	}
}

// TestNeedsTerminalFirst: start and resume without --detach check for a
// terminal before anything else (here: before asking an engine that is not
// there, and before any state is touched).
func TestNeedsTerminalFirst(t *testing.T) {
	home := setupHome(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	sd := fakeBottle(t, home, "demo-tty12")
	before, _ := os.ReadFile(sd.Metadata())
	for _, args := range [][]string{{"resume", "--yes", "demo-tty12"}, {"start", "--yes", "demo"}} {
		_, _, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), "needs a terminal") {
			t.Errorf("%v without a terminal: %v", args, err)
		}
	}
	after, _ := os.ReadFile(sd.Metadata())
	if string(before) != string(after) {
		t.Error("resume touched the state dir")
	}
	if entries, _ := os.ReadDir(filepath.Join(home, "state")); len(entries) != 1 {
		t.Errorf("state dirs: %v", entries)
	}
}
