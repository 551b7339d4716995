package proxykit

import (
	"fmt"
	"strings"
)

// RulePath names a path_allowlist block, in both proxies' 403 bodies.
const RulePath = "path-allowlist"

// CheckPath returns "" when path p is allowed by a route's path_allowlist
// (prefixes; empty allows any path), else the reason. egress and pipelock
// both enforce a route host's list with it, so the agent cannot skip the
// check by asking pipelock directly.
//
// Prefixes match whole segments: "/repos/org/demo" allows
// "/repos/org/demo" and "/repos/org/demo/issues" but not
// "/repos/org/demo-evil". Paths with dot segments are refused outright,
// because the origin may resolve them to a path outside the allowlist
// after the check.
func CheckPath(prefixes []string, host, p string) string {
	if len(prefixes) == 0 {
		return ""
	}
	if p == "" {
		p = "/"
	}
	if hasDotSegment(p) {
		return fmt.Sprintf("path %q has a . or .. segment; route %q allows only %s", p, host, strings.Join(prefixes, ", "))
	}
	for _, prefix := range prefixes {
		if pathHasPrefix(p, prefix) {
			return ""
		}
	}
	return fmt.Sprintf("path %q is outside path_allowlist [%s] of route %q", p, strings.Join(prefixes, ", "), host)
}

// pathHasPrefix reports whether prefix matches p on a segment boundary.
func pathHasPrefix(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	if len(p) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	return p[len(prefix)] == '/'
}

// hasDotSegment reports a "." or ".." segment, also in the disguises some
// origins still resolve: "\\" as a separator, "..;params" (Tomcat, Spring)
// and "%2e" left over after one round of decoding.
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(strings.ReplaceAll(p, "\\", "/"), "/") {
		if !strings.Contains(seg, ".") && !strings.Contains(seg, "%") {
			continue
		}
		seg, _, _ = strings.Cut(seg, ";")
		seg = strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
