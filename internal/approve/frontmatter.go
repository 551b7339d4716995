package approve

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// BottleFrontmatter is the part of a bottle manifest approvals need. The
// manifest package owns the full format; this reads only two keys so that a
// capability approval knows where the bottle's Dockerfile lives.
type BottleFrontmatter struct {
	Dockerfile string
	Image      string
}

// splitFrontmatter returns the YAML between the opening "---" line and the
// closing one, and the offset of the closing line.
func splitFrontmatter(name string, data []byte) ([]byte, int, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !bytes.HasPrefix(data, []byte("---\n")) && !bytes.HasPrefix(data, []byte("---\r\n")) {
		return nil, 0, fmt.Errorf("%s: does not start with a --- frontmatter line", name)
	}
	start := bytes.IndexByte(data, '\n') + 1
	for off := start; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		line := data[off:]
		if end >= 0 {
			line = data[off : off+end]
		}
		if string(bytes.TrimRight(line, "\r \t")) == "---" {
			return data[start:off], off, nil
		}
		if end < 0 {
			break
		}
		off += end + 1
	}
	return nil, 0, fmt.Errorf("%s: frontmatter has no closing --- line", name)
}

// ParseBottleFrontmatter reads dockerfile: and image: from a bottle file.
func ParseBottleFrontmatter(name string, data []byte) (*BottleFrontmatter, error) {
	fm, _, err := splitFrontmatter(name, data)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(fm, &m); err != nil {
		return nil, fmt.Errorf("%s: frontmatter: %w", name, err)
	}
	var out BottleFrontmatter
	for key, dst := range map[string]*string{"dockerfile": &out.Dockerfile, "image": &out.Image} {
		v, ok := m[key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: key %q: %v must be a string", name, key, v)
		}
		*dst = s
	}
	return &out, nil
}

// insertFrontmatterKey adds "key: value" as the last frontmatter line,
// leaving every other byte of the file as it was.
func insertFrontmatterKey(name string, data []byte, key, value string) ([]byte, error) {
	bom := bytes.HasPrefix(data, []byte("\ufeff"))
	body := bytes.TrimPrefix(data, []byte("\ufeff"))
	_, closing, err := splitFrontmatter(name, body)
	if err != nil {
		return nil, err
	}
	v, _ := yaml.Marshal(value)
	line := key + ": " + string(bytes.TrimSpace(v)) + "\n"
	var out []byte
	if bom {
		out = append(out, "\ufeff"...)
	}
	out = append(out, body[:closing]...)
	out = append(out, line...)
	out = append(out, body[closing:]...)
	// Odd but valid YAML (indented first key, flow style) could make the
	// appended line mean something else: read it back before trusting it.
	if fm, err := ParseBottleFrontmatter(name, out); err != nil || (key == "dockerfile" && fm.Dockerfile != value) {
		return nil, fmt.Errorf("%s: cannot add %q to its frontmatter automatically; add the line by hand and approve again", name, strings.TrimSpace(line))
	}
	return out, nil
}
