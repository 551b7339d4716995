package gitgate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSSHUpstream(t *testing.T) {
	tests := []struct {
		in      string
		want    sshEndpoint
		wantErr string
	}{
		{in: "ssh://git@git.example.com:22/org/demo.git", want: sshEndpoint{"git", "git.example.com", "22"}},
		{in: "ssh://host/x.git", want: sshEndpoint{"", "host", ""}},
		{in: "git@github.com:org/demo.git", want: sshEndpoint{"git", "github.com", ""}},
		{in: "host:path", want: sshEndpoint{"", "host", ""}},
		{in: "https://github.com/org/demo.git", wantErr: "ssh only"},
		{in: "file:///tmp/x.git", wantErr: "ssh only"},
		{in: "ext::sh -c evil", wantErr: "whitespace"},
		{in: "/local/path.git", wantErr: "not an ssh URL"},
		{in: "ssh://-oProxyCommand=x/y", wantErr: "starts with '-'"},
		{in: "-oProxyCommand=x:y", wantErr: "bad host"},
		{in: "ssh://u:pw@h/x.git", wantErr: "password"},
		{in: "ssh://h", wantErr: "want ssh://"},
	}
	for _, tc := range tests {
		got, err := parseSSHUpstream(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestKnownHostsLines(t *testing.T) {
	const k1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	got, err := knownHostsLines("git-gate-demo", k1+" comment\n\n# note\n[h]:22 "+k1+"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "git-gate-demo " + k1 + "\ngit-gate-demo " + k1 + "\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"", "  \n# only a comment\n", "ssh-ed25519 @@@", "not a key"} {
		if _, err := knownHostsLines("a", bad); err == nil {
			t.Errorf("knownHostsLines(%q) accepted", bad)
		}
	}
}

func TestPrepareIdentity(t *testing.T) {
	dir := t.TempDir()
	tight := filepath.Join(dir, "tight")
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(tight, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, []byte("key"), 0o644); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "own")
	if got, err := prepareIdentity(tight, own, "id"); err != nil || got != tight {
		t.Fatalf("0600 key: got %q, %v; want it used in place", got, err)
	}
	got, err := prepareIdentity(loose, own, "id")
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(own, "id") {
		t.Fatalf("loose key used from %q", got)
	}
	for p, want := range map[string]os.FileMode{own: 0o700 | os.ModeDir, got: 0o600} {
		st, err := os.Stat(p)
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode(), err, want)
		}
	}
	if _, err := prepareIdentity(filepath.Join(dir, "missing"), own, "id"); err == nil {
		t.Error("missing key accepted")
	}
	if _, err := prepareIdentity(dir, own, "id"); err == nil {
		t.Error("directory accepted as a key")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path-1.x": "plain/path-1.x",
		"a b":            "'a b'",
		"it's":           `'it'\''s'`,
		"":               "''",
		"$(evil)":        "'$(evil)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
