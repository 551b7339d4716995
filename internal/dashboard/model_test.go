package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/claude-bottle/claude-bottle/internal/queue"
)

type fakeBackend struct {
	items    []Item
	approved []string
	rejected []string
	edited   []string
	loads    int
}

func (f *fakeBackend) Load() ([]Item, []queue.Problem, error) {
	f.loads++
	return f.items, []queue.Problem{{Path: "/q/x.proposal.json", Err: "bad\x1b[2J"}}, nil
}
func (f *fakeBackend) Approve(_ context.Context, it Item) (string, error) {
	f.approved = append(f.approved, it.Entry.Proposal.ID)
	if it.PlanErr != "" {
		return "", errors.New(it.PlanErr)
	}
	return "approved " + it.Entry.Proposal.ID, nil
}
func (f *fakeBackend) EditFile(it Item) (string, error) {
	return "/tmp/edit-" + it.Entry.Proposal.ID, nil
}
func (f *fakeBackend) EditorCmd(path string) *exec.Cmd { return exec.Command("true", path) }
func (f *fakeBackend) ApplyEdit(_ context.Context, it Item, path string) (string, error) {
	f.edited = append(f.edited, it.Entry.Proposal.ID+" "+path)
	return "modified", nil
}
func (f *fakeBackend) Reject(it Item, reason string) (string, error) {
	f.rejected = append(f.rejected, it.Entry.Proposal.ID+": "+reason)
	return "rejected", nil
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func items() []Item {
	return []Item{
		{Entry: queue.Entry{Slug: "one-aaaaa", Proposal: &queue.Proposal{ID: "20261127T120000Z-000001", Kind: queue.KindPipelock, CreatedAt: t0,
			Justification: "pip install\x1b]0;pwned\x07 failed", Hosts: []string{"pypi.org"}}},
			Diff: "--- /s/pipelock.json\n  {\n+     \"pypi.org\""},
		{Entry: queue.Entry{Slug: "two-bbbbb", Proposal: &queue.Proposal{ID: "20261127T120100Z-000002", Kind: queue.KindEgress, CreatedAt: t0.Add(time.Minute),
			Justification: "gh api", Route: &queue.RouteRequest{Host: "api.github.com", Auth: &queue.AuthRequest{Scheme: "Bearer", Description: "repo read"}}}},
			PlanErr: "asks for a credential: press e", Warnings: []string{"RESTART REQUIRED: token_ref X has no token slot"}},
	}
}

func key(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// step applies msgs in order, returning the model and the last command.
func step(t *testing.T, m tea.Model, msgs ...tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, msg := range msgs {
		m, cmd = m.Update(msg)
	}
	return m.(Model), cmd
}

func loaded(b *fakeBackend) Model {
	m := NewModel(b)
	its, probs, _ := b.Load()
	mm, _ := m.Update(loadedMsg{items: its, problems: probs, at: t0.Add(2 * time.Minute)})
	return mm.(Model)
}

func TestViewListsAndSanitizes(t *testing.T) {
	b := &fakeBackend{items: items()}
	m := loaded(b)
	out := m.View().Content
	for _, want := range []string{"2 pending (oldest first)", "one-aaaaa", "20261127T120000Z-000001", "allowlist pypi.org", "2m ago", `"pypi.org"`, "a approve"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "000001") > strings.Index(out, "000002") {
		t.Error("not oldest first")
	}
	if strings.Contains(out, "\x1b]0;pwned") || strings.Contains(out, "bad\x1b[2J") {
		t.Fatalf("agent-controlled escape sequence reached the terminal:\n%q", out)
	}
	m, _ = step(t, m, key("j"))
	out = m.View().Content
	for _, want := range []string{"credential requested: Bearer repo read", "RESTART REQUIRED", "cannot approve as is"} {
		if !strings.Contains(out, want) {
			t.Errorf("details lack %q:\n%s", want, out)
		}
	}
}

func TestApprove(t *testing.T) {
	b := &fakeBackend{items: items()}
	m, cmd := step(t, loaded(b), key("a"))
	if cmd == nil || !m.busy {
		t.Fatal("a did not start an approval")
	}
	// A second key while busy does nothing.
	if _, c2 := step(t, m, key("a")); c2 != nil {
		t.Fatal("approval started twice")
	}
	msg := cmd()
	if strings.Join(b.approved, ",") != "20261127T120000Z-000001" {
		t.Fatalf("approved %v", b.approved)
	}
	m, cmd = step(t, m, msg)
	if m.busy || m.status != "approved 20261127T120000Z-000001" || cmd == nil {
		t.Fatalf("after done: %+v", m)
	}
	if _, ok := cmd().(loadedMsg); !ok {
		t.Fatal("no reload after a decision")
	}
}

func TestApproveErrorShown(t *testing.T) {
	b := &fakeBackend{items: items()}
	m, cmd := step(t, loaded(b), key("j"), key("a"))
	m, _ = step(t, m, cmd())
	if !m.isErr || !strings.Contains(m.View().Content, "error: ") || !strings.Contains(m.status, "asks for a credential") {
		t.Fatalf("error not shown: %q", m.View().Content)
	}
}

func TestReject(t *testing.T) {
	b := &fakeBackend{items: items()}
	m, _ := step(t, loaded(b), key("down"), key("r"))
	if m.mode != modeReject {
		t.Fatal("r did not ask for a reason")
	}
	// An empty reason is refused.
	m, cmd := step(t, m, key("enter"))
	if cmd != nil || !m.isErr || m.mode != modeReject {
		t.Fatalf("empty reason accepted: %+v", m.status)
	}
	m, _ = step(t, m, key("n"), key("o"), key("p"), key("e"))
	m, cmd = step(t, m, key("enter"))
	if cmd == nil || m.mode != modeList {
		t.Fatal("enter did not reject")
	}
	cmd()
	if strings.Join(b.rejected, ",") != "20261127T120100Z-000002: nope" {
		t.Fatalf("rejected %v", b.rejected)
	}
	// esc cancels without a decision.
	m, _ = step(t, m, key("r"), key("x"), key("esc"))
	if m.mode != modeList || len(b.rejected) != 1 {
		t.Fatal("esc did not cancel")
	}
}

func TestEdit(t *testing.T) {
	b := &fakeBackend{items: items()}
	m, cmd := step(t, loaded(b), key("e"))
	msg := cmd().(editFileMsg)
	if msg.path != "/tmp/edit-20261127T120000Z-000001" {
		t.Fatalf("edit file %+v", msg)
	}
	m, cmd = step(t, m, msg)
	if cmd == nil {
		t.Fatal("no editor command")
	}
	m, cmd = step(t, m, editorDoneMsg{item: msg.item, path: msg.path})
	cmd()
	if strings.Join(b.edited, ",") != "20261127T120000Z-000001 /tmp/edit-20261127T120000Z-000001" {
		t.Fatalf("edited %v", b.edited)
	}
	// A failing editor applies nothing.
	m, cmd = step(t, m, editorDoneMsg{item: msg.item, path: msg.path, err: errors.New("exit 1")})
	if cmd != nil || !strings.Contains(m.status, "nothing applied") {
		t.Fatalf("editor failure: %q", m.status)
	}
}

func TestReloadKeepsSelection(t *testing.T) {
	b := &fakeBackend{items: items()}
	m, _ := step(t, loaded(b), key("j"))
	its := items()
	newer := Item{Entry: queue.Entry{Slug: "zero-ccccc", Proposal: &queue.Proposal{ID: "20261127T115900Z-000000", Kind: queue.KindPipelock, CreatedAt: t0.Add(-time.Minute), Hosts: []string{"a.b"}}}}
	m, _ = step(t, m, loadedMsg{items: append([]Item{newer}, its...), at: t0})
	if it, _ := m.selected(); it.Entry.Proposal.ID != "20261127T120100Z-000002" {
		t.Fatalf("selection moved to %s", it.Entry.Proposal.ID)
	}
	m, _ = step(t, m, loadedMsg{items: nil, at: t0})
	if !strings.Contains(m.View().Content, "no pending proposals") {
		t.Fatal("empty queue not shown")
	}
	if _, cmd := step(t, m, key("a")); cmd != nil {
		t.Fatal("approve with nothing selected")
	}
	if _, cmd := step(t, m, key("q")); cmd == nil {
		t.Fatal("q does not quit")
	}
}

func TestPrintOnce(t *testing.T) {
	b := &fakeBackend{items: items()}
	var buf bytes.Buffer
	if err := PrintOnce(&buf, b, false); err != nil {
		t.Fatal(err)
	}
	txt := buf.String()
	for _, want := range []string{"2 pending proposal(s)", "[1] 20261127T120000Z-000001  bottle one-aaaaa", "request: allowlist pypi.org", "WARNING: RESTART REQUIRED", "credential requested: Bearer repo read"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	if strings.ContainsRune(txt, 0x1b) {
		t.Fatalf("escape in text output: %q", txt)
	}
	buf.Reset()
	if err := PrintOnce(&buf, b, true); err != nil {
		t.Fatal(err)
	}
	var out OnceOutput
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	// C1 controls (CSI as one character) and bidi overrides are escaped,
	// never raw in the output a terminal shows.
	b.items[0].Entry.Proposal.Justification = "pip \u009b2J \u202e fails"
	buf.Reset()
	if err := PrintOnce(&buf, b, true); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\u009b\u202e") || !strings.Contains(buf.String(), `\u009b2J \u202e`) {
		t.Fatalf("--json carries raw C1/bidi characters: %q", buf.String())
	}
	if len(out.Pending) != 2 || out.Pending[1].NeedsEdit == "" || out.Pending[0].Diff == "" || len(out.Problems) != 1 {
		t.Fatalf("json %s", buf.String())
	}
	buf.Reset()
	PrintOnce(&buf, &fakeBackend{}, false)
	if !strings.HasPrefix(buf.String(), "no pending proposals") {
		t.Fatalf("empty: %q", buf.String())
	}
}

func TestWindow(t *testing.T) {
	for _, tc := range []struct{ total, cursor, n, first, last int }{
		{3, 0, 5, 0, 3},
		{20, 0, 5, 0, 5},
		{20, 10, 5, 8, 13},
		{20, 19, 5, 15, 20},
	} {
		f, l := window(tc.total, tc.cursor, tc.n)
		if f != tc.first || l != tc.last || tc.cursor < f || tc.cursor >= l {
			t.Errorf("window(%d,%d,%d) = %d,%d want %d,%d", tc.total, tc.cursor, tc.n, f, l, tc.first, tc.last)
		}
	}
}
