// Package queue is the file format shared by the supervise daemon (inside the
// bottle) and the operator's dashboard (on the host): one JSON file per
// proposal and one per answer, in the bottle's queue dir
// (~/.claude-bottle/queue/<slug>/ on the host, /run/supervise/queue inside).
//
// Files:
//
//	<id>.proposal.json  written once by the daemon when the agent asks
//	<id>.answer.json    written once by the dashboard when the operator decides
//
// A proposal without an answer is pending. Both files are written atomically
// (temp file + rename) so a reader never sees half a file, and both are kept
// after the decision: the queue is also the record of what the agent asked.
// Nothing else in the dir is ours; unknown files are ignored.
//
// The daemon's side is untrusted input for the host (the agent chooses every
// field of a proposal), so every read validates fully and the dashboard never
// takes an operator-controlled field (a credential) from a proposal.
package queue

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Kinds of proposal, one per supervise tool.
const (
	KindEgress     = "egress-route"       // tool egress-block
	KindPipelock   = "pipelock-allowlist" // tool pipelock-block
	KindCapability = "capability"         // tool capability-block
)

// Decisions an operator can take.
const (
	Approved = "approved" // applied as proposed
	Modified = "modified" // applied after the operator edited it
	Rejected = "rejected" // nothing applied
)

// Limits on what an agent may put in a proposal. They keep a hostile or
// confused agent from filling the operator's disk or screen.
const (
	MaxJustification = 4000
	MaxHosts         = 32
	MaxPaths         = 32
	MaxPathLen       = 512
	MaxDockerfile    = 64 << 10
	MaxFileBytes     = 256 << 10
)

const (
	proposalSuffix = ".proposal.json"
	answerSuffix   = ".answer.json"
)

// Proposal is one request of the agent.
type Proposal struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	Slug          string    `json:"slug,omitempty"` // as the daemon knows it; the host trusts the dir name
	CreatedAt     time.Time `json:"created_at"`
	Justification string    `json:"justification"`
	// Route is set for KindEgress.
	Route *RouteRequest `json:"route,omitempty"`
	// Hosts is set for KindPipelock.
	Hosts []string `json:"hosts,omitempty"`
	// Dockerfile is set for KindCapability: the whole new agent Dockerfile.
	Dockerfile string `json:"dockerfile,omitempty"`
}

// RouteRequest is the route the agent asks for. It carries no credential:
// Auth only records that the agent wants one and why; the operator picks the
// token_ref (a host variable) when approving.
type RouteRequest struct {
	Host          string       `json:"host"`
	PathAllowlist []string     `json:"path_allowlist,omitempty"`
	Auth          *AuthRequest `json:"auth,omitempty"`
}

// AuthRequest says the agent needs a credential on the route.
type AuthRequest struct {
	// Scheme the agent expects, e.g. Bearer (a hint; the operator decides).
	Scheme string `json:"scheme,omitempty"`
	// Description: which credential, e.g. "a GitHub token with repo:read".
	Description string `json:"description,omitempty"`
}

