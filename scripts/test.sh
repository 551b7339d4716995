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
#   3. The local Kubernetes cluster (scripts/k8s-cluster.sh): tier netpol as
#      root, otherwise api when its binaries exist or can be built. Built once
#      per machine (cold: ~10 min of 2 cores), cached under
#      $CLAUDE_BOTTLE_K8S_ROOT. A cluster already up is used as it is and left
#      up; one this script brought up goes down afterwards, and then the root
#      netns must be as before (scripts/k8s/rootns.sh), or the run fails.
#      CLAUDE_BOTTLE_K8S=0 leaves the cluster out (the k8s tests skip).
#   4. go test over the whole module.
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

# 3. The local Kubernetes cluster.
k8s=scripts/k8s-cluster.sh
k8s_ours=0 k8s_snap=""
# down the cluster this script brought up, then check the root netns
k8s_down() {
  [ "$k8s_ours" = 1 ] || return 0
  k8s_ours=0
  log "taking the local Kubernetes cluster down"
  $k8s down || return 1
  if [ -n "$k8s_snap" ]; then
    scripts/k8s/rootns.sh snapshot "$k8s_snap/after"
    scripts/k8s/rootns.sh compare "$k8s_snap/before" "$k8s_snap/after" || return 1
    rm -rf "$k8s_snap"
  fi
}
if [ "$(id -u)" = 0 ]; then k8s_tier=netpol; else k8s_tier=api; fi
k8s_have=$($k8s status)
if [ "${CLAUDE_BOTTLE_K8S:-1}" = 0 ]; then
  if [ "${CI:-}" = true ]; then echo "test.sh: CI=true and CLAUDE_BOTTLE_K8S=0: CI runs the k8s tests" >&2; exit 1; fi
  log "CLAUDE_BOTTLE_K8S=0: no cluster; the k8s tests will skip"
elif [ -n "$k8s_have" ] && { [ "$k8s_have" = "$k8s_tier" ] || [ "$k8s_tier" = api ]; }; then
  log "the local Kubernetes cluster is up at tier $k8s_have already: using it, leaving it up"
else
  # Only a cluster this script starts from nothing is taken down (and the
  # root netns compared) afterwards; one already up at a lower tier is
  # raised and left up for whoever started it.
  if [ -z "$k8s_have" ]; then
    k8s_ours=1
    if [ "$(id -u)" = 0 ]; then
      k8s_snap=$(mktemp -d)
      scripts/k8s/rootns.sh snapshot "$k8s_snap/before"
    fi
  fi
  log "bringing the local Kubernetes cluster up at tier $k8s_tier (cold build ~10 min, then cached)"
  if ! $k8s up "$k8s_tier"; then
    k8s_down >&2 || true
    if [ "${CI:-}" = true ]; then
      echo "test.sh: CI=true and '$k8s up $k8s_tier' failed (its logs: ${CLAUDE_BOTTLE_K8S_ROOT:-/var/lib/claude-bottle-k8s}/logs)" >&2
      exit 1
    fi
    log "the cluster did not come up: the k8s tests will skip"
  fi
fi

trap 'k8s_down; exit 130' INT TERM

# 4. Tests.
if [ $# -eq 0 ]; then
  set -- ./...
fi
log "go test -count=1 $*"
# -count=1: the Docker tests depend on the engine, which the test cache
# does not track; a cached pass proves nothing about this machine.
rc=0
go test -count=1 -timeout 40m "$@" || rc=$?
k8s_down || { echo "test.sh: the local cluster's tear-down left the machine changed (above)" >&2; [ $rc != 0 ] || rc=1; }
exit $rc
