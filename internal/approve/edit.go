package approve

// The edit document: what the operator changes in $EDITOR before approving.

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/queue"
	"github.com/claude-bottle/claude-bottle/internal/state"
)

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
