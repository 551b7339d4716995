// Package proxykit is the machinery egress and pipelock share: the one
// host:port parser, the goproxy set-up (Proxy), the serve / SIGHUP reload /
// shutdown loop (Serve), and flag parsing for run(args, stdout, stderr).
// The log schema is package daemonlog.
// The two proxies stay separate processes; only their plumbing is shared,
// so the first and the second hop of the chain parse a target the same way.
package proxykit
