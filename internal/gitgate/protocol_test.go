package gitgate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		raw     string // whole input when set (bad framing)
		want    Request
		wantErr string
	}{
		{name: "v0 upload-pack", payload: "git-upload-pack /demo.git\x00host=gate\x00",
			want: Request{Service: "git-upload-pack", Path: "/demo.git", Host: "gate"}},
		{name: "v2", payload: "git-upload-pack /demo.git\x00host=gate:9418\x00\x00version=2\x00",
			want: Request{Service: "git-upload-pack", Path: "/demo.git", Host: "gate:9418", Protocol: "version=2"}},
		{name: "receive-pack, unknown extra dropped", payload: "git-receive-pack /demo.git\x00host=g\x00\x00evil=1\x00version=1\x00",
			want: Request{Service: "git-receive-pack", Path: "/demo.git", Host: "g", Protocol: "version=1"}},
		{name: "no host", payload: "git-upload-pack /demo.git\x00",
			want: Request{Service: "git-upload-pack", Path: "/demo.git"}},
		{name: "newline terminated", payload: "git-upload-pack /demo.git\n",
			want: Request{Service: "git-upload-pack", Path: "/demo.git"}},
		{name: "bad version value dropped", payload: "git-upload-pack /d.git\x00host=g\x00\x00version=9\x00",
			want: Request{Service: "git-upload-pack", Path: "/d.git", Host: "g"}},
		{name: "upload-archive refused", payload: "git-upload-archive /demo.git\x00host=g\x00", wantErr: "not offered"},
		{name: "no path", payload: "git-upload-pack\x00", wantErr: "want"},
		{name: "control char in path", payload: "git-upload-pack /de\x01mo.git\x00", wantErr: "control"},
		{name: "non-hex length", raw: "zzzzgit-upload-pack /x\x00", wantErr: "hex"},
		{name: "flush packet", raw: "0000", wantErr: "out of range"},
		{name: "too long", raw: "ffff", wantErr: "out of range"},
		{name: "truncated", raw: "0030git-upload", wantErr: "reading request"},
		{name: "empty", raw: "", wantErr: "reading request length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.raw
			if in == "" && tc.payload != "" {
				in = string(pktLine(tc.payload))
			}
			got, err := ReadRequest(strings.NewReader(in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRepoName(t *testing.T) {
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"/demo.git", "demo", true},
		{"/demo", "demo", true},
		{"demo.git", "demo", true},
		{"/demo.git/", "demo", true},
		{"/my-repo2.git", "my-repo2", true},
		{"/../demo.git", "", false},
		{"/a/b.git", "", false},
		{"/.gate", "", false},
		{"/Demo.git", "", false},
		{"/", "", false},
		{"/~root/x.git", "", false},
	}
	for _, tc := range tests {
		got, ok := RepoName(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RepoName(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestErrPkt(t *testing.T) {
	got := string(errPkt("no\nway"))
	if got != "0010ERR no; way\n" {
		t.Fatalf("errPkt = %q", got)
	}
	long := errPkt(strings.Repeat("x", 70000))
	if len(long) > maxPktLen {
		t.Fatalf("errPkt of a long message is %d bytes", len(long))
	}
}

// FuzzReadRequest: never panics; an accepted request names a service we
// offer, a path without control bytes, and only a version in GIT_PROTOCOL.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		string(pktLine("git-upload-pack /demo.git\x00host=gate\x00\x00version=2\x00")),
		string(pktLine("git-receive-pack /demo.git\x00host=gate\x00")),
		string(pktLine("git-upload-pack /demo.git\n")),
		"0000", "0004", "zzzz", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := ReadRequest(bytes.NewReader(in))
		if err != nil {
			return
		}
		if req.Service != "git-upload-pack" && req.Service != "git-receive-pack" {
			t.Fatalf("accepted service %q", req.Service)
		}
		if strings.ContainsFunc(req.Path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted path %q", req.Path)
		}
		for _, p := range strings.Split(req.Protocol, ":") {
			if p != "" && p != "version=0" && p != "version=1" && p != "version=2" {
				t.Fatalf("passed on protocol %q", req.Protocol)
			}
		}
		if name, ok := RepoName(req.Path); ok && !sidecarconfig.ValidName(name) {
			t.Fatalf("RepoName(%q) = %q", req.Path, name)
		}
	})
}
