package approve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

type call struct{ container, signal string }

type fakeSignaller struct {
	calls []call
	fail  string // container whose signal fails
}

func (f *fakeSignaller) Signal(_ context.Context, c, s string) error {
	f.calls = append(f.calls, call{c, s})
	if c == f.fail {
		return errors.New("no such container")
	}
	return nil
}

type fakeDown struct {
	project string
	dir     layout.StateDir
}

func (f *fakeDown) Teardown(_ context.Context, project string, sd layout.StateDir) error {
	f.project, f.dir = project, sd
	return nil
}

const slug = "demo-abc12"

const credHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

type bottle struct {
	a    *Applier
	sig  *fakeSignaller
	down *fakeDown
	dir  layout.StateDir
	q    string
	md   *state.Metadata
}

func newBottle(t *testing.T, bundle bool) *bottle {
	t.Helper()
	root := t.TempDir()
	paths := layout.Paths{Root: root}
	dir := layout.StateDir(paths.StateDir(slug))
	for _, d := range []string{dir.Egress(), dir.EgressCA(), dir.Pipelock(), paths.QueueDir(slug), paths.BottlesDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Only its presence matters here: it marks a bottle that runs egress.
	must(t, os.WriteFile(filepath.Join(dir.EgressCA(), "ca.crt"), []byte("cert"), 0o644))
	md := &state.Metadata{Slug: slug, Agent: "demo", Bottle: "demo", Project: layout.ProjectName(slug), Bundle: bundle,
		BottleFile: paths.BottleFile("demo"), TokenRefs: map[string]string{"EGRESS_TOKEN_0": "GH_PAT"}, CreatedAt: time.Now()}
	if bundle {
		md.Containers = map[string]string{"agent": layout.AgentContainer(slug), "sidecars": layout.SidecarContainer("sidecars", slug)}
	} else {
		md.Containers = map[string]string{"agent": layout.AgentContainer(slug), "egress": layout.SidecarContainer("egress", slug), "pipelock": layout.SidecarContainer("pipelock", slug)}
	}
	must(t, state.Write(dir, md))
	must(t, fileio.WriteJSON(dir.RoutesFile(), sidecarconfig.Routes{Routes: []sidecarconfig.Route{
		{Host: "api.github.com", PathAllowlist: []string{"/repos/org/demo"}, Auth: &sidecarconfig.Auth{Scheme: "Bearer", TokenSlot: "EGRESS_TOKEN_0"}},
	}}, 0o644))
	must(t, fileio.WriteJSON(dir.PipelockFile(), sidecarconfig.Pipelock{Allowlist: []string{"api.github.com"},
		InjectedCredentials: []sidecarconfig.InjectedCredential{{Host: "api.github.com", Header: "Authorization", SHA256: credHash}}}, 0o644))
	sig, down := &fakeSignaller{}, &fakeDown{}
	a := &Applier{Paths: paths, Signaller: sig, TearDowner: down, Operator: "tester"}
	return &bottle{a: a, sig: sig, down: down, dir: dir, q: paths.QueueDir(slug), md: md}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (b *bottle) propose(t *testing.T, p *queue.Proposal) *queue.Proposal {
	t.Helper()
	p.CreatedAt = time.Now()
	p.ID = queue.NewID(p.CreatedAt)
	if p.Justification == "" {
		p.Justification = "blocked"
	}
	must(t, queue.WriteProposal(b.q, p))
	return p
}

func (b *bottle) routes(t *testing.T) *sidecarconfig.Routes {
	r, err := sidecarconfig.LoadRoutes(b.dir.RoutesFile())
	must(t, err)
	return r
}

func (b *bottle) pipelock(t *testing.T) *sidecarconfig.Pipelock {
	p, err := sidecarconfig.LoadPipelock(b.dir.PipelockFile())
	must(t, err)
	return p
}

func (b *bottle) auditLines(t *testing.T) []AuditEntry {
	data, err := os.ReadFile(b.dir.AuditLog())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	must(t, err)
	var out []AuditEntry
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e AuditEntry
		must(t, json.Unmarshal([]byte(l), &e))
		out = append(out, e)
	}
	return out
}

func signals(cs []call) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.signal+" "+c.container)
	}
	return strings.Join(s, ", ")
}

func TestApproveRouteBothShapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bundle  bool
		signals string
	}{
		{"legacy", false, "HUP claude-bottle-pipelock-demo-abc12, HUP claude-bottle-egress-demo-abc12"},
		{"bundle", true, "HUP claude-bottle-sidecars-demo-abc12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBottle(t, tc.bundle)
			p := b.propose(t, &queue.Proposal{Kind: queue.KindEgress, Route: &queue.RouteRequest{Host: "pypi.org", PathAllowlist: []string{"/simple/"}}})
			ch, err := b.a.Plan(slug, p, nil)
			must(t, err)
			if !strings.Contains(ch.Diff(), `+       "host": "pypi.org"`) || !strings.Contains(ch.Diff(), `+     "pypi.org"`) {
				t.Fatalf("diff does not show the new route and allowlist host:\n%s", ch.Diff())
			}
			must(t, b.a.Apply(context.Background(), ch))
			r := b.routes(t)
			if len(r.Routes) != 2 || r.Routes[1].Host != "pypi.org" || r.Routes[1].PathAllowlist[0] != "/simple/" || r.Routes[1].Auth != nil {
				t.Fatalf("routes %+v", r.Routes)
			}
			if pl := b.pipelock(t); strings.Join(pl.Allowlist, ",") != "api.github.com,pypi.org" {
				t.Fatalf("allowlist %v: a route host must be allowed by pipelock", pl.Allowlist)
			}
			if got := signals(b.sig.calls); got != tc.signals {
				t.Fatalf("signals %q, want %q", got, tc.signals)
			}
			ans, err := queue.ReadAnswer(b.q, p.ID)
			must(t, err)
			if ans.Decision != queue.Approved || !strings.Contains(ans.Applied, "pypi.org") {
				t.Fatalf("answer %+v", ans)
			}
			au := b.auditLines(t)
			if len(au) != 1 || au[0].Decision != queue.Approved || au[0].Operator != "tester" || len(au[0].Changes) != 2 ||
				strings.Contains(au[0].Changes[1].Before, "pypi.org") || !strings.Contains(au[0].Changes[1].After, "pypi.org") {
				t.Fatalf("audit %+v", au)
			}
		})
	}
}

func TestRouteCredential(t *testing.T) {
	b := newBottle(t, false)
	p := b.propose(t, &queue.Proposal{Kind: queue.KindEgress, Route: &queue.RouteRequest{Host: "uploads.github.com", Auth: &queue.AuthRequest{Scheme: "Bearer", Description: "push release assets"}}})
	// Plain approval may not invent a credential.
	if _, err := b.a.Plan(slug, p, nil); !errors.Is(err, ErrNeedsEdit) {
		t.Fatalf("plain approval of an auth request: %v, want ErrNeedsEdit", err)
	}
	doc, err := b.a.EditDocument(slug, p)
	must(t, err)
	if !strings.Contains(doc, `"token_ref": ""`) || !strings.Contains(doc, "GH_PAT") {
		t.Fatalf("edit document should leave token_ref to the operator and list GH_PAT:\n%s", doc)
	}
	// The operator picks the bottle's existing GH_PAT: live at once.
	e, err := ParseEdit(queue.KindEgress, "edit.json", []byte(strings.Replace(doc, `"token_ref": ""`, `"token_ref": "GH_PAT"`, 1)))
	must(t, err)
	ch, err := b.a.Plan(slug, p, e)
	must(t, err)
	if ch.RestartRequired || ch.Decision() != queue.Modified {
		t.Fatalf("change %+v", ch)
	}
	must(t, b.a.Apply(context.Background(), ch))
	r := b.routes(t)
	if r.Routes[1].Host != "uploads.github.com" || r.Routes[1].Auth == nil || r.Routes[1].Auth.TokenSlot != "EGRESS_TOKEN_0" {
		t.Fatalf("routes %+v", r.Routes)
	}
	pl := b.pipelock(t)
	if len(pl.InjectedCredentials) != 2 || pl.InjectedCredentials[1].Host != "uploads.github.com" || pl.InjectedCredentials[1].SHA256 != credHash {
		t.Fatalf("injected credentials %+v: the new host must share the slot's hash", pl.InjectedCredentials)
	}
}

