// Package dashboard is `claude-bottle dashboard`: the operator's view of
// every bottle's pending supervise proposals, oldest first, each with the
// diff approving it would make; approve, edit in $EDITOR then approve, or
// reject with a reason. `--once` prints the same list as text or JSON.
//
// The Bubble Tea model is pure: Update only changes the model and returns
// commands, View only renders it; all I/O happens in commands that call the
// Backend. Text the agent wrote is stripped of control characters before it
// reaches the terminal (an agent must not drive the operator's terminal
// with escape sequences).
package dashboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// RefreshEvery is how often the queue is rescanned (polling works on bind
// mounts where inotify does not).
const RefreshEvery = time.Second

type mode int

const (
	modeList mode = iota
	modeReject
)

// Messages.
type (
	loadedMsg struct {
		items    []Item
		problems []queue.Problem
		err      error
		at       time.Time
	}
	tickMsg time.Time
	doneMsg struct {
		status string
		err    error
	}
	editFileMsg struct {
		item Item
		path string
		err  error
	}
	editorDoneMsg struct {
		item Item
		path string
		err  error
	}
)

// Model is the dashboard's state.
type Model struct {
	backend  Backend
	items    []Item
	problems []queue.Problem
	cursor   int
	mode     mode
	reason   textinput.Model
	status   string
	isErr    bool
	busy     bool
	now      time.Time
	width    int
	height   int
	loaded   bool
}

// NewModel returns the model over backend.
func NewModel(b Backend) Model {
	ti := textinput.New()
	ti.Prompt = "reason: "
	ti.Placeholder = "why (sent to the agent)"
	ti.CharLimit = 500
	return Model{backend: b, reason: ti, width: 100, height: 40}
}

func (m Model) load() tea.Cmd {
	b := m.backend
	return func() tea.Msg {
		items, probs, err := b.Load()
		return loadedMsg{items: items, problems: probs, err: err, at: time.Now()}
	}
}

func tick() tea.Cmd {
	return tea.Tick(RefreshEvery, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init loads the queue and starts the refresh timer.
func (m Model) Init() tea.Cmd { return tea.Batch(m.load(), tick()) }

func (m Model) selected() (Item, bool) {
	if m.cursor < 0 || m.cursor >= len(m.items) {
		return Item{}, false
	}
	return m.items[m.cursor], true
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case loadedMsg:
		m.loaded = true
		m.now = msg.at
		if msg.err != nil {
			m.status, m.isErr = msg.err.Error(), true
			return m, nil
		}
		var key string
		if it, ok := m.selected(); ok {
			key = it.Key()
		}
		m.items, m.problems = msg.items, msg.problems
		m.cursor = 0
		for i, it := range m.items {
			if it.Key() == key {
				m.cursor = i
			}
		}
		return m, nil
	case tickMsg:
		m.now = time.Time(msg)
		if m.busy || m.mode != modeList {
			return m, tick()
		}
		return m, tea.Batch(m.load(), tick())
	case doneMsg:
		m.busy = false
		if msg.err != nil {
			m.status, m.isErr = msg.err.Error(), true
		} else {
			m.status, m.isErr = msg.status, false
		}
		return m, m.load()
	case editFileMsg:
		if msg.err != nil {
			m.busy = false
			m.status, m.isErr = msg.err.Error(), true
			return m, nil
		}
		item, path := msg.item, msg.path
		return m, tea.ExecProcess(m.backend.EditorCmd(path), func(err error) tea.Msg {
			return editorDoneMsg{item: item, path: path, err: err}
		})
	case editorDoneMsg:
		if msg.err != nil {
			m.busy = false
			m.status, m.isErr = "editor failed: "+msg.err.Error()+"; nothing applied", true
			return m, nil
		}
		b, item, path := m.backend, msg.item, msg.path
		return m, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
			defer cancel()
			s, err := b.ApplyEdit(ctx, item, path)
			return doneMsg{status: s, err: err}
		}
	case tea.KeyPressMsg:
		if m.mode == modeReject {
			return m.updateReject(msg)
		}
		return m.updateList(msg)
	}
	return m, nil
}

