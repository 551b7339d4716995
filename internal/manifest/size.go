package manifest

import (
	"errors"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// sizeUnits are the suffixes ParseSize takes, case-insensitive.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"b", 1},
}

// ParseSize reads a byte count: a whole number with an optional unit
// ("104857600", "100MiB", "100 MB", "2GiB"). It refuses zero, negatives,
// fractions and values over 1 TiB.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	if t == "" || strings.TrimLeft(t, "0123456789") != "" {
		return 0, errors.New("not a whole number of bytes with an optional unit (B, KiB, MiB, GiB, KB, MB, GB)")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > (1<<40)/mult {
		return 0, errors.New("over 1 TiB")
	}
	if n == 0 {
		return 0, errors.New("zero: leave the key out for no cap")
	}
	return n * mult, nil
}

// maxUpload reads egress.max_upload: the cap on one request body
// (pipelock's max_body_bytes). Absent: no cap, bodies stream, scanned.
func (d decoder) maxUpload(n *yaml.Node) (int64, error) {
	_, f, err := d.mapping(n, "egress", egressKeys)
	if err != nil {
		return 0, err
	}
	v, ok := f["max_upload"]
	if !ok {
		return 0, nil
	}
	if v.Kind != yaml.ScalarNode {
		return 0, d.errf(v, "egress.max_upload", "expected a size like 100MiB, found %s", kindName(v))
	}
	size, err := ParseSize(v.Value)
	if err != nil {
		return 0, d.errf(v, "egress.max_upload", "%q is %v; write a size like 100MiB or leave the key out for no cap", v.Value, err)
	}
	return size, nil
}