func TestRouteNewTokenRefNeedsRestart(t *testing.T) {
	b := newBottle(t, false)
	p := b.propose(t, &queue.Proposal{Kind: queue.KindEgress, Route: &queue.RouteRequest{Host: "gitlab.com", Auth: &queue.AuthRequest{}}})
	beforeRoutes, _ := os.ReadFile(b.dir.RoutesFile())
	ch, err := b.a.Plan(slug, p, &Edit{Route: &RouteEdit{Host: "gitlab.com", Auth: &AuthEdit{Scheme: "Bearer", TokenRef: "GITLAB_TOKEN"}}})
	must(t, err)
	if !ch.RestartRequired || len(ch.Warnings) == 0 || !strings.Contains(ch.Warnings[0], "RESTART REQUIRED") || !strings.Contains(ch.Warnings[0], "GITLAB_TOKEN") {
		t.Fatalf("change %+v: the UI must say a restart is needed", ch)
	}
	must(t, b.a.Apply(context.Background(), ch))
	if len(b.sig.calls) != 0 {
		t.Fatalf("signalled %v for a change that is not live", b.sig.calls)
	}
	if after, _ := os.ReadFile(b.dir.RoutesFile()); string(after) != string(beforeRoutes) {
		t.Fatalf("routes.json changed:\n%s", after)
	}
	var pr PendingRestart
	data, err := os.ReadFile(PendingRestartFile(b.dir))
	must(t, err)
	must(t, json.Unmarshal(data, &pr))
	if len(pr.Routes) != 1 || pr.Routes[0].Auth.TokenRef != "GITLAB_TOKEN" || pr.Routes[0].ProposalID != p.ID {
		t.Fatalf("pending restart %s", data)
	}
	ans, err := queue.ReadAnswer(b.q, p.ID)
	must(t, err)
	if !ans.RestartRequired {
		t.Fatalf("answer %+v must tell the agent a restart is needed", ans)
	}
}

func TestSignalFailureRollsBack(t *testing.T) {
	b := newBottle(t, false)
	b.sig.fail = layout.SidecarContainer("egress", slug)
	before := map[string]string{}
	for _, f := range []string{b.dir.RoutesFile(), b.dir.PipelockFile()} {
		d, _ := os.ReadFile(f)
		before[f] = string(d)
	}
	p := b.propose(t, &queue.Proposal{Kind: queue.KindEgress, Route: &queue.RouteRequest{Host: "pypi.org"}})
	ch, err := b.a.Plan(slug, p, nil)
	must(t, err)
	err = b.a.Apply(context.Background(), ch)
	if err == nil || !strings.Contains(err.Error(), "nothing applied") {
		t.Fatalf("Apply = %v", err)
	}
	for f, want := range before {
		if got, _ := os.ReadFile(f); string(got) != want {
			t.Fatalf("%s not restored:\n%s", f, got)
		}
	}
	// pipelock was reloaded with the new file, so it is reloaded again.
	if got := signals(b.sig.calls); got != "HUP claude-bottle-pipelock-demo-abc12, HUP claude-bottle-egress-demo-abc12, HUP claude-bottle-pipelock-demo-abc12" {
		t.Fatalf("signals %q", got)
	}
	if _, err := queue.ReadAnswer(b.q, p.ID); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("answer written after a failed apply: %v", err)
	}
}

func TestPipelockHostsAndReject(t *testing.T) {
	b := newBottle(t, false)
	p := b.propose(t, &queue.Proposal{Kind: queue.KindPipelock, Hosts: []string{"pypi.org", "files.pythonhosted.org"}})
	e, err := ParseEdit(queue.KindPipelock, "e.json", []byte(`{"hosts":["pypi.org"],"notes":"only the index"}`))
	must(t, err)
	ch, err := b.a.Plan(slug, p, e)
	must(t, err)
	must(t, b.a.Apply(context.Background(), ch))
	if pl := b.pipelock(t); strings.Join(pl.Allowlist, ",") != "api.github.com,pypi.org" {
		t.Fatalf("allowlist %v", pl.Allowlist)
	}
	if got := signals(b.sig.calls); got != "HUP claude-bottle-pipelock-demo-abc12" {
		t.Fatalf("signals %q", got)
	}
	ans, _ := queue.ReadAnswer(b.q, p.ID)
	if ans.Decision != queue.Modified || ans.Notes != "only the index" {
		t.Fatalf("answer %+v", ans)
	}

	p2 := b.propose(t, &queue.Proposal{Kind: queue.KindPipelock, Hosts: []string{"evil.example.com"}})
	must(t, b.a.Reject(slug, p2, "  not for this task "))
	ans, _ = queue.ReadAnswer(b.q, p2.ID)
	if ans.Decision != queue.Rejected || ans.Notes != "not for this task" {
		t.Fatalf("answer %+v", ans)
	}
	if pl := b.pipelock(t); strings.Contains(strings.Join(pl.Allowlist, ","), "evil") {
		t.Fatal("rejected host allowed")
	}
	if au := b.auditLines(t); len(au) != 2 || au[1].Decision != queue.Rejected || au[1].ProposalID != p2.ID {
		t.Fatalf("audit %+v", au)
	}
	// A second decision on the same proposal is refused.
	if err := b.a.Reject(slug, p2, "again"); err == nil {
		t.Fatal("a proposal was answered twice")
	}
}