func (m Model) updateList(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "q", "ctrl+c":
		return m, tea.Quit
	case "down", "j":
		if m.cursor < len(m.items)-1 {
			m.cursor++
		}
		return m, nil
	case "up", "k":
		if m.cursor > 0 {
			m.cursor--
		}
		return m, nil
	}
	it, ok := m.selected()
	if !ok || m.busy {
		return m, nil
	}
	b := m.backend
	switch k.String() {
	case "a":
		m.busy = true
		m.status, m.isErr = "approving "+it.Entry.Proposal.ID+"…", false
		return m, func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
			defer cancel()
			s, err := b.Approve(ctx, it)
			return doneMsg{status: s, err: err}
		}
	case "e":
		m.busy = true
		m.status, m.isErr = "editing "+it.Entry.Proposal.ID+"…", false
		return m, func() tea.Msg {
			p, err := b.EditFile(it)
			return editFileMsg{item: it, path: p, err: err}
		}
	case "r":
		m.mode = modeReject
		m.reason.Reset()
		return m, m.reason.Focus()
	case "g":
		return m, m.load()
	}
	return m, nil
}

func (m Model) updateReject(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "esc":
		m.mode = modeList
		m.reason.Blur()
		m.status, m.isErr = "reject cancelled", false
		return m, nil
	case "enter":
		it, ok := m.selected()
		reason := strings.TrimSpace(m.reason.Value())
		if !ok {
			m.mode = modeList
			return m, nil
		}
		if reason == "" {
			m.status, m.isErr = "give a reason: the agent reads it", true
			return m, nil
		}
		m.mode = modeList
		m.reason.Blur()
		m.busy = true
		b := m.backend
		return m, func() tea.Msg {
			s, err := b.Reject(it, reason)
			return doneMsg{status: s, err: err}
		}
	}
	var cmd tea.Cmd
	m.reason, cmd = m.reason.Update(k)
	return m, cmd
}

var (
	titleStyle = lipgloss.NewStyle().Bold(true)
	selStyle   = lipgloss.NewStyle().Reverse(true)
	warnStyle  = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("3"))
	errStyle   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1"))
	addStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	delStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	dimStyle   = lipgloss.NewStyle().Faint(true)
)

// View renders the model.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "claude-bottle dashboard"
	return v
}

// maxWhyRows caps the agent's justification on screen: it is drawn after
// everything the dashboard itself says, and a capped one cannot push the
// diff or the key help away, nor draw a fake "changes:" block that looks
// like ours. `dashboard --once` prints it whole.
const maxWhyRows = 6

// maxProblemRows caps the unreadable-file lines.
const maxProblemRows = 3

func (m Model) render() string {
	width := m.width
	if width <= 0 {
		width = 100
	}
	var top []string
	switch {
	case !m.loaded:
		top = append(top, titleStyle.Render("claude-bottle dashboard")+" — loading…")
	case len(m.items) == 0:
		top = append(top, titleStyle.Render("claude-bottle dashboard")+" — no pending proposals")
	default:
		top = append(top, titleStyle.Render("claude-bottle dashboard")+fmt.Sprintf(" — %d pending (oldest first)", len(m.items)))
	}
	top = append(top, "")
	first, last := window(len(m.items), m.cursor, max(5, m.height/3))
	if first > 0 {
		top = append(top, dimStyle.Render(fmt.Sprintf("   ↑ %d more", first)))
	}
	for i := first; i < last; i++ {
		it := m.items[i]
		line := fmt.Sprintf(" %-16s %-20s %-18s %s  %s", clean(it.Entry.Slug), it.Entry.Proposal.ID, it.Entry.Proposal.Kind,
			age(m.now, it.Entry.Proposal.CreatedAt), truncate(Summary(it.Entry.Proposal), max(30, width-70)))
		if i == m.cursor {
			top = append(top, selStyle.Render(">"+line))
		} else {
			top = append(top, " "+line)
		}
	}
	if last < len(m.items) {
		top = append(top, dimStyle.Render(fmt.Sprintf("   ↓ %d more", len(m.items)-last)))
	}

	var bottom []string
	for i, p := range m.problems {
		if i == maxProblemRows {
			bottom = append(bottom, errStyle.Render(fmt.Sprintf("… %d more unreadable files (see claude-bottle dashboard --once)", len(m.problems)-i)))
			break
		}
		r := wrapRows(p.Path+": "+p.Err, width-12)
		bottom = append(bottom, errStyle.Render("unreadable: ")+r[0])
		if len(r) > 1 {
			bottom = append(bottom, errStyle.Render("            ")+"… (clipped; see claude-bottle dashboard --once)")
		}
	}
	bottom = append(bottom, "")
	if m.status != "" {
		for i, r := range wrapRows(m.status, width-7) {
			if i == 0 && m.isErr {
				r = errStyle.Render("error: ") + r
			}
			bottom = append(bottom, r)
		}
	}
	if m.mode == modeReject {
		bottom = append(bottom, "reject — "+m.reason.View(), dimStyle.Render("enter confirm · esc cancel"))
	} else {
		bottom = append(bottom, dimStyle.Render("a approve · e edit then approve · r reject · ↑/↓ or j/k move · g refresh · q quit"))
	}

	var mid []string
	if it, ok := m.selected(); ok {
		mid = append([]string{""}, m.details(it, width)...)
	}
	// The key help and the list always fit: the details give way, cut
	// with a mark (the diff comes before any agent text, so that is what
	// is cut last).
	if m.height > 0 {
		room := m.height - len(top) - len(bottom)
		if len(mid) > room {
			keep := max(room-1, 0)
			cut := len(mid) - keep
			mid = append(mid[:keep:keep], dimStyle.Render(fmt.Sprintf("  … %d more rows not shown: enlarge the terminal or see claude-bottle dashboard --once", cut)))
			if room <= 0 {
				mid = nil
			}
		}
	}
	rows := append(append(top, mid...), bottom...)
	return strings.Join(rows, "\n") + "\n"
}

