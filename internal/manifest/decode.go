package manifest

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a manifest error: it names the file, the line, the key and what
// to do about it.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %s", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// decoder walks yaml nodes of one file, producing Errors that point at the
// file, line and dotted key path.
type decoder struct{ file string }

func (d decoder) errf(n *yaml.Node, key, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// mapping checks that n is a mapping whose keys are all in allowed (unknown
// keys get a "did you mean"), with no key given twice, and returns the
// value nodes by key in file order.
func (d decoder) mapping(n *yaml.Node, path string, allowed []string) ([]string, map[string]*yaml.Node, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, map[string]*yaml.Node{}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, d.errf(n, path, "expected a mapping, found %s", kindName(n))
	}
	var order []string
	vals := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, nil, d.errf(k, path, "keys must be plain words, found %s", kindName(k))
		}
		full := join(path, k.Value)
		if allowed != nil && !contains(allowed, k.Value) {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := suggest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += fmt.Sprintf("; known keys here: %s", strings.Join(sorted(allowed), ", "))
			}
			return nil, nil, d.errf(k, full, "%s", msg)
		}
		if _, dup := vals[k.Value]; dup {
			return nil, nil, d.errf(k, full, "is given twice; keep one")
		}
		order = append(order, k.Value)
		vals[k.Value] = v
	}
	return order, vals, nil
}

func (d decoder) str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", d.errf(n, path, "expected a text value, found %s", kindName(n))
	}
	if n.Tag == "!!binary" {
		return "", d.errf(n, path, "expected a text value, found binary data")
	}
	return n.Value, nil
}

func (d decoder) nonEmpty(n *yaml.Node, path string) (string, error) {
	s, err := d.str(n, path)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", d.errf(n, path, "must not be empty")
	}
	return s, nil
}

func (d decoder) boolean(n *yaml.Node, path string) (bool, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, d.errf(n, path, "expected true or false, found %s", kindName(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, d.errf(n, path, "expected true or false, found %q", n.Value)
	}
	return b, nil
}

func (d decoder) list(n *yaml.Node, path string) ([]*yaml.Node, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(n, path, "expected a list, found %s", kindName(n))
	}
	return n.Content, nil
}

func (d decoder) strList(n *yaml.Node, path string) ([]string, error) {
	items, err := d.list(n, path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := d.nonEmpty(it, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// suggest returns the allowed key closest to k when it is close enough to
// be a typo (edit distance at most a third of the key, at least 1... 2).
func suggest(k string, allowed []string) string {
	best, bestD := "", 1<<30
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(k), a); d < bestD {
			best, bestD = a, d
		}
	}
	limit := len(k) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD <= limit {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
