package manifest

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Frontmatter is where a Markdown file's YAML frontmatter lies, as byte
// offsets into the file exactly as read (a BOM and CRLF line ends
// included), so that a caller can edit the file without touching any other
// byte (approve adds a dockerfile: key this way).
type Frontmatter struct {
	// YAML is data[Start:Close]: the frontmatter, line ends as in the file.
	YAML []byte
	// Start is the first byte after the opening "---" line; Close the
	// first byte of the closing "---" or "..." line; Body the first byte
	// after it (len(data) when the file ends there).
	Start, Close, Body int
}

// SplitFrontmatter finds the frontmatter of a Markdown file. The file must
// open with a line "---" (after an optional UTF-8 BOM) and the frontmatter
// ends at the next line that is exactly "---" or "..." (a CR before the
// line's LF is ignored). This is the one frontmatter reader: every other
// package that reads a bottle or agent file uses it.
func SplitFrontmatter(file string, data []byte) (Frontmatter, error) {
	off := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		off = 3
	}
	switch {
	case bytes.HasPrefix(data[off:], []byte("---\n")):
		off += 4
	case bytes.HasPrefix(data[off:], []byte("---\r\n")):
		off += 5
	default:
		return Frontmatter{}, &Error{File: file, Line: 1, Msg: "malformed frontmatter: the file must start with a line \"---\", then YAML, then a closing \"---\""}
	}
	start, line := off, 2
	for {
		end := bytes.IndexByte(data[off:], '\n')
		cur, next := data[off:], len(data)
		if end >= 0 {
			cur, next = bytes.TrimSuffix(data[off:off+end], []byte("\r")), off+end+1
		}
		if string(cur) == "---" || string(cur) == "..." {
			return Frontmatter{YAML: data[start:off], Start: start, Close: off, Body: next}, nil
		}
		if end < 0 {
			return Frontmatter{}, &Error{File: file, Line: line, Msg: "malformed frontmatter: no closing \"---\" line after the YAML"}
		}
		off = next
		line++
	}
}

// splitFrontmatter is SplitFrontmatter with CRLF line ends made LF, for
// parsing: the YAML, the line it starts on, and the body.
func splitFrontmatter(file string, data []byte) (front []byte, frontLine int, body string, err error) {
	fm, err := SplitFrontmatter(file, data)
	if err != nil {
		return nil, 0, "", err
	}
	lf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }
	return lf(fm.YAML), 2, string(lf(data[fm.Body:])), nil
}

// parseYAML parses the frontmatter into a mapping node. An empty
// frontmatter is an empty mapping.
func parseYAML(file string, front []byte, firstLine int) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(front, &doc); err != nil {
		return nil, &Error{File: file, Msg: "malformed frontmatter: " + shiftYAMLError(err.Error(), firstLine-1)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Line: firstLine}, nil
	}
	root := doc.Content[0]
	shiftLines(root, firstLine-1)
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: fmt.Sprintf("malformed frontmatter: expected a mapping of keys, found %s", kindName(root))}
	}
	return root, nil
}

// shiftLines makes node line numbers count from the top of the file, not
// the top of the frontmatter.
func shiftLines(n *yaml.Node, by int) {
	if n == nil {
		return
	}
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// shiftYAMLError rewrites "line N:" in a yaml error to the file's line.
func shiftYAMLError(msg string, by int) string {
	var out bytes.Buffer
	for i := 0; i < len(msg); {
		j := bytes.Index([]byte(msg[i:]), []byte("line "))
		if j < 0 {
			out.WriteString(msg[i:])
			break
		}
		out.WriteString(msg[i : i+j+5])
		i += j + 5
		n, k := 0, i
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' && k-i < 9 {
			n = n*10 + int(msg[k]-'0')
			k++
		}
		if k > i {
			fmt.Fprintf(&out, "%d", n+by)
			i = k
		}
	}
	return out.String()
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("the value %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an unknown node"
}
