// Package approve applies the operator's decisions on supervise proposals
// to a bottle (DESIGN §1, §5): routes and allowlist hosts are written
// atomically into the bottle's live config in its state dir and the daemons
// are told to reload (SIGHUP to the container state.Metadata.ReloadTarget
// names, legacy or bundle shape); a new Dockerfile is written next to the
// bottle file and the bottle is torn down for a rebuild. Every decision is
// answered in the queue dir (the agent reads it) and appended to the state
// dir's audit log.
//
// Fields the operator controls are never taken from a proposal: the agent
// can only say it wants a credential; which host variable (token_ref) backs
// it is chosen by the operator in the edit document.
package approve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/engine"
	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

// Signaller sends a signal to a container.
type Signaller interface {
	Signal(ctx context.Context, container, signal string) error
}

// TearDowner stops a bottle for a rebuild, keeping its state dir. The real
// one is launch.Launcher.Teardown (through launch.Teardowner): the one
// teardown every path uses, so logs are saved, keys removed and the
// detected Compose tool used.
type TearDowner interface {
	Teardown(ctx context.Context, project string, sd layout.StateDir) error
}

// EngineSignaller signals through the engine (docker kill -s).
type EngineSignaller struct{}

// Signal implements Signaller.
func (EngineSignaller) Signal(ctx context.Context, container, signal string) error {
	return engine.Kill(ctx, container, signal)
}

// Applier applies decisions under one claude-bottle home.
type Applier struct {
	Paths      layout.Paths
	Signaller  Signaller
	TearDowner TearDowner
	Now        func() time.Time
	Operator   string // recorded in the audit log; "" means the OS user
}

