package approve

// Planning an approval: the files it rewrites and the daemons it reloads,
// shown to the operator as a diff before anything changes.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

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
