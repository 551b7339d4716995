package queue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func egress(id string, at time.Time, host string) *Proposal {
	return &Proposal{ID: id, Kind: KindEgress, CreatedAt: at, Justification: "need it",
		Route: &RouteRequest{Host: host, PathAllowlist: []string{"/v1"}}}
}

func TestValidate(t *testing.T) {
	id := "20261127T120000Z-0a1b2c"
	tests := []struct {
		name    string
		p       Proposal
		wantErr string
	}{
		{"egress ok", *egress(id, t0, "api.example.com"), ""},
		{"pipelock ok", Proposal{ID: id, Kind: KindPipelock, CreatedAt: t0, Justification: "x", Hosts: []string{"pypi.org"}}, ""},
		{"capability ok", Proposal{ID: id, Kind: KindCapability, CreatedAt: t0, Justification: "x", Dockerfile: "FROM debian:bookworm-slim\nRUN true\n"}, ""},
		{"bad id", Proposal{ID: "../etc", Kind: KindPipelock, CreatedAt: t0, Justification: "x", Hosts: []string{"a.b"}}, "id:"},
		{"no justification", Proposal{ID: id, Kind: KindPipelock, CreatedAt: t0, Justification: "  ", Hosts: []string{"a.b"}}, "justification"},
		{"url as host", *egress(id, t0, "https://api.example.com/x"), "route.host"},
		{"host with port", *egress(id, t0, "api.example.com:443"), "route.host"},
		{"relative path", Proposal{ID: id, Kind: KindEgress, CreatedAt: t0, Justification: "x", Route: &RouteRequest{Host: "a.b", PathAllowlist: []string{"v1"}}}, "path_allowlist[0]"},
		{"query in path", Proposal{ID: id, Kind: KindEgress, CreatedAt: t0, Justification: "x", Route: &RouteRequest{Host: "a.b", PathAllowlist: []string{"/v1?x=1"}}}, "path_allowlist[0]"},
		{"two-word scheme", Proposal{ID: id, Kind: KindEgress, CreatedAt: t0, Justification: "x", Route: &RouteRequest{Host: "a.b", Auth: &AuthRequest{Scheme: "Bearer x"}}}, "auth.scheme"},
		{"no hosts", Proposal{ID: id, Kind: KindPipelock, CreatedAt: t0, Justification: "x"}, "hosts"},
		{"dup hosts", Proposal{ID: id, Kind: KindPipelock, CreatedAt: t0, Justification: "x", Hosts: []string{"a.b", "A.b"}}, "listed twice"},
		{"wildcard host", Proposal{ID: id, Kind: KindPipelock, CreatedAt: t0, Justification: "x", Hosts: []string{"*.b"}}, "hosts[0]"},
		{"no FROM", Proposal{ID: id, Kind: KindCapability, CreatedAt: t0, Justification: "x", Dockerfile: "RUN apt-get install jq"}, "FROM"},
		{"syntax line", Proposal{ID: id, Kind: KindCapability, CreatedAt: t0, Justification: "x", Dockerfile: "# syntax=docker/dockerfile:1\nFROM x"}, "syntax"},
		{"unknown kind", Proposal{ID: id, Kind: "root", CreatedAt: t0, Justification: "x"}, "kind"},
		{"two payloads", Proposal{ID: id, Kind: KindPipelock, CreatedAt: t0, Justification: "x", Hosts: []string{"a.b"}, Dockerfile: "FROM x"}, "only one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewIDValid(t *testing.T) {
	for range 100 {
		if id := NewID(time.Now()); !ValidID(id) {
			t.Fatalf("NewID made %q which ValidID refuses", id)
		}
	}
}

func TestWriteReadPendingAcrossBottles(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "demo-aaaaa"), filepath.Join(root, "demo-bbbbb")
	for _, d := range []string{a, b} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p1 := egress("20261127T120002Z-000001", t0.Add(2*time.Second), "one.example.com")
	p2 := egress("20261127T120001Z-000002", t0.Add(time.Second), "two.example.com")
	p3 := egress("20261127T120003Z-000003", t0.Add(3*time.Second), "three.example.com")
	for _, w := range []struct {
		dir string
		p   *Proposal
	}{{a, p1}, {b, p2}, {a, p3}} {
		if err := WriteProposal(w.dir, w.p); err != nil {
			t.Fatal(err)
		}
	}
	// A junk file and a broken proposal: reported, not fatal.
	os.WriteFile(filepath.Join(a, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(b, "20261127T120009Z-00000f.proposal.json"), []byte("{"), 0o644)

	if err := WriteAnswer(a, &Answer{ID: p3.ID, Decision: Rejected, Notes: "no", DecidedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := WriteAnswer(a, &Answer{ID: p3.ID, Decision: Approved, DecidedAt: t0}); err == nil {
		t.Fatal("second answer to the same proposal was accepted")
	}
	got, probs, err := Pending(root)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.Slug+"/"+e.Proposal.ID)
	}
	want := "demo-bbbbb/" + p2.ID + " demo-aaaaa/" + p1.ID
	if strings.Join(ids, " ") != want {
		t.Fatalf("pending = %v, want %s (oldest first, answered left out)", ids, want)
	}
	if len(probs) != 1 || !strings.Contains(probs[0].Path, "00000f") {
		t.Fatalf("problems = %+v, want the broken proposal", probs)
	}
	ans, err := ReadAnswer(a, p3.ID)
	if err != nil || ans.Decision != Rejected || ans.Notes != "no" {
		t.Fatalf("ReadAnswer = %+v, %v", ans, err)
	}
	if _, err := ReadAnswer(a, p1.ID); !os.IsNotExist(err) {
		t.Fatalf("ReadAnswer of pending = %v, want not-exist", err)
	}
}

func TestPendingMissingRoot(t *testing.T) {
	got, _, err := Pending(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(got) != 0 {
		t.Fatalf("Pending(missing) = %v, %v", got, err)
	}
}

func TestParseProposalStrict(t *testing.T) {
	_, err := ParseProposal("p.json", []byte(`{"id":"20261127T120000Z-0a1b2c","kind":"pipelock-allowlist","created_at":"2026-11-27T12:00:00Z","justification":"x","hosts":["a.b"],"token_ref":"GH_PAT"}`))
	if err == nil || !strings.Contains(err.Error(), "token_ref") {
		t.Fatalf("unknown key accepted or not named: %v", err)
	}
}

func FuzzParseProposal(f *testing.F) {
	f.Add([]byte(`{"id":"20261127T120000Z-0a1b2c","kind":"egress-route","created_at":"2026-11-27T12:00:00Z","justification":"x","route":{"host":"a.b","path_allowlist":["/x"],"auth":{"scheme":"Bearer"}}}`))
	f.Add([]byte(`{"id":"20261127T120000Z-0a1b2c","kind":"pipelock-allowlist","created_at":"2026-11-27T12:00:00Z","justification":"x","hosts":["a.b"]}`))
	f.Add([]byte(`{"id":"20261127T120000Z-0a1b2c","kind":"capability","created_at":"2026-11-27T12:00:00Z","justification":"x","dockerfile":"FROM x\n"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProposal("f", data)
		if err != nil {
			return
		}
		if !ValidID(p.ID) || strings.ContainsAny(p.ID, "/.") {
			t.Fatalf("accepted id %q", p.ID)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed proposal fails Validate: %v", err)
		}
	})
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"id":"20261127T120000Z-0a1b2c","decision":"approved","decided_at":"2026-11-27T12:00:00Z","notes":"ok"}`))
	f.Add([]byte(`{"id":"x","decision":"maybe"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAnswer("f", data)
		if err != nil {
			return
		}
		if a.Decision != Approved && a.Decision != Modified && a.Decision != Rejected {
			t.Fatalf("accepted decision %q", a.Decision)
		}
	})
}

func TestSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret.json")
	p := egress("20261127T120000Z-0a1b2c", t0, "a.example.com")
	if err := WriteProposal(filepath.Dir(secret), p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ProposalPath(filepath.Dir(secret), p.ID), ProposalPath(dir, p.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProposal(dir, p.ID); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("symlinked proposal read: %v", err)
	}
}