func TestCapability(t *testing.T) {
	for _, tc := range []struct {
		name       string
		bottle     string
		dockerfile string // expected path, relative to the bottles dir
		bottleEdit bool
	}{
		{"declared dockerfile", "---\nsupervise: true\ndockerfile: ./images/agent.Dockerfile\n---\nbody\n", "images/agent.Dockerfile", false},
		{"no dockerfile key", "---\nsupervise: true\n---\nbody\n", "demo.Dockerfile", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBottle(t, true)
			must(t, os.WriteFile(b.md.BottleFile, []byte(tc.bottle), 0o644))
			os.MkdirAll(filepath.Join(filepath.Dir(b.md.BottleFile), "images"), 0o755)
			df := "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y jq\n"
			p := b.propose(t, &queue.Proposal{Kind: queue.KindCapability, Dockerfile: df})
			ch, err := b.a.Plan(slug, p, nil)
			must(t, err)
			must(t, b.a.Apply(context.Background(), ch))
			got, err := os.ReadFile(filepath.Join(filepath.Dir(b.md.BottleFile), tc.dockerfile))
			must(t, err)
			if string(got) != df {
				t.Fatalf("Dockerfile %q", got)
			}
			bf, _ := os.ReadFile(b.md.BottleFile)
			if tc.bottleEdit {
				fm, err := ParseBottleFrontmatter("b", bf)
				must(t, err)
				if fm.Dockerfile != "./demo.Dockerfile" || !strings.HasSuffix(string(bf), "---\nbody\n") {
					t.Fatalf("bottle file not pointed at the Dockerfile:\n%s", bf)
				}
			} else if string(bf) != tc.bottle {
				t.Fatalf("bottle file changed:\n%s", bf)
			}
			if _, err := os.Stat(b.dir.Preserve()); err != nil {
				t.Fatalf(".preserve: %v", err)
			}
			if b.down.project != "claude-bottle-demo-abc12" || b.down.dir != b.dir {
				t.Fatalf("teardown %+v", b.down)
			}
			ans, _ := queue.ReadAnswer(b.q, p.ID)
			if !ans.RestartRequired || ans.Decision != queue.Approved {
				t.Fatalf("answer %+v", ans)
			}
			if len(b.sig.calls) != 0 {
				t.Fatalf("signals %v", b.sig.calls)
			}
		})
	}
}

func TestParseEdit(t *testing.T) {
	tests := []struct {
		kind, doc, want string
	}{
		{queue.KindEgress, `{"route":{"host":"a.example.com","path_allowlist":["/x"]},"notes":""}`, ""},
		{queue.KindEgress, `{"route":{"host":"a.example.com","path_allowlist":null,"auth":{"scheme":"Bearer","token_ref":"GH_PAT"}},"notes":""}`, ""},
		{queue.KindEgress, `{"route":{"host":"a.example.com","path_allowlist":null,"auth":{"scheme":"Bearer","token_ref":""}},"notes":""}`, "token_ref"},
		{queue.KindEgress, `{"route":{"host":"a.example.com","path_allowlist":null,"auth":{"scheme":"Bearer","token_ref":"$(rm -rf /)"}},"notes":""}`, "token_ref"},
		{queue.KindEgress, `{"route":{"host":"https://a.example.com","path_allowlist":null},"notes":""}`, "route.host"},
		{queue.KindEgress, `{"notes":""}`, "route: must be set"},
		{queue.KindEgress, `{"route":{"host":"a.b","path_allowlist":null},"token_slot":"x"}`, "token_slot"},
		{queue.KindPipelock, `{"hosts":[],"notes":""}`, "hosts"},
		{queue.KindCapability, "RUN true", "FROM"},
		{queue.KindCapability, "  \n", "cancelled"},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			_, err := ParseEdit(tc.kind, "edit.json", []byte(tc.doc))
			if tc.want == "" {
				must(t, err)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseEdit = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	got := Diff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nX\nf\ng\nh\n", 1)
	want := "  ...\n  d\n- e\n+ X\n  f\n  ..."
	if got != want {
		t.Fatalf("Diff:\n%s\nwant:\n%s", got, want)
	}
	if got := Diff("", "x\n", 3); got != "+ x" {
		t.Fatalf("Diff from empty: %q", got)
	}
}

func FuzzParseEdit(f *testing.F) {
	f.Add(queue.KindEgress, []byte(`{"route":{"host":"a.b","path_allowlist":["/x"],"auth":{"scheme":"Bearer","token_ref":"T"}},"notes":"n"}`))
	f.Add(queue.KindPipelock, []byte(`{"hosts":["a.b"]}`))
	f.Add(queue.KindCapability, []byte("FROM x\n"))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		e, err := ParseEdit(kind, "f", data)
		if err != nil {
			return
		}
		if e.Route != nil && e.Route.Auth != nil && !envName.MatchString(e.Route.Auth.TokenRef) {
			t.Fatalf("accepted token_ref %q", e.Route.Auth.TokenRef)
		}
		if e.Route != nil {
			if err := sidecarconfig.ValidateHost(e.Route.Host); err != nil {
				t.Fatalf("accepted host %q", e.Route.Host)
			}
		}
	})
}

