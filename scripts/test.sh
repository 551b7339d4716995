#!/usr/bin/env bash
# test.sh — the README's test command: set up what the tests need on a
# machine with Go and a Docker Engine, then run every test.
#
#   scripts/test.sh [go test flags...]     e.g. scripts/test.sh -run Golden ./internal/compose
#
# Set-up (each step skipped when already done):
#   1. Debian packages the tests use (.ci/apt-packages, plus docker-compose),
#      installed with apt-get when running as root; otherwise listed.
#   2. The project's images (scripts/build-images.sh), made without any
#      registry: a missing debian:bookworm-slim is debootstrapped locally.
#   3. go test over the whole module.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

# 1. Debian packages.
mapfile -t want < <(grep -vE '^\s*(#|$)' .ci/apt-packages | sort -u)
want+=(docker-compose)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing Debian packages: ${missing[*]}" >&2
    echo "test.sh: install them (sudo apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
fi

# 2. Images. Never attempt a registry pull from tests.
export CLAUDE_BOTTLE_NO_PULL=1
if docker info >/dev/null 2>&1; then
  log "ensuring images (cached by content hash)"
  scripts/build-images.sh
elif [ "${CI:-}" = true ]; then
  echo "test.sh: CI=true but the Docker Engine is not reachable (docker info failed)" >&2
  exit 1
else
  log "no Docker Engine reachable: the integration tests will skip"
fi

# 3. Tests.
if [ $# -eq 0 ]; then
  set -- ./...
fi
log "go test -count=1 $*"
# -count=1: the Docker tests depend on the engine, which the test cache
# does not track; a cached pass proves nothing about this machine.
exec go test -count=1 -timeout 40m "$@"