// New returns an Applier that signals through the engine and stops a
// bottle with td.
func New(paths layout.Paths, td TearDowner) *Applier {
	return &Applier{Paths: paths, Signaller: EngineSignaller{}, TearDowner: td}
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Applier) operator() string {
	if a.Operator != "" {
		return a.Operator
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// Edit is the operator's version of a proposal (from the edit document).
// Nil fields mean "as proposed".
type Edit struct {
	Route      *RouteEdit
	Hosts      []string
	Dockerfile *string
	Notes      string
}

// RouteEdit is a route as the operator approves it.
type RouteEdit struct {
	Host          string    `json:"host"`
	PathAllowlist []string  `json:"path_allowlist"`
	Auth          *AuthEdit `json:"auth,omitempty"`
}

// AuthEdit: the credential the operator picks. TokenRef names a host
// environment variable (DESIGN §2.3); its value never enters a file.
type AuthEdit struct {
	Scheme   string `json:"scheme"`
	TokenRef string `json:"token_ref"`
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FileChange is one file an approval rewrites.
type FileChange struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
	Mode   os.FileMode
	// existed: Before is a real file (not an empty stand-in).
	existed bool
}

// Change is everything an approval will do, computed before anything is
// written: the dashboard shows it, Apply does it.
type Change struct {
	Slug     string
	Proposal *queue.Proposal
	Edited   bool
	Files    []FileChange
	// Reload lists the containers to SIGHUP, in order (pipelock first: it
	// must allow a host before egress routes to it).
	Reload []string
	// TearDown: stop the bottle so resume rebuilds it (capability).
	TearDown        bool
	RestartRequired bool
	Warnings        []string
	Applied         string
	Notes           string
}

// Decision is queue.Modified when the operator edited, else Approved.
func (c *Change) Decision() string {
	if c.Edited {
		return queue.Modified
	}
	return queue.Approved
}

// Diff renders the change for the operator.
func (c *Change) Diff() string {
	var sb strings.Builder
	for _, f := range c.Files {
		fmt.Fprintf(&sb, "--- %s\n%s\n", f.Path, Diff(f.Before, f.After, 3))
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// PendingRestart holds approved routes that cannot go live in the running
// bottle (their credential has no token slot yet, or the bottle runs no
// egress): the next start of the bottle must fold them in.
type PendingRestart struct {
	Routes []PendingRoute `json:"routes"`
}

// PendingRoute is an approved route waiting for a restart.
type PendingRoute struct {
	Host          string    `json:"host"`
	PathAllowlist []string  `json:"path_allowlist,omitempty"`
	Auth          *AuthEdit `json:"auth,omitempty"`
	ProposalID    string    `json:"proposal_id"`
}

// PendingRestartFile is where PendingRestart lives in a state dir.
func PendingRestartFile(dir layout.StateDir) string {
	return filepath.Join(string(dir), "pending-restart.json")
}

// ErrNeedsEdit: the proposal asks for something only the operator can fill
// in (a credential); plain approval is refused.
var ErrNeedsEdit = errors.New("needs an edit")

// Plan computes the change approving p (in bottle slug) makes, with the
// operator's edit if any. Nothing is written.
func (a *Applier) Plan(slug string, p *queue.Proposal, e *Edit) (*Change, error) {
	dir := layout.StateDir(a.Paths.StateDir(slug))
	md, err := state.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("bottle %s: reading its metadata: %w (is the bottle still known? see claude-bottle list)", slug, err)
	}
	ch := &Change{Slug: slug, Proposal: p, Edited: e != nil}
	if e != nil {
		ch.Notes = e.Notes
	}
	switch p.Kind {
	case queue.KindEgress:
		err = a.planRoute(ch, dir, md, p, e)
	case queue.KindPipelock:
		err = a.planHosts(ch, dir, md, p, e)
	case queue.KindCapability:
		err = a.planCapability(ch, dir, md, p, e)
	default:
		err = fmt.Errorf("proposal %s: kind %q cannot be applied", p.ID, p.Kind)
	}
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// readJSONFile returns the file's bytes ("" when missing).
func readFile(path string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

func marshal(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

// routeDefault is the route plain approval makes: the agent's request merged
// into an existing route for the host (paths unioned, existing credential
// kept). It is also what the edit document starts from.
func routeDefault(p *queue.Proposal, cur *sidecarconfig.Routes, md *state.Metadata) RouteEdit {
	r := RouteEdit{Host: strings.ToLower(p.Route.Host), PathAllowlist: slices.Clone(p.Route.PathAllowlist)}
	for _, rt := range cur.Routes {
		if !strings.EqualFold(rt.Host, r.Host) {
			continue
		}
		if len(rt.PathAllowlist) == 0 || len(r.PathAllowlist) == 0 {
			r.PathAllowlist = nil
		} else {
			for _, x := range rt.PathAllowlist {
				if !slices.Contains(r.PathAllowlist, x) {
					r.PathAllowlist = append(r.PathAllowlist, x)
				}
			}
			slices.Sort(r.PathAllowlist)
		}
		if rt.Auth != nil {
			r.Auth = &AuthEdit{Scheme: rt.Auth.Scheme, TokenRef: md.TokenRefs[rt.Auth.TokenSlot]}
		}
	}
	if r.Auth == nil && p.Route.Auth != nil {
		scheme := p.Route.Auth.Scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		// token_ref left empty: the operator must choose it.
		r.Auth = &AuthEdit{Scheme: scheme}
	}
	return r
}

// EditDocument is the JSON the operator edits in $EDITOR for p.
func (a *Applier) EditDocument(slug string, p *queue.Proposal) (string, error) {
	switch p.Kind {
	case queue.KindEgress:
		dir := layout.StateDir(a.Paths.StateDir(slug))
		md, err := state.Read(dir)
		if err != nil {
			return "", fmt.Errorf("bottle %s: %w", slug, err)
		}
		cur, err := loadRoutes(dir)
		if err != nil {
			return "", err
		}
		r := routeDefault(p, cur, md)
		refs := tokenRefs(md)
		return marshal(editDoc{
			Help: []string{
				"Edit the route, then save and quit to approve it (an empty file cancels).",
				"route.auth.token_ref names a HOST environment variable holding the credential; delete route.auth for none.",
				"token_refs this bottle already has (live at once): " + orNone(refs),
				"any other token_ref only goes live after the bottle restarts.",
				"notes are sent to the agent.",
			},
			Request: p.Route, Route: &r, Notes: ""}), nil
	case queue.KindPipelock:
		return marshal(editDoc{
			Help:  []string{"Edit the hosts to add to the firewall allowlist, then save and quit to approve (an empty file cancels). notes are sent to the agent."},
			Hosts: p.Hosts, Notes: ""}), nil
	case queue.KindCapability:
		return p.Dockerfile, nil
	}
	return "", fmt.Errorf("kind %q cannot be edited", p.Kind)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func tokenRefs(md *state.Metadata) []string {
	var refs []string
	for _, r := range md.TokenRefs {
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	slices.Sort(refs)
	return refs
}

// editDoc is the operator's edit document.
type editDoc struct {
	Help    []string            `json:"help,omitempty"`
	Request *queue.RouteRequest `json:"agent_request,omitempty"`
	Route   *RouteEdit          `json:"route,omitempty"`
	Hosts   []string            `json:"hosts,omitempty"`
	Notes   string              `json:"notes"`
}

// ErrCancelled: the operator emptied the edit document.
var ErrCancelled = errors.New("edit cancelled (empty document)")

// ParseEdit reads the operator's edit document for a proposal of kind.
func ParseEdit(kind, name string, data []byte) (*Edit, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, ErrCancelled
	}
	if kind == queue.KindCapability {
		s := string(data)
		if err := queue.ValidateDockerfile(s); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return &Edit{Dockerfile: &s}, nil
	}
	var d editDoc
	if err := fileio.DecodeJSON(name, data, &d); err != nil {
		return nil, err
	}
	e := &Edit{Notes: strings.TrimSpace(d.Notes)}
	switch kind {
	case queue.KindEgress:
		if d.Route == nil {
			return nil, fmt.Errorf("%s: route: must be set (empty the whole file to cancel)", name)
		}
		rr := queue.RouteRequest{Host: d.Route.Host, PathAllowlist: d.Route.PathAllowlist}
		if err := rr.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if au := d.Route.Auth; au != nil {
			if au.Scheme == "" || strings.ContainsAny(au.Scheme, " \t\r\n") {
				return nil, fmt.Errorf("%s: route.auth.scheme: %q must be one word such as Bearer", name, au.Scheme)
			}
			if !envName.MatchString(au.TokenRef) {
				return nil, fmt.Errorf("%s: route.auth.token_ref: %q must name a host environment variable such as GH_PAT (or delete route.auth)", name, au.TokenRef)
			}
		}
		d.Route.Host = strings.ToLower(d.Route.Host)
		e.Route = d.Route
	case queue.KindPipelock:
		if err := queue.ValidateHosts(d.Hosts); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		e.Hosts = d.Hosts
	default:
		return nil, fmt.Errorf("%s: kind %q cannot be edited", name, kind)
	}
	return e, nil
}

func loadRoutes(dir layout.StateDir) (*sidecarconfig.Routes, error) {
	r, err := sidecarconfig.LoadRoutes(dir.RoutesFile())
	if errors.Is(err, os.ErrNotExist) {
		return &sidecarconfig.Routes{Routes: []sidecarconfig.Route{}}, nil
	}
	return r, err
}

func loadPipelock(dir layout.StateDir) (*sidecarconfig.Pipelock, error) {
	return sidecarconfig.LoadPipelock(dir.PipelockFile())
}

func (a *Applier) planRoute(ch *Change, dir layout.StateDir, md *state.Metadata, p *queue.Proposal, e *Edit) error {
	cur, err := loadRoutes(dir)
	if err != nil {
		return err
	}
	var r RouteEdit
	if e != nil && e.Route != nil {
		r = *e.Route
	} else {
		r = routeDefault(p, cur, md)
		if r.Auth != nil && r.Auth.TokenRef == "" {
			return fmt.Errorf("proposal %s asks for a credential on %s: press e to choose its token_ref (a host variable), or to delete auth and approve without one: %w", p.ID, r.Host, ErrNeedsEdit)
		}
	}
	ch.Applied = describeRoute(r)

	// Where can the route go? Live only if the bottle runs egress and
	// the credential (if any) already has a token slot in it.
	// routes.json exists in every state dir; the egress CA only where the
	// bottle runs egress (in the bundle, ReloadTarget cannot tell).
	_, hasRoutes, err := readFile(dir.RoutesFile())
	if err != nil {
		return err
	}
	_, caErr := os.Stat(filepath.Join(dir.EgressCA(), layout.CACertFileName))
	_, egressErr := md.ReloadTarget(layout.DaemonEgress)
	slot := ""
	var reasons []string
	if !hasRoutes || caErr != nil || egressErr != nil {
		reasons = append(reasons, "this bottle runs no egress proxy")
	}
	if r.Auth != nil {
		for s, ref := range md.TokenRefs {
			if ref == r.Auth.TokenRef {
				slot = s
			}
		}
		if slot == "" {
			reasons = append(reasons, fmt.Sprintf("token_ref %s has no token slot in this bottle", r.Auth.TokenRef))
		}
	}
	if len(reasons) > 0 {
		ch.RestartRequired = true
		ch.Warnings = append(ch.Warnings, fmt.Sprintf("RESTART REQUIRED: %s, so the route to %s goes live only after the bottle restarts (claude-bottle stop %s, then start it again); it is recorded in %s", strings.Join(reasons, " and "), r.Host, ch.Slug, PendingRestartFile(dir)))
		ch.Applied += " (after a restart of the bottle)"
		return planPendingRestart(ch, dir, p, r)
	}

	next := &sidecarconfig.Routes{Routes: []sidecarconfig.Route{}}
	replaced := false
	nr := sidecarconfig.Route{Host: r.Host, PathAllowlist: r.PathAllowlist}
	if r.Auth != nil {
		nr.Auth = &sidecarconfig.Auth{Scheme: r.Auth.Scheme, TokenSlot: slot}
	}
	for _, rt := range cur.Routes {
		if strings.EqualFold(rt.Host, r.Host) {
			next.Routes = append(next.Routes, nr)
			replaced = true
		} else {
			next.Routes = append(next.Routes, rt)
		}
	}
	if !replaced {
		next.Routes = append(next.Routes, nr)
	}
	if err := next.Validate(); err != nil {
		return fmt.Errorf("the new routes would be invalid: %w", err)
	}

	pl, err := loadPipelock(dir)
	if err != nil {
		return fmt.Errorf("bottle %s: %w", ch.Slug, err)
	}
	plNext := clonePipelock(pl)
	addHosts(plNext, []string{r.Host})
	if nr.Auth != nil {
		if w := addInjectedCredential(plNext, cur, nr); w != "" {
			ch.Warnings = append(ch.Warnings, w)
		}
	}
	if err := plNext.Validate(); err != nil {
		return fmt.Errorf("the new pipelock config would be invalid: %w", err)
	}
	if err := a.addJSONChange(ch, md, dir.PipelockFile(), pl, plNext, layout.DaemonPipelock); err != nil {
		return err
	}
	return a.addJSONChange(ch, md, dir.RoutesFile(), cur, next, layout.DaemonEgress)
}

// addInjectedCredential lets pipelock pass the credential egress will inject
// on the new route: another route with the same slot and scheme already has
// its hash; copy it for the new host. Without one the operator is warned.
func addInjectedCredential(pl *sidecarconfig.Pipelock, cur *sidecarconfig.Routes, nr sidecarconfig.Route) string {
	for _, ic := range pl.InjectedCredentials {
		if strings.EqualFold(ic.Host, nr.Host) {
			return ""
		}
	}
	for _, rt := range cur.Routes {
		if rt.Auth == nil || rt.Auth.TokenSlot != nr.Auth.TokenSlot || rt.Auth.Scheme != nr.Auth.Scheme || rt.Auth.HeaderName() != nr.Auth.HeaderName() {
			continue
		}
		for _, ic := range pl.InjectedCredentials {
			if strings.EqualFold(ic.Host, rt.Host) && strings.EqualFold(ic.Header, rt.Auth.HeaderName()) {
				pl.InjectedCredentials = append(pl.InjectedCredentials, sidecarconfig.InjectedCredential{Host: nr.Host, Header: ic.Header, SHA256: ic.SHA256})
				return ""
			}
		}
	}
	return fmt.Sprintf("pipelock has no hash of the %s credential (%s) for %s: its DLP may block the injected header until the bottle restarts", nr.Auth.Scheme, nr.Auth.TokenSlot, nr.Host)
}

func planPendingRestart(ch *Change, dir layout.StateDir, p *queue.Proposal, r RouteEdit) error {
	path := PendingRestartFile(dir)
	before, _, err := readFile(path)
	if err != nil {
		return err
	}
	var pr PendingRestart
	if before != "" {
		if err := fileio.DecodeJSON(path, []byte(before), &pr); err != nil {
			return err
		}
	}
	pr.Routes = append(pr.Routes, PendingRoute{Host: r.Host, PathAllowlist: r.PathAllowlist, Auth: r.Auth, ProposalID: p.ID})
	ch.Files = append(ch.Files, FileChange{Path: path, Before: before, After: marshal(pr), Mode: 0o644, existed: before != ""})
	return nil
}

func (a *Applier) planHosts(ch *Change, dir layout.StateDir, md *state.Metadata, p *queue.Proposal, e *Edit) error {
	hosts := p.Hosts
	if e != nil && e.Hosts != nil {
		hosts = e.Hosts
	}
	pl, err := loadPipelock(dir)
	if err != nil {
		return fmt.Errorf("bottle %s: %w", ch.Slug, err)
	}
	next := clonePipelock(pl)
	added := addHosts(next, hosts)
	if err := next.Validate(); err != nil {
		return fmt.Errorf("the new pipelock config would be invalid: %w", err)
	}
	if len(added) == 0 {
		ch.Warnings = append(ch.Warnings, "every host is already allowed: nothing changes")
		ch.Applied = "no change: " + strings.Join(hosts, ", ") + " already allowed"
		return nil
	}
	ch.Applied = "firewall allowlist += " + strings.Join(added, ", ")
	return a.addJSONChange(ch, md, dir.PipelockFile(), pl, next, layout.DaemonPipelock)
}

func (a *Applier) addJSONChange(ch *Change, md *state.Metadata, path string, before, after any, daemon string) error {
	b, a2 := marshal(before), marshal(after)
	if b == a2 {
		return nil
	}
	old, existed, err := readFile(path)
	if err != nil {
		return err
	}
	if !existed {
		old = ""
	}
	ch.Files = append(ch.Files, FileChange{Path: path, Before: old, After: a2, Mode: 0o644, existed: existed})
	target, err := md.ReloadTarget(daemon)
	if err != nil {
		return err
	}
	if !slices.Contains(ch.Reload, target) {
		ch.Reload = append(ch.Reload, target)
	}
	return nil
}

func clonePipelock(p *sidecarconfig.Pipelock) *sidecarconfig.Pipelock {
	c := *p
	c.Allowlist = slices.Clone(p.Allowlist)
	c.InjectedCredentials = slices.Clone(p.InjectedCredentials)
	return &c
}

func addHosts(p *sidecarconfig.Pipelock, hosts []string) []string {
	var added []string
	for _, h := range hosts {
		h = strings.ToLower(h)
		if !slices.ContainsFunc(p.Allowlist, func(x string) bool { return strings.EqualFold(x, h) }) {
			p.Allowlist = append(p.Allowlist, h)
			added = append(added, h)
		}
	}
	return added
}

func describeRoute(r RouteEdit) string {
	s := "route " + r.Host
	if len(r.PathAllowlist) > 0 {
		s += " paths " + strings.Join(r.PathAllowlist, ",")
	} else {
		s += " (any path)"
	}
	if r.Auth != nil {
		s += " with a " + r.Auth.Scheme + " credential chosen by the operator"
	}
	return s
}

func (a *Applier) planCapability(ch *Change, dir layout.StateDir, md *state.Metadata, p *queue.Proposal, e *Edit) error {
	text := p.Dockerfile
	if e != nil && e.Dockerfile != nil {
		text = *e.Dockerfile
	}
	if md.BottleFile == "" {
		return fmt.Errorf("bottle %s: metadata.json has no bottle_file; cannot tell where its Dockerfile lives", ch.Slug)
	}
	raw, err := os.ReadFile(md.BottleFile)
	if err != nil {
		return fmt.Errorf("bottle %s: reading the bottle file: %w", ch.Slug, err)
	}
	fm, err := ParseBottleFrontmatter(md.BottleFile, raw)
	if err != nil {
		return err
	}
	target := fm.Dockerfile
	if target == "" {
		name := strings.TrimSuffix(filepath.Base(md.BottleFile), filepath.Ext(md.BottleFile))
		target = "./" + name + ".Dockerfile"
		newBottle, err := insertFrontmatterKey(md.BottleFile, raw, "dockerfile", target)
		if err != nil {
			return err
		}
		ch.Files = append(ch.Files, FileChange{Path: md.BottleFile, Before: string(raw), After: string(newBottle), Mode: 0o644, existed: true})
		if fm.Image != "" {
			ch.Warnings = append(ch.Warnings, fmt.Sprintf("%s also sets image: %s; the new dockerfile: key must win over it", md.BottleFile, fm.Image))
		}
	}
	path := target
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(md.BottleFile), path)
	}
	old, existed, err := readFile(path)
	if err != nil {
		return err
	}
	ch.Files = append(ch.Files, FileChange{Path: path, Before: old, After: text, Mode: 0o644, existed: existed})
	ch.TearDown = true
	ch.RestartRequired = true
	ch.Warnings = append(ch.Warnings, fmt.Sprintf("approving stops bottle %s (its state dir is kept): run claude-bottle resume %s to rebuild and restart it", ch.Slug, ch.Slug))
	ch.Applied = "new Dockerfile written to the bottle; the bottle is stopped and rebuilt when the operator resumes it"
	return nil
}

// Apply performs a planned approval. Files are written atomically; if a
// reload signal fails, the files are put back (and the daemons signalled
// again) so that nothing is half applied, and the proposal stays pending.
func (a *Applier) Apply(ctx context.Context, ch *Change) error {
	dir := layout.StateDir(a.Paths.StateDir(ch.Slug))
	unlock, err := lockBottle(dir)
	if err != nil {
		return err
	}
	defer unlock()
	// Two dashboards, or a file changed since the diff was shown: apply
	// only what the operator saw.
	if _, err := queue.ReadAnswer(a.Paths.QueueDir(ch.Slug), ch.Proposal.ID); err == nil {
		return fmt.Errorf("proposal %s was already answered (another dashboard?)", ch.Proposal.ID)
	}
	for _, f := range ch.Files {
		cur, existed, err := readFile(f.Path)
		if err != nil {
			return err
		}
		if cur != f.Before || existed != f.existed {
			return fmt.Errorf("%s changed since the diff was shown; nothing applied, review the proposal again", f.Path)
		}
	}
	if ch.TearDown {
		// Before anything: cleanup must not take the state dir away
		// while the bottle is down.
		if err := os.WriteFile(dir.Preserve(), []byte("kept for a rebuild after proposal "+ch.Proposal.ID+"\n"), 0o644); err != nil {
			return err
		}
	}
	var written []FileChange
	rollback := func() {
		for i := len(written) - 1; i >= 0; i-- {
			f := written[i]
			if f.existed {
				_ = fileio.WriteFileAtomic(f.Path, []byte(f.Before), f.Mode)
			} else {
				_ = os.Remove(f.Path)
			}
		}
	}
	for _, f := range ch.Files {
		if err := fileio.WriteFileAtomic(f.Path, []byte(f.After), f.Mode); err != nil {
			rollback()
			return fmt.Errorf("writing %s: %w (nothing applied)", f.Path, err)
		}
		written = append(written, f)
	}
	var signalled []string
	for _, c := range ch.Reload {
		if err := a.Signaller.Signal(ctx, c, "HUP"); err != nil {
			rollback()
			for _, s := range signalled {
				_ = a.Signaller.Signal(ctx, s, "HUP")
			}
			return fmt.Errorf("reloading %s: %w (config restored, nothing applied; is the bottle running?)", c, err)
		}
		signalled = append(signalled, c)
	}
	ans := &queue.Answer{ID: ch.Proposal.ID, Decision: ch.Decision(), Notes: ch.Notes, Applied: ch.Applied, RestartRequired: ch.RestartRequired, DecidedAt: a.now()}
	var tdErr error
	if ch.TearDown {
		// The answer first, so it is on disk for the agent after resume.
		if err := a.answer(ch.Slug, ans); err != nil {
			return err
		}
		md, err := state.Read(dir)
		switch {
		case err != nil:
			tdErr = err
		case a.TearDowner == nil:
			tdErr = errors.New("this Applier has no TearDowner")
		default:
			tdErr = a.TearDowner.Teardown(ctx, md.Project, dir)
		}
		auErr := a.audit(ch.Slug, ch.Proposal, ans, ch.Files, signalled, tdErr)
		if tdErr != nil {
			return fmt.Errorf("the Dockerfile is written, but stopping the bottle failed: %w; run claude-bottle stop %s, then claude-bottle resume %s", tdErr, ch.Slug, ch.Slug)
		}
		return auErr
	}
	if err := a.answer(ch.Slug, ans); err != nil {
		return err
	}
	return a.audit(ch.Slug, ch.Proposal, ans, ch.Files, signalled, nil)
}

// Reject answers p with the operator's reason; nothing else changes.
func (a *Applier) Reject(slug string, p *queue.Proposal, reason string) error {
	if unlock, err := lockBottle(layout.StateDir(a.Paths.StateDir(slug))); err == nil {
		defer unlock()
	} // a bottle whose state dir is gone can still have its proposals rejected
	ans := &queue.Answer{ID: p.ID, Decision: queue.Rejected, Notes: strings.TrimSpace(reason), DecidedAt: a.now()}
	if err := a.answer(slug, ans); err != nil {
		return err
	}
	return a.audit(slug, p, ans, nil, nil, nil)
}

func (a *Applier) answer(slug string, ans *queue.Answer) error {
	if err := queue.WriteAnswer(a.Paths.QueueDir(slug), ans); err != nil {
		return fmt.Errorf("answering proposal %s: %w", ans.ID, err)
	}
	return nil
}

// AuditEntry is one line of the state dir's audit.jsonl.
type AuditEntry struct {
	Time            time.Time     `json:"time"`
	Slug            string        `json:"slug"`
	ProposalID      string        `json:"proposal_id"`
	Kind            string        `json:"kind"`
	Justification   string        `json:"justification"`
	Decision        string        `json:"decision"`
	Operator        string        `json:"operator"`
	Notes           string        `json:"notes,omitempty"`
	Applied         string        `json:"applied,omitempty"`
	Changes         []AuditChange `json:"changes,omitempty"`
	Reloaded        []string      `json:"reloaded,omitempty"`
	RestartRequired bool          `json:"restart_required,omitempty"`
	Error           string        `json:"error,omitempty"`
}

// AuditChange is a file's content before and after.
type AuditChange struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// audit appends the decision to the state dir's audit log. Its failure is
// reported, not hidden, but it cannot undo a decision already answered.
func (a *Applier) audit(slug string, p *queue.Proposal, ans *queue.Answer, files []FileChange, reloaded []string, err error) error {
	e := AuditEntry{Time: ans.DecidedAt, Slug: slug, ProposalID: p.ID, Kind: p.Kind, Justification: p.Justification,
		Decision: ans.Decision, Operator: a.operator(), Notes: ans.Notes, Applied: ans.Applied, Reloaded: reloaded, RestartRequired: ans.RestartRequired}
	for _, f := range files {
		e.Changes = append(e.Changes, AuditChange{Path: f.Path, Before: f.Before, After: f.After})
	}
	if err != nil {
		e.Error = err.Error()
	}
	b, _ := json.Marshal(e)
	path := layout.StateDir(a.Paths.StateDir(slug)).AuditLog()
	f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if ferr != nil {
		return fmt.Errorf("proposal %s is answered (%s), but the audit log could not be written: %w", p.ID, ans.Decision, ferr)
	}
	defer f.Close()
	if _, werr := f.Write(append(b, '\n')); werr != nil {
		return fmt.Errorf("proposal %s is answered (%s), but the audit log could not be written: %w", p.ID, ans.Decision, werr)
	}
	return nil
}

// lockBottle serialises decisions on one bottle (several dashboards may
// run): an exclusive flock on <state dir>/.approve.lock.
func lockBottle(dir layout.StateDir) (func(), error) {
	f, err := os.OpenFile(filepath.Join(string(dir), ".approve.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking bottle state dir %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