func FuzzFrontmatter(f *testing.F) {
	f.Add([]byte("---\ndockerfile: ./D\n---\nbody\n"))
	f.Add([]byte("---\r\nimage: x\r\n---\r\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, err := ParseBottleFrontmatter("f", data)
		if err != nil {
			return
		}
		if fm.Dockerfile != "" {
			return
		}
		out, err := insertFrontmatterKey("f", data, "dockerfile", "./x.Dockerfile")
		if err != nil {
			return // refused with advice; never a wrong file
		}
		fm2, err := ParseBottleFrontmatter("f", out)
		if err != nil || fm2.Dockerfile != "./x.Dockerfile" {
			t.Fatalf("inserted key not read back: %+v, %v from %q", fm2, err, out)
		}
		if !strings.HasSuffix(string(out), string(data[len(data)-min(len(data), 4):])) {
			t.Fatalf("the body changed: %q", out)
		}
	})
}

func TestRouteWithoutEgressNeedsRestart(t *testing.T) {
	for _, bundle := range []bool{false, true} {
		t.Run(fmt.Sprint("bundle=", bundle), func(t *testing.T) {
			b := newBottle(t, bundle)
			must(t, os.RemoveAll(b.dir.EgressCA()))
			if !bundle {
				delete(b.md.Containers, "egress")
				must(t, state.Write(b.dir, b.md))
			}
			p := b.propose(t, &queue.Proposal{Kind: queue.KindEgress, Route: &queue.RouteRequest{Host: "pypi.org"}})
			ch, err := b.a.Plan(slug, p, nil)
			must(t, err)
			if !ch.RestartRequired || !strings.Contains(strings.Join(ch.Warnings, " "), "runs no egress proxy") {
				t.Fatalf("change %+v", ch)
			}
			if len(ch.Files) != 1 || ch.Files[0].Path != PendingRestartFile(b.dir) || len(ch.Reload) != 0 {
				t.Fatalf("a route went live in a bottle without egress: %+v", ch)
			}
		})
	}
}

func TestApplyRefusesStaleOrDecided(t *testing.T) {
	b := newBottle(t, false)
	p := b.propose(t, &queue.Proposal{Kind: queue.KindPipelock, Hosts: []string{"pypi.org"}})
	ch, err := b.a.Plan(slug, p, nil)
	must(t, err)
	// Someone else changed pipelock.json after the diff was shown.
	pl := b.pipelock(t)
	pl.Allowlist = append(pl.Allowlist, "other.example.com")
	must(t, fileio.WriteJSON(b.dir.PipelockFile(), pl, 0o644))
	if err := b.a.Apply(context.Background(), ch); err == nil || !strings.Contains(err.Error(), "changed since the diff was shown") {
		t.Fatalf("stale apply: %v", err)
	}
	if got := b.pipelock(t); strings.Contains(strings.Join(got.Allowlist, ","), "pypi.org") {
		t.Fatal("stale change applied")
	}
	ch, err = b.a.Plan(slug, p, nil)
	must(t, err)
	ch2, err := b.a.Plan(slug, p, nil)
	must(t, err)
	must(t, b.a.Apply(context.Background(), ch))
	if err := b.a.Apply(context.Background(), ch2); err == nil || !strings.Contains(err.Error(), "already answered") {
		t.Fatalf("second apply: %v", err)
	}
	if len(b.sig.calls) != 1 {
		t.Fatalf("signals %v", b.sig.calls)
	}
}
