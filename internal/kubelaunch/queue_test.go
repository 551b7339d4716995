package kubelaunch

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/queue"
)

type entry struct {
	name string
	typ  byte
	data string
}

func tarOf(t testing.TB, es []entry) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data))}
		if e.typ == tar.TypeSymlink {
			h.Linkname, h.Size = e.data, 0
		}
		if e.typ == tar.TypeDir {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	return b.Bytes()
}

// TestPullProposals: of what the sidecars Pod's queue folder holds, only
// proposal files with a valid id and a bounded size reach the host, once;
// answers, temp files, links, folders and odd names never do, and an
// existing host file is never replaced.
func TestPullProposals(t *testing.T) {
	const id1, id2 = "20261202T000102Z-abc123", "20261202T000103Z-def456"
	big := strings.Repeat("x", queue.MaxFileBytes+1)
	tests := []struct {
		name    string
		entries []entry
		host    map[string]string // files on the host before
		want    map[string]string // host files after
		pulled  int
	}{
		{"one proposal", []entry{{"./", tar.TypeDir, ""}, {"./" + id1 + ".proposal.json", tar.TypeReg, `{"id":"1"}`}},
			nil, map[string]string{id1 + ".proposal.json": `{"id":"1"}`}, 1},
		{"answers stay in the pod", []entry{{"./" + id1 + ".answer.json", tar.TypeReg, `{"x":1}`}}, nil, map[string]string{}, 0},
		{"bad ids and temp files", []entry{{"./nope.proposal.json", tar.TypeReg, "a"}, {"./." + id1 + ".proposal.json.tmp", tar.TypeReg, "b"}, {"./../" + id2 + ".proposal.json", tar.TypeReg, "c"}}, nil, map[string]string{}, 0},
		{"links and folders", []entry{{"./" + id1 + ".proposal.json", tar.TypeSymlink, "/etc/passwd"}, {"./" + id2 + ".proposal.json/", tar.TypeDir, ""}}, nil, map[string]string{}, 0},
		{"too big", []entry{{"./" + id1 + ".proposal.json", tar.TypeReg, big}}, nil, map[string]string{}, 0},
		{"written once", []entry{{"./" + id1 + ".proposal.json", tar.TypeReg, "new"}, {"./" + id2 + ".proposal.json", tar.TypeReg, "two"}},
			map[string]string{id1 + ".proposal.json": "old"}, map[string]string{id1 + ".proposal.json": "old", id2 + ".proposal.json": "two"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.host {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600)
			}
			names, pulled, err := PullProposals(bytes.NewReader(tarOf(t, tc.entries)), dir)
			if err != nil {
				t.Fatal(err)
			}
			if pulled != tc.pulled {
				t.Errorf("pulled %d, want %d", pulled, tc.pulled)
			}
			got := map[string]string{}
			des, _ := os.ReadDir(dir)
			for _, d := range des {
				b, _ := os.ReadFile(filepath.Join(dir, d.Name()))
				got[d.Name()] = string(b)
			}
			if len(got) != len(tc.want) {
				t.Errorf("host files %v, want %v", keys(got), keys(tc.want))
			}
			for n, c := range tc.want {
				if got[n] != c {
					t.Errorf("%s = %q, want %q", n, got[n], c)
				}
			}
			for _, e := range tc.entries {
				if n := strings.TrimPrefix(e.name, "./"); e.typ == tar.TypeReg && !strings.Contains(n, "/") && !names[n] {
					t.Errorf("names lacks %s", n)
				}
			}
		})
	}
}

func keys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func FuzzPullProposals(f *testing.F) {
	f.Add(tarOf(f, []entry{{"./20261202T000102Z-abc123.proposal.json", tar.TypeReg, "{}"}}))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		_, _, _ = PullProposals(bytes.NewReader(b), dir)
		des, _ := os.ReadDir(dir)
		for _, d := range des {
			id, ok := strings.CutSuffix(d.Name(), ".proposal.json")
			if !ok || !queue.ValidID(id) || !d.Type().IsRegular() {
				t.Errorf("wrote %s", d.Name())
			}
		}
	})
}
