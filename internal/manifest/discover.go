package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Finder locates manifests. Bottles come from Home only: a repository may
// supply agents but never bottles, because a cloned repo must not grant
// itself credentials or hosts.
type Finder struct {
	// Home is the claude-bottle home (~/.claude-bottle).
	Home string
	// Cwd is the work tree; its .claude-bottle/agents may supply agents.
	Cwd string
}

// Resolved is an agent with its bottle, plus warnings worth showing.
type Resolved struct {
	Agent    *Agent
	Bottle   *Bottle
	Warnings []string
}

func (f Finder) homeBottles() string { return filepath.Join(f.Home, "bottles") }
func (f Finder) homeAgents() string  { return filepath.Join(f.Home, "agents") }
func (f Finder) cwdRoot() string {
	if f.Cwd == "" {
		return ""
	}
	return filepath.Join(f.Cwd, ".claude-bottle")
}

// Warnings reports trust-boundary notes about the work tree: a bottles/
// folder under the cwd is ignored.
func (f Finder) Warnings() []string {
	root := f.cwdRoot()
	if root == "" || sameDir(root, f.Home) {
		return nil
	}
	dir := filepath.Join(root, "bottles")
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return []string{fmt.Sprintf("ignoring %s: bottles come only from %s (a repository must not grant itself credentials or hosts); move a bottle you trust there", dir, f.homeBottles())}
	}
	return nil
}

// LoadBottle reads ~/.claude-bottle/bottles/<name>.md.
func (f Finder) LoadBottle(name string) (*Bottle, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("bottle name %q must match [a-z][a-z0-9-]*", name)
	}
	file := filepath.Join(f.homeBottles(), name+".md")
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		msg := fmt.Sprintf("bottle %q not found: no file %s", name, file)
		if names, _ := listNames(f.homeBottles()); len(names) > 0 {
			msg += "; bottles here: " + strings.Join(names, ", ")
		} else {
			msg += "; run `claude-bottle init` to create an example"
		}
		if root := f.cwdRoot(); root != "" && !sameDir(root, f.Home) {
			if _, err := os.Stat(filepath.Join(root, "bottles", name+".md")); err == nil {
				msg += fmt.Sprintf(" (%s exists but bottles are never read from the work tree)", filepath.Join(root, "bottles", name+".md"))
			}
		}
		return nil, errors.New(msg)
	}
	if err != nil {
		return nil, err
	}
	return ParseBottle(name, file, data)
}

// LoadAgent reads an agent from home, else from the cwd. When both have it,
// home wins and a warning says so.
func (f Finder) LoadAgent(name string) (*Agent, []string, error) {
	if !ValidName(name) {
		return nil, nil, fmt.Errorf("agent name %q must match [a-z][a-z0-9-]*", name)
	}
	homeFile := filepath.Join(f.homeAgents(), name+".md")
	var cwdFile string
	if root := f.cwdRoot(); root != "" && !sameDir(root, f.Home) {
		cwdFile = filepath.Join(root, "agents", name+".md")
	}
	var warnings []string
	if data, err := os.ReadFile(homeFile); err == nil {
		if cwdFile != "" {
			if _, err := os.Stat(cwdFile); err == nil {
				warnings = append(warnings, fmt.Sprintf("agent %q is in both %s and %s; using the one in your home", name, homeFile, cwdFile))
			}
		}
		a, err := ParseAgent(name, homeFile, data)
		return a, warnings, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if cwdFile != "" {
		if data, err := os.ReadFile(cwdFile); err == nil {
			a, err := ParseAgent(name, cwdFile, data)
			if a != nil {
				a.FromCwd = true
			}
			return a, warnings, err
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
	}
	msg := fmt.Sprintf("agent %q not found in %s", name, f.homeAgents())
	if cwdFile != "" {
		msg += " or " + filepath.Dir(cwdFile)
	}
	if names, _ := f.ListAgents(); len(names) > 0 {
		msg += "; agents here: " + strings.Join(names, ", ")
	} else {
		msg += "; run `claude-bottle init` to create an example"
	}
	return nil, nil, errors.New(msg)
}

// Resolve loads an agent and the bottle it names.
func (f Finder) Resolve(agent string) (*Resolved, error) {
	a, warnings, err := f.LoadAgent(agent)
	if err != nil {
		return nil, err
	}
	b, err := f.LoadBottle(a.Bottle)
	if err != nil {
		return nil, fmt.Errorf("%s: key bottle: %w", a.File, err)
	}
	return &Resolved{Agent: a, Bottle: b, Warnings: append(f.Warnings(), warnings...)}, nil
}

// ListAgents names every agent in home and the cwd, sorted, once each.
func (f Finder) ListAgents() ([]string, error) {
	names, err := listNames(f.homeAgents())
	if err != nil {
		return nil, err
	}
	if root := f.cwdRoot(); root != "" && !sameDir(root, f.Home) {
		more, err := listNames(filepath.Join(root, "agents"))
		if err != nil {
			return nil, err
		}
		names = append(names, more...)
	}
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || names[i-1] != n {
			out = append(out, n)
		}
	}
	return out, nil
}

// ListBottles names every bottle in home, sorted.
func (f Finder) ListBottles() ([]string, error) { return listNames(f.homeBottles()) }

func listNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".md") {
			continue
		}
		if base := strings.TrimSuffix(n, ".md"); ValidName(base) {
			names = append(names, base)
		}
	}
	sort.Strings(names)
	return names, nil
}

func sameDir(a, b string) bool {
	ca, err1 := filepath.EvalSymlinks(a)
	cb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ca == cb
}
