// Package escape is the sandbox-escape suite: Go tests that bring real
// bottles up on the machine's Docker Engine and attack them from inside the
// agent container (DESIGN.md §8). The non-test code here is what the
// suite's helper listener shares with the tests: a DNS question parser,
// so a listener can log which name a query leaked.
package escape

import (
	"errors"
	"strings"
)

// QueryName returns the first question's name of a DNS message (RFC 1035
// §4.1), lower-cased, without the trailing dot. It follows no compression
// pointers: a question's name is never compressed in a query.
func QueryName(msg []byte) (string, error) {
	if len(msg) < 12 {
		return "", errors.New("dns: message shorter than its 12-byte header")
	}
	if msg[4] == 0 && msg[5] == 0 {
		return "", errors.New("dns: no question")
	}
	var labels []string
	i, total := 12, 0
	for {
		if i >= len(msg) {
			return "", errors.New("dns: name runs past the message")
		}
		n := int(msg[i])
		i++
		if n == 0 {
			break
		}
		if n&0xC0 != 0 {
			return "", errors.New("dns: compressed or extended label in a question")
		}
		if i+n > len(msg) {
			return "", errors.New("dns: label runs past the message")
		}
		total += n + 1
		if total > 255 {
			return "", errors.New("dns: name longer than 255 octets")
		}
		labels = append(labels, strings.ToLower(string(msg[i:i+n])))
		i += n
	}
	return strings.Join(labels, "."), nil
}
