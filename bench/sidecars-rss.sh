#!/usr/bin/env bash
# bench/sidecars-rss.sh — idle RSS of each daemon run on the host (loopback
# ports 19099/18888/19418/19100), for the sidecar binary built with and
# without the gore2regex tag. Usage: bench/sidecars-rss.sh [idle seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-12}
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
go run ./bench/sidecars-state "$T/state" >/dev/null
CGO_ENABLED=0 go build -tags gore2regex -trimpath -ldflags='-s -w' -o "$T/tag" ./cmd/claude-bottle-sidecar
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$T/notag" ./cmd/claude-bottle-sidecar
S=$T/state
for b in tag notag; do
  B=$T/$b; PIDS=()
  EGRESS_TOKEN_0=x "$B" egress --config "$S/egress/routes.json" --ca-cert "$S/egress-ca/ca.crt" --ca-key "$S/egress-ca/ca.key" \
    --listen 127.0.0.1:19099 --upstream-proxy http://127.0.0.1:18888 >/dev/null 2>&1 & PIDS+=($!)
  "$B" pipelock --config "$S/pipelock/pipelock.json" --ca-cert "$S/pipelock-ca/ca.crt" --ca-key "$S/pipelock-ca/ca.key" \
    --listen 127.0.0.1:18888 >/dev/null 2>&1 & PIDS+=($!)
  "$B" git-gate --config "$S/git-gate/gate.json" --data-dir "$S/git-gate-data" --listen 127.0.0.1:19418 >/dev/null 2>&1 & PIDS+=($!)
  "$B" supervise --queue-dir "$S/queue" --listen 127.0.0.1:19100 --routes "$S/egress/routes.json" \
    --pipelock-config "$S/pipelock/pipelock.json" >/dev/null 2>&1 & PIDS+=($!)
  sleep "$IDLE"
  [ "$b" = tag ] && echo "== -tags gore2regex" || echo "== no tag"
  for p in "${PIDS[@]}"; do
    echo "$(tr '\0' ' ' </proc/$p/cmdline | cut -d' ' -f2) $(awk '/^VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$p/status 2>/dev/null || echo dead)"
  done
  for p in "${PIDS[@]}"; do kill "$p"; done; wait 2>/dev/null || true
done
