package gitgate

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Request is a git:// (git daemon protocol) request: the first pkt-line a
// client sends, "git-upload-pack /demo.git\0host=gate\0\0version=2\0".
type Request struct {
	Service string // "git-upload-pack" or "git-receive-pack"
	Path    string // as sent, e.g. "/demo.git"
	Host    string // host= parameter, may be empty
	// Protocol is the GIT_PROTOCOL value to pass on ("version=2"), built only
	// from the extra parameters we understand.
	Protocol string
}

// maxPktLen is git's LARGE_PACKET_MAX (65520) including the 4-byte length.
const maxPktLen = 65520

// ReadRequest reads and parses the request pkt-line from r.
func ReadRequest(r io.Reader) (Request, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Request{}, fmt.Errorf("reading request length: %w", err)
	}
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil {
		return Request{}, fmt.Errorf("request length %q is not 4 hex digits", hdr[:])
	}
	if n < 5 || n > 1024 {
		return Request{}, fmt.Errorf("request length %d out of range (5..1024)", n)
	}
	payload := make([]byte, n-4)
	if _, err := io.ReadFull(r, payload); err != nil {
		return Request{}, fmt.Errorf("reading request: %w", err)
	}
	return ParseRequest(payload)
}

// ParseRequest parses a request pkt-line payload (without its length):
//
//	request-command SP pathname NUL [ host-parameter NUL ] [ NUL extra-parameters ]
func ParseRequest(p []byte) (Request, error) {
	s := string(p)
	// Some clients end the command with "\n" instead of NUL-separated args.
	cmdEnd := strings.IndexByte(s, 0)
	var rest string
	if cmdEnd < 0 {
		cmdEnd = len(s)
	} else {
		rest = s[cmdEnd+1:]
	}
	cmd := strings.TrimSuffix(s[:cmdEnd], "\n")
	service, path, ok := strings.Cut(cmd, " ")
	if !ok {
		return Request{}, fmt.Errorf("request %q: want \"<service> <path>\"", clip(cmd))
	}
	switch service {
	case "git-upload-pack", "git-receive-pack":
	default:
		return Request{}, fmt.Errorf("service %q is not offered; only git-upload-pack and git-receive-pack", clip(service))
	}
	for i := 0; i < len(path); i++ {
		if path[i] < 0x20 || path[i] == 0x7f {
			return Request{}, fmt.Errorf("path %q contains control characters", clip(path))
		}
	}
	req := Request{Service: service, Path: path}
	// host-parameter, then optionally an empty field and extra parameters.
	fields := strings.Split(rest, "\x00")
	i := 0
	if i < len(fields) && strings.HasPrefix(fields[i], "host=") {
		req.Host = strings.TrimPrefix(fields[i], "host=")
		i++
	}
	if i < len(fields) && fields[i] == "" {
		i++
	}
	var proto []string
	for ; i < len(fields); i++ {
		f := fields[i]
		if f == "" {
			continue
		}
		// Only protocol versions are passed to git; anything else a client
		// sends is dropped, as git daemon does for unknown keys.
		if v, ok := strings.CutPrefix(f, "version="); ok && (v == "0" || v == "1" || v == "2") {
			proto = append(proto, f)
		}
	}
	req.Protocol = strings.Join(proto, ":")
	return req, nil
}

// RepoName maps a request path to a declared remote name: "/demo.git",
// "/demo", "demo.git" and "/demo.git/" all name "demo". ok is false for
// anything that is not a plain valid name.
func RepoName(path string) (string, bool) {
	p := strings.TrimPrefix(path, "/")
	p = strings.TrimSuffix(p, "/")
	p = strings.TrimSuffix(p, ".git")
	if p == "" || !sidecarconfig.ValidName(p) {
		return "", false
	}
	return p, true
}

// pktLine encodes one pkt-line.
func pktLine(s string) []byte {
	if len(s)+4 > maxPktLen {
		s = s[:maxPktLen-4]
	}
	return []byte(fmt.Sprintf("%04x%s", len(s)+4, s))
}

// errPkt is the pkt-line a git daemon sends to refuse a request; git
// clients print it as "fatal: remote error: <msg>".
func errPkt(msg string) []byte {
	msg = strings.ReplaceAll(msg, "\n", "; ")
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return pktLine("ERR " + msg + "\n")
}