// details are the selected proposal's rows: what the dashboard knows
// first (the request, warnings, the diff approving makes), the agent's own
// words last, capped and set off by a gutter so they cannot pass for ours.
func (m Model) details(it Item, width int) []string {
	p := it.Entry.Proposal
	var rows []string
	add := func(prefix, text string, style func(...string) string) {
		for i, r := range wrapRows(text, width-ansi.StringWidth(prefix)) {
			if i == 0 {
				rows = append(rows, style(prefix)+r)
			} else {
				rows = append(rows, strings.Repeat(" ", ansi.StringWidth(prefix))+r)
			}
		}
	}
	plain := func(s ...string) string { return strings.Join(s, "") }
	rows = append(rows, fmt.Sprintf("%s %s  bottle %s  asked %s", titleStyle.Render("proposal"), p.ID, clean(it.Entry.Slug), p.CreatedAt.Local().Format("2006-01-02 15:04:05")))
	add("request: ", Summary(p), plain)
	if p.Route != nil && p.Route.Auth != nil {
		add("credential requested: ", p.Route.Auth.Scheme+" "+p.Route.Auth.Description+" (you choose the token_ref with e)", plain)
	}
	for _, w := range it.Warnings {
		add("⚠ ", w, warnStyle.Render)
	}
	if it.PlanErr != "" {
		add("cannot approve as is: ", it.PlanErr, warnStyle.Render)
	}
	if it.Diff != "" {
		rows = append(rows, "changes:")
		for _, l := range wrapRows(it.Diff, width-2) {
			switch {
			case strings.HasPrefix(l, "+ "):
				l = addStyle.Render(l)
			case strings.HasPrefix(l, "- "):
				l = delStyle.Render(l)
			}
			rows = append(rows, "  "+l)
		}
	}
	why := wrapRows(p.Justification, width-4)
	rows = append(rows, dimStyle.Render("why (the agent's words):"))
	for i, r := range why {
		if i == maxWhyRows {
			rows = append(rows, dimStyle.Render(fmt.Sprintf("  … %d more rows of justification (see claude-bottle dashboard --once)", len(why)-i)))
			break
		}
		rows = append(rows, dimStyle.Render("  │ ")+r)
	}
	return rows
}

// Summary is a one-line description of a proposal.
func Summary(p *queue.Proposal) string {
	switch p.Kind {
	case queue.KindEgress:
		s := "route " + p.Route.Host
		if len(p.Route.PathAllowlist) > 0 {
			s += " paths " + strings.Join(p.Route.PathAllowlist, ",")
		} else {
			s += " (any path)"
		}
		if p.Route.Auth != nil {
			s += " + credential"
		}
		return s
	case queue.KindPipelock:
		return "allowlist " + strings.Join(p.Hosts, ", ")
	case queue.KindCapability:
		return fmt.Sprintf("new Dockerfile (%d lines)", strings.Count(strings.TrimSuffix(p.Dockerfile, "\n"), "\n")+1)
	}
	return p.Kind
}

func age(now, t time.Time) string {
	if now.IsZero() {
		return ""
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	default:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
}

func truncate(s string, n int) string {
	r := []rune(clean(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

func indent(s, pad string) string { return strings.ReplaceAll(s, "\n", "\n"+pad) }

// window returns the rows [first, last) to show: at most n, keeping the
// cursor in view.
func window(total, cursor, n int) (int, int) {
	if total <= n {
		return 0, total
	}
	first := max(0, min(cursor-n/2, total-n))
	return first, first + n
}
