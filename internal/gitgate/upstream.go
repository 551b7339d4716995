package gitgate

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"

	"github.com/claude-bottle/claude-bottle/internal/fileio"
)

// sshEndpoint is the host part of an ssh upstream, for error messages.
type sshEndpoint struct {
	User, Host, Port string
}

// parseSSHUpstream accepts ssh://[user@]host[:port]/path and the scp-like
// [user@]host:path. Anything else (https, file, ext::) is refused: the gate
// pins an ssh host key, and no other transport gives it one to pin.
func parseSSHUpstream(raw string) (sshEndpoint, error) {
	if strings.ContainsAny(raw, "\x00\r\n \t") {
		return sshEndpoint{}, fmt.Errorf("%q contains whitespace or control characters", raw)
	}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return sshEndpoint{}, fmt.Errorf("%q: %v", raw, err)
		}
		if u.Scheme != "ssh" && u.Scheme != "git+ssh" && u.Scheme != "ssh+git" {
			return sshEndpoint{}, fmt.Errorf("%q: scheme %q is not supported; the gate talks to upstreams over ssh only (ssh://user@host/path or user@host:path)", raw, u.Scheme)
		}
		if u.Hostname() == "" || u.Path == "" || u.Path == "/" {
			return sshEndpoint{}, fmt.Errorf("%q: want ssh://[user@]host[:port]/path", raw)
		}
		if _, hasPw := u.User.Password(); hasPw {
			return sshEndpoint{}, fmt.Errorf("%q: a password in the URL is not supported; use identity_file", redactURL(u))
		}
		if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.User.Username(), "-") {
			return sshEndpoint{}, fmt.Errorf("%q: host or user starts with '-'", raw)
		}
		return sshEndpoint{User: u.User.Username(), Host: u.Hostname(), Port: u.Port()}, nil
	}
	// scp-like: a colon before any slash.
	colon := strings.IndexByte(raw, ':')
	slash := strings.IndexByte(raw, '/')
	if colon <= 0 || (slash >= 0 && slash < colon) || colon == len(raw)-1 {
		return sshEndpoint{}, fmt.Errorf("%q is not an ssh URL; want ssh://[user@]host[:port]/path or [user@]host:path", raw)
	}
	hostPart := raw[:colon]
	var ep sshEndpoint
	if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
		ep.User, ep.Host = hostPart[:at], hostPart[at+1:]
	} else {
		ep.Host = hostPart
	}
	if ep.Host == "" || strings.HasPrefix(ep.Host, "-") || strings.HasPrefix(ep.User, "-") {
		return sshEndpoint{}, fmt.Errorf("%q: bad host %q", raw, ep.Host)
	}
	return ep, nil
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// knownHostsLines turns the pinned key(s) into known_hosts lines for alias.
// known_host_key holds one key per line, each "type base64 [comment]" or a
// known_hosts line "hosts type base64"; every key is parsed, so a typo is a
// startup error, not a failed push later.
func knownHostsLines(alias, pinned string) (string, error) {
	var b strings.Builder
	n := 0
	for _, line := range strings.Split(pinned, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			var err2 error
			_, _, pub, _, _, err2 = ssh.ParseKnownHosts([]byte(line))
			if err2 != nil {
				return "", fmt.Errorf("%q is not an ssh public key (want \"ssh-ed25519 AAAA...\"): %v", clip(line), err)
			}
		}
		b.WriteString(alias + " " + string(ssh.MarshalAuthorizedKey(pub)))
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("no key given; the gate never trusts a host key on first use")
	}
	return b.String(), nil
}

// prepareIdentity returns a key path ssh will accept and only the gate's
// user can read. A mounted key that is already 0600 and ours is used in
// place; otherwise it is copied into dir (0700) as a 0600 file.
func prepareIdentity(src, dir, name string) (string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", src)
	}
	owner := -1
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		owner = int(sys.Uid)
	}
	if st.Mode().Perm()&0o077 == 0 && owner == os.Geteuid() {
		return src, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	if err := fileio.WriteFileAtomic(dst, data, 0o600); err != nil {
		return "", err
	}
	return dst, nil
}

// sshCommand is the GIT_SSH_COMMAND for one remote: nothing from the
// user's or system's ssh config, only the given key, the pinned host key
// under a per-remote alias (so a DNS or /etc/hosts change cannot swap in
// another host's key), strict checking, no agent, no forwarding, no
// prompts. controlPath, if set, multiplexes the remote's connections over
// one authenticated ssh master (kept 2 minutes after last use): a fetch
// before every request and a push from every hook would otherwise pay a
// full handshake each.
func sshCommand(identity, knownHosts, alias, controlPath string) string {
	args := []string{
		"ssh", "-F", "/dev/null",
		"-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "IdentityFile=" + identity,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "HostKeyAlias=" + alias,
		"-o", "CheckHostIP=no",
		"-o", "UpdateHostKeys=no",
		"-o", "ForwardAgent=no",
		"-o", "ForwardX11=no",
		"-o", "ClearAllForwardings=yes",
		"-o", "PasswordAuthentication=no",
		"-o", "KbdInteractiveAuthentication=no",
		"-o", "ConnectTimeout=15",
		"-o", "ServerAliveInterval=5",
		"-o", "ServerAliveCountMax=3",
		"-o", "LogLevel=ERROR",
	}
	if controlPath != "" {
		args = append(args, "-o", "ControlMaster=auto", "-o", "ControlPath="+controlPath, "-o", "ControlPersist=120")
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote single-quotes s for /bin/sh (git runs GIT_SSH_COMMAND and
// hooks through the shell).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