// Answer is the operator's decision on one proposal.
type Answer struct {
	ID        string    `json:"id"`
	Decision  string    `json:"decision"`
	Notes     string    `json:"notes,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
	// Applied describes what was actually changed, for the agent to read
	// (e.g. the final route, or "bottle torn down for a rebuild").
	Applied string `json:"applied,omitempty"`
	// RestartRequired: the change only takes effect after the bottle is
	// restarted (a new credential slot, a new image).
	RestartRequired bool `json:"restart_required,omitempty"`
}

// NewID returns a proposal id that sorts by creation time: UTC timestamp
// plus 6 random hex digits (two proposals in the same second differ).
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ValidID reports whether id has the shape NewID makes: it becomes a file
// name, so nothing else (no slash, no dot) is accepted.
func ValidID(id string) bool {
	if len(id) != len("20060102T150405Z-abcdef") || id[8] != 'T' || id[15] != 'Z' || id[16] != '-' {
		return false
	}
	for i, c := range id {
		switch {
		case i == 8 || i == 15 || i == 16:
		case i < 16 && c >= '0' && c <= '9':
		case i > 16 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f'):
		default:
			return false
		}
	}
	return true
}

// Validate checks a proposal; the error names the key and value at fault
// and says what to do.
func (p *Proposal) Validate() error {
	if !ValidID(p.ID) {
		return fmt.Errorf("id: %q is not a proposal id (like 20261127T120000Z-0a1b2c)", p.ID)
	}
	if p.CreatedAt.IsZero() {
		return errors.New("created_at: must be set")
	}
	j := strings.TrimSpace(p.Justification)
	if j == "" {
		return errors.New("justification: must say why the change is needed (what you were doing and what was blocked)")
	}
	if len(p.Justification) > MaxJustification {
		return fmt.Errorf("justification: %d bytes is over the limit of %d; be brief", len(p.Justification), MaxJustification)
	}
	set := 0
	if p.Route != nil {
		set++
	}
	if len(p.Hosts) > 0 {
		set++
	}
	if p.Dockerfile != "" {
		set++
	}
	if set > 1 {
		return fmt.Errorf("kind %q: only one of route, hosts, dockerfile may be set", p.Kind)
	}
	var err error
	switch p.Kind {
	case KindEgress:
		if p.Route == nil {
			return errors.New("route: must be set for an egress-route proposal")
		}
		err = p.Route.Validate()
	case KindPipelock:
		err = ValidateHosts(p.Hosts)
	case KindCapability:
		err = ValidateDockerfile(p.Dockerfile)
	default:
		return fmt.Errorf("kind: %q is not one of %s, %s, %s", p.Kind, KindEgress, KindPipelock, KindCapability)
	}
	if err != nil {
		return err
	}
	// Last: the bounds above are on decoded text, the file on its encoding.
	return checkEncodedSize(p)
}

// Validate checks a requested route.
func (r *RouteRequest) Validate() error {
	if err := sidecarconfig.ValidateHost(r.Host); err != nil {
		return fmt.Errorf("route.host: %w", err)
	}
	if len(r.PathAllowlist) > MaxPaths {
		return fmt.Errorf("route.path_allowlist: %d entries is over the limit of %d; use shorter prefixes", len(r.PathAllowlist), MaxPaths)
	}
	for i, p := range r.PathAllowlist {
		if err := ValidatePath(p); err != nil {
			return fmt.Errorf("route.path_allowlist[%d]: %w", i, err)
		}
	}
	if r.Auth != nil {
		if s := r.Auth.Scheme; s != "" && (len(s) > 32 || strings.ContainsAny(s, " \t\r\n") || !printable(s)) {
			return fmt.Errorf("route.auth.scheme: %q must be one word such as Bearer", s)
		}
		if len(r.Auth.Description) > 500 || !printable(strings.ReplaceAll(r.Auth.Description, "\n", " ")) {
			return errors.New("route.auth.description: must be printable text under 500 bytes")
		}
	}
	return nil
}

// ValidatePath checks one path prefix of a route.
func ValidatePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must start with /", p)
	}
	if len(p) > MaxPathLen {
		return fmt.Errorf("%q is longer than %d bytes", p[:40]+"...", MaxPathLen)
	}
	if strings.ContainsAny(p, "?# \t\r\n") || !printable(p) {
		return fmt.Errorf("%q must be a plain path prefix (no query, fragment, blanks or control characters)", p)
	}
	return nil
}

// ValidateHosts checks the hosts of a pipelock proposal.
func ValidateHosts(hosts []string) error {
	if len(hosts) == 0 {
		return errors.New("hosts: must list at least one host name")
	}
	if len(hosts) > MaxHosts {
		return fmt.Errorf("hosts: %d entries is over the limit of %d", len(hosts), MaxHosts)
	}
	seen := map[string]bool{}
	for i, h := range hosts {
		if err := sidecarconfig.ValidateHost(h); err != nil {
			return fmt.Errorf("hosts[%d]: %w", i, err)
		}
		if seen[strings.ToLower(h)] {
			return fmt.Errorf("hosts[%d]: %q is listed twice", i, h)
		}
		seen[strings.ToLower(h)] = true
	}
	return nil
}

// ValidateDockerfile checks a proposed agent Dockerfile. It must stay an
// ordinary Dockerfile the legacy builder accepts (DESIGN §6).
func ValidateDockerfile(d string) error {
	if strings.TrimSpace(d) == "" {
		return errors.New("dockerfile: must hold the whole new Dockerfile")
	}
	if len(d) > MaxDockerfile {
		return fmt.Errorf("dockerfile: %d bytes is over the limit of %d", len(d), MaxDockerfile)
	}
	if strings.ContainsRune(d, 0) {
		return errors.New("dockerfile: contains a NUL byte")
	}
	hasFrom := false
	for i, line := range strings.Split(d, "\n") {
		t := strings.TrimSpace(line)
		low := strings.ToLower(t)
		if strings.HasPrefix(low, "# syntax=") || strings.HasPrefix(low, "#syntax=") {
			return fmt.Errorf("dockerfile line %d: %q: no # syntax= lines (it makes BuildKit pull a frontend image); remove it", i+1, t)
		}
		if strings.HasPrefix(low, "from ") {
			hasFrom = true
		}
	}
	if !hasFrom {
		return errors.New("dockerfile: has no FROM line; give the whole Dockerfile, not a fragment")
	}
	return nil
}

// ValidateAnswer checks an answer.
func (a *Answer) Validate() error {
	if !ValidID(a.ID) {
		return fmt.Errorf("id: %q is not a proposal id", a.ID)
	}
	switch a.Decision {
	case Approved, Modified, Rejected:
	default:
		return fmt.Errorf("decision: %q is not one of approved, modified, rejected", a.Decision)
	}
	if a.DecidedAt.IsZero() {
		return errors.New("decided_at: must be set")
	}
	return nil
}

func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// Fingerprint identifies a proposal's content (kind and request, not id,
// time or justification): an agent that retries the same request after a
// client timeout gets the pending proposal back instead of a duplicate.
func (p *Proposal) Fingerprint() string {
	b, _ := json.Marshal(struct {
		K string
		R *RouteRequest
		H []string
		D string
	}{p.Kind, p.Route, p.Hosts, p.Dockerfile})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ProposalPath and AnswerPath name the files of proposal id in dir.
func ProposalPath(dir, id string) string { return filepath.Join(dir, id+proposalSuffix) }
func AnswerPath(dir, id string) string   { return filepath.Join(dir, id+answerSuffix) }

// ParseProposal decodes and validates a proposal file's bytes.
func ParseProposal(name string, data []byte) (*Proposal, error) {
	var p Proposal
	if err := fileio.DecodeJSON(name, data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}

// ParseAnswer decodes and validates an answer file's bytes.
func ParseAnswer(name string, data []byte) (*Answer, error) {
	var a Answer
	if err := fileio.DecodeJSON(name, data, &a); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &a, nil
}

// WriteProposal validates p and writes it atomically into dir, with no
// budget check: supervise uses Enqueue.
func WriteProposal(dir string, p *Proposal) error {
	if err := p.Validate(); err != nil {
		return err
	}
	data, err := encode(p)
	if err != nil {
		return err
	}
	return fileio.WriteFileAtomic(ProposalPath(dir, p.ID), data, 0o644)
}

// WriteAnswer validates a and writes it atomically into dir. A proposal is
// answered once: a second answer is refused so two dashboards cannot both
// decide (the loser gets the error and rescans).
func WriteAnswer(dir string, a *Answer) error {
	if err := a.Validate(); err != nil {
		return err
	}
	path := AnswerPath(dir, a.ID)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s: proposal %s is already answered", path, a.ID)
	}
	return fileio.WriteJSON(path, a, 0o644)
}

// ReadProposal reads proposal id from dir.
func ReadProposal(dir, id string) (*Proposal, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("id: %q is not a proposal id (like 20261127T120000Z-0a1b2c)", id)
	}
	return readProposalFile(ProposalPath(dir, id))
}

func readProposalFile(path string) (*Proposal, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	return ParseProposal(path, data)
}

// ReadAnswer reads the answer to id from dir; os.ErrNotExist (wrapped) when
// the operator has not decided yet.
func ReadAnswer(dir, id string) (*Answer, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("id: %q is not a proposal id", id)
	}
	path := AnswerPath(dir, id)
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	a, err := ParseAnswer(path, data)
	if err != nil {
		return nil, err
	}
	if a.ID != id {
		return nil, fmt.Errorf("%s: id %q does not match the file name", path, a.ID)
	}
	return a, nil
}

func readCapped(path string) ([]byte, error) {
	// The queue dir is writable from inside the bottle: never follow a
	// symlink planted there to a file of the host.
	if st, err := os.Lstat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (symlinks are refused)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes is over the limit of %d", path, st.Size(), MaxFileBytes)
	}
	return io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
}

// Entry is one proposal found in a queue dir, with its answer if any.
type Entry struct {
	Slug     string    `json:"slug"`
	Dir      string    `json:"dir"`
	Proposal *Proposal `json:"proposal"`
	Answer   *Answer   `json:"answer,omitempty"`
}

// Problem is a file that could not be read; listed so the operator sees it
// instead of the proposal silently vanishing.
type Problem struct {
	Path string `json:"path"`
	Err  string `json:"error"`
}

// List returns every proposal in dir (oldest first) with its answer.
func List(dir, slug string) ([]Entry, []Problem, error) {
	return list(dir, slug, false)
}

// listPending is List without the answered proposals, which it does not
// even read: a long session accumulates them and the dashboard rescans
// every second.
func listPending(dir, slug string) ([]Entry, []Problem, error) {
	return list(dir, slug, true)
}

func list(dir, slug string, pendingOnly bool) ([]Entry, []Problem, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	answered := map[string]bool{}
	for _, de := range names {
		if n := de.Name(); strings.HasSuffix(n, answerSuffix) {
			answered[strings.TrimSuffix(n, answerSuffix)] = true
		}
	}
	var out []Entry
	var probs []Problem
	for _, de := range names {
		name := de.Name()
		if !strings.HasSuffix(name, proposalSuffix) || strings.HasPrefix(name, ".") {
			continue
		}
		id := strings.TrimSuffix(name, proposalSuffix)
		if pendingOnly && answered[id] {
			continue
		}
		path := filepath.Join(dir, name)
		if !ValidID(id) {
			probs = append(probs, Problem{path, "file name is not <proposal id>.proposal.json"})
			continue
		}
		p, err := readProposalFile(path)
		if err != nil {
			probs = append(probs, Problem{path, err.Error()})
			continue
		}
		if p.ID != id {
			probs = append(probs, Problem{path, fmt.Sprintf("id %q does not match the file name", p.ID)})
			continue
		}
		e := Entry{Slug: slug, Dir: dir, Proposal: p}
		if !answered[id] {
			out = append(out, e)
			continue
		}
		a, err := ReadAnswer(dir, id)
		switch {
		case err == nil:
			e.Answer = a
		case errors.Is(err, os.ErrNotExist):
		default:
			probs = append(probs, Problem{AnswerPath(dir, id), err.Error()})
			continue
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, probs, nil
}

// Pending scans every bottle's queue under root (layout.Paths.QueueRoot())
// and returns the unanswered proposals, oldest first. A missing root is no
// proposals, not an error.
func Pending(root string) ([]Entry, []Problem, error) {
	dirs, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var out []Entry
	var probs []Problem
	for _, d := range dirs {
		if !d.IsDir() || !sidecarconfig.ValidName(d.Name()) {
			continue
		}
		entries, p, err := listPending(filepath.Join(root, d.Name()), d.Name())
		if err != nil {
			probs = append(probs, Problem{filepath.Join(root, d.Name()), err.Error()})
			continue
		}
		probs = append(probs, p...)
		out = append(out, entries...)
	}
	sortEntries(out)
	return out, probs, nil
}

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Proposal, es[j].Proposal
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return es[i].Slug < es[j].Slug
	})
}
