package approve

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/claude-bottle/claude-bottle/internal/manifest"
)

// BottleFrontmatter is the part of a bottle manifest approvals need. The
// manifest package owns the format (and finds the frontmatter for this
// too); this reads only two keys so that a capability approval knows where
// the bottle's Dockerfile lives.
type BottleFrontmatter struct {
	Dockerfile string
	Image      string
}

// ParseBottleFrontmatter reads dockerfile: and image: from a bottle file.
func ParseBottleFrontmatter(name string, data []byte) (*BottleFrontmatter, error) {
	fm, err := manifest.SplitFrontmatter(name, data)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(fm.YAML, &m); err != nil {
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
	fm, err := manifest.SplitFrontmatter(name, data)
	if err != nil {
		return nil, err
	}
	v, _ := yaml.Marshal(value)
	line := key + ": " + string(bytes.TrimSpace(v)) + "\n"
	out := make([]byte, 0, len(data)+len(line))
	out = append(out, data[:fm.Close]...)
	out = append(out, line...)
	out = append(out, data[fm.Close:]...)
	// Odd but valid YAML (indented first key, flow style) could make the
	// appended line mean something else: read it back before trusting it.
	if fm, err := ParseBottleFrontmatter(name, out); err != nil || (key == "dockerfile" && fm.Dockerfile != value) {
		return nil, fmt.Errorf("%s: cannot add %q to its frontmatter automatically; add the line by hand and approve again", name, strings.TrimSpace(line))
	}
	return out, nil
}
