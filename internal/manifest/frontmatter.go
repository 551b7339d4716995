package manifest

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// splitFrontmatter splits a Markdown file into its YAML frontmatter and its
// body. The file must open with a line "---" and the frontmatter ends at the
// next line that is exactly "---" (or "..."). A leading UTF-8 BOM and CRLF
// line ends are accepted.
func splitFrontmatter(file string, data []byte) (front []byte, frontLine int, body string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(text, []byte("---\n")) && !bytes.Equal(bytes.TrimRight(text, "\n"), []byte("---")) {
		return nil, 0, "", &Error{File: file, Line: 1, Msg: "malformed frontmatter: the file must start with a line \"---\", then YAML, then a closing \"---\""}
	}
	var rest []byte
	if len(text) > 4 {
		rest = text[4:]
	}
	line := 2
	for off := 0; off <= len(rest); {
		end := bytes.IndexByte(rest[off:], '\n')
		var cur []byte
		next := len(rest) + 1
		if end >= 0 {
			cur = rest[off : off+end]
			next = off + end + 1
		} else {
			cur = rest[off:]
		}
		if string(cur) == "---" || string(cur) == "..." {
			front = rest[:off]
			if next <= len(rest) {
				body = string(rest[next:])
			}
			return front, 2, body, nil
		}
		if end < 0 {
			break
		}
		off = next
		line++
	}
	return nil, 0, "", &Error{File: file, Line: line, Msg: "malformed frontmatter: no closing \"---\" line after the YAML"}
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
