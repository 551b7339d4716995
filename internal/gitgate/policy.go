package gitgate

import (
	"fmt"
	"strings"
)

// Policy is one remote's push policy (gate.json: push_branches,
// allow_force_push, allow_delete).
type Policy struct {
	// PushBranches are globs. A pattern that starts with "refs/" matches a
	// full ref name (so "refs/tags/v*" admits tags); any other pattern
	// matches a branch name under refs/heads/. "*" matches any run of
	// characters, "/" included ("agent/*" admits "agent/a/b"); "?" matches
	// one character other than "/". Empty means every branch and no tags.
	PushBranches   []string `json:"push_branches,omitempty"`
	AllowForcePush bool     `json:"allow_force_push,omitempty"`
	AllowDelete    bool     `json:"allow_delete,omitempty"`
}

// RefAllowed reports whether the policy lets the agent push ref.
func (p Policy) RefAllowed(ref string) bool {
	branch, isBranch := strings.CutPrefix(ref, "refs/heads/")
	if len(p.PushBranches) == 0 {
		return isBranch
	}
	for _, pat := range p.PushBranches {
		if strings.HasPrefix(pat, "refs/") {
			if globMatch(pat, ref) {
				return true
			}
			continue
		}
		if isBranch && globMatch(pat, branch) {
			return true
		}
	}
	return false
}

// CheckStatic checks what can be decided from the update line alone: the
// ref against push_branches, and deletion. Fast-forwardness needs the
// objects and is checked by the hook.
func (p Policy) CheckStatic(u RefUpdate) error {
	if !p.RefAllowed(u.Ref) {
		if len(p.PushBranches) == 0 {
			return fmt.Errorf("%s: only branches (refs/heads/...) may be pushed through the gate", u.Ref)
		}
		return fmt.Errorf("%s: not allowed by push_branches %s; push to a branch matching one of them", u.Ref, quoteList(p.PushBranches))
	}
	if u.IsDelete() && !p.AllowDelete {
		return fmt.Errorf("%s: deleting refs is not allowed (allow_delete is false)", u.Ref)
	}
	return nil
}

// ValidatePattern rejects patterns that could never match a ref.
func ValidatePattern(pat string) error {
	if pat == "" {
		return fmt.Errorf("empty pattern")
	}
	if strings.ContainsAny(pat, " \t\r\n\x00") {
		return fmt.Errorf("%q contains whitespace", pat)
	}
	return nil
}

// globMatch matches name against pat where "*" matches any run (including
// "/") and "?" one non-"/" character. Iterative with single backtrack
// point, so it is linear-ish and cannot blow up on hostile patterns.
func globMatch(pat, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pat) && pat[p] == '*':
			star, mark = p, n
			p++
		case p < len(pat) && (pat[p] == name[n] || pat[p] == '?' && name[n] != '/'):
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
