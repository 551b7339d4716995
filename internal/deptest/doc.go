// Package deptest holds no code: its test checks which packages each
// program links, the way tailscale's tstest/deptest does. The rules keep
// the CLI free of the daemons (gitleaks, goproxy, the MCP SDK), keep the
// sidecar init small enough to run as every healthcheck, and keep the
// daemons free of the host-side packages that drive Docker.
package deptest
