package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
)

// Budgets on what an agent can make supervise write into the operator's
// home. Every proposal costs disk the agent does not pay for, and the
// client can drop each call at once, so they are hard limits checked
// under one lock with the write (docs/DESIGN.md, "Supervise budgets").
const (
	// MaxPending: unanswered proposal files of one bottle, whatever their
	// state (unreadable, oversized or misnamed ones included: nobody can
	// answer those, so they hold their slot until removed).
	MaxPending = 20
	// MaxDirBytes caps one bottle's queue dir on disk: every file, each
	// rounded up to whole 4 KiB blocks, plus room for an answer to every
	// pending proposal.
	MaxDirBytes = 8 << 20
	// MaxHostBytes caps every queue under the queue root together. A
	// bottle with supervise starts only if the queues already there, each
	// running one counted at MaxDirBytes (it may still grow that far), leave
	// room for one more full queue.
	MaxHostBytes = 128 << 20

	blockBytes    = 4 << 10
	answerReserve = 16 << 10 // disk held back per pending proposal for its answer
)

const (
	lockName = ".lock" // flock: Enqueue's check and write are one step
	liveName = ".live" // flock held by the running daemon for its life
)

// BudgetError is a refusal because a budget is spent. Its text is meant for
// the agent: what is full and what to do.
type BudgetError struct{ Msg string }

func (e *BudgetError) Error() string { return e.Msg }

// encode is the one encoding of a proposal file (the bytes WriteJSON writes).
func encode(p *Proposal) ([]byte, error) {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// checkEncodedSize refuses a proposal whose file would be over
// MaxFileBytes: JSON writes <, >, & and control characters as 6-byte
// escapes, so a 64 KiB Dockerfile can encode to ~390 KB.
func checkEncodedSize(p *Proposal) error {
	data, err := encode(p)
	if err != nil {
		return err
	}
	if len(data) > MaxFileBytes {
		return &BudgetError{fmt.Sprintf("proposal: its file would be %d bytes, over the limit of %d (JSON writes <, >, & and control characters as 6 bytes each); shorten the dockerfile or justification", len(data), MaxFileBytes)}
	}
	return nil
}

// Usage is what a queue dir holds.
type Usage struct {
	Bytes   int64 // on disk: every entry rounded up to whole blocks
	Pending int   // *.proposal.json files without an answer file
}

func charge(size int64) int64 {
	if size <= 0 {
		return blockBytes
	}
	return (size + blockBytes - 1) / blockBytes * blockBytes
}

// usage measures dir; dups (if not nil) receives the fingerprint of every
// readable pending proposal and its id.
func usage(dir string, dups map[string]string) (Usage, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	answered := map[string]bool{}
	for _, de := range names {
		if n := de.Name(); strings.HasSuffix(n, answerSuffix) {
			answered[strings.TrimSuffix(n, answerSuffix)] = true
		}
	}
	for _, de := range names {
		name := de.Name()
		if info, err := de.Info(); err == nil {
			u.Bytes += charge(info.Size())
		} else {
			u.Bytes += blockBytes
		}
		if !strings.HasSuffix(name, proposalSuffix) {
			continue
		}
		id := strings.TrimSuffix(name, proposalSuffix)
		if answered[id] {
			continue
		}
		u.Pending++
		if dups != nil && ValidID(id) {
			if p, err := readProposalFile(filepath.Join(dir, name)); err == nil && p.ID == id {
				dups[p.Fingerprint()] = id
			}
		}
	}
	return u, nil
}

// DirUsage measures a queue dir.
func DirUsage(dir string) (Usage, error) { return usage(dir, nil) }

// Enqueue validates p and writes it into dir, unless a pending proposal
// with the same content is there already: then it returns that one's id
// and writes nothing. The budget checks and the write happen under an
// exclusive flock on dir/.lock, so concurrent callers cannot all pass the
// check and then all write. A spent budget is a *BudgetError.
func Enqueue(dir string, p *Proposal) (dup string, err error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	data, err := encode(p)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("queue dir %s: %w", dir, err)
	}
	unlock, err := lockFile(filepath.Join(dir, lockName), syscall.LOCK_EX)
	if err != nil {
		return "", err
	}
	defer unlock()
	dups := map[string]string{}
	u, err := usage(dir, dups)
	if err != nil {
		return "", fmt.Errorf("queue dir %s: %w", dir, err)
	}
	if id, ok := dups[p.Fingerprint()]; ok {
		return id, nil
	}
	if u.Pending >= MaxPending {
		return "", &BudgetError{fmt.Sprintf("%d proposals of this bottle already wait for the operator (the limit is %d); call wait-for-decision on them instead of asking again", u.Pending, MaxPending)}
	}
	after := u.Bytes + charge(int64(len(data))) + int64(u.Pending+1)*answerReserve
	if after > MaxDirBytes {
		return "", &BudgetError{fmt.Sprintf("this bottle's proposal queue is full (%d of %d bytes on the operator's disk); no more proposals can be queued until the operator clears it. Do without, or finish and say what you needed", u.Bytes, MaxDirBytes)}
	}
	if err := fileio.WriteFileAtomic(ProposalPath(dir, p.ID), data, 0o644); err != nil {
		return "", fmt.Errorf("queueing the proposal in %s: %w", dir, err)
	}
	return "", nil
}

// HoldLive marks dir as the queue of a running daemon until release: the
// host's budget check counts such a queue at its full MaxDirBytes.
func HoldLive(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("queue dir %s: %w", dir, err)
	}
	return lockFile(filepath.Join(dir, liveName), syscall.LOCK_SH)
}

// isLive reports whether a daemon holds dir/.live.
func isLive(dir string) bool {
	f, err := os.Open(filepath.Join(dir, liveName))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// CheckHostRoom is the host's check before a bottle with supervise starts
// with its queue at dir under root: every queue under root, a live one
// (and dir itself) counted at MaxDirBytes or more, must fit MaxHostBytes.
// The error lists the largest queues so the operator can remove old ones.
func CheckHostRoom(root, dir string) error {
	des, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	type q struct {
		path  string
		bytes int64
	}
	var qs []q
	var total int64
	self := filepath.Clean(dir)
	counted := false
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		path := filepath.Join(root, de.Name())
		u, err := DirUsage(path)
		if err != nil {
			continue
		}
		n := u.Bytes
		if (filepath.Clean(path) == self || isLive(path)) && n < MaxDirBytes {
			n = MaxDirBytes
		}
		if filepath.Clean(path) == self {
			counted = true
		}
		total += n
		qs = append(qs, q{path, u.Bytes})
	}
	if !counted {
		total += MaxDirBytes
	}
	if total <= MaxHostBytes {
		return nil
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].bytes > qs[j].bytes })
	var list []string
	for i, x := range qs {
		if i == 5 {
			break
		}
		list = append(list, fmt.Sprintf("%s (%d bytes)", x.path, x.bytes))
	}
	return fmt.Errorf("proposal queues under %s would exceed %d bytes with this bottle's (each running bottle's queue counts as %d); remove the queue dirs of finished bottles (largest: %s)", root, MaxHostBytes, MaxDirBytes, strings.Join(list, ", "))
}

func lockFile(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("queue lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("queue lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
