#!/usr/bin/env bash
# k8s.sh — how long the local Kubernetes cluster (scripts/k8s-cluster.sh)
# takes to come up, per tier, and what it holds in RAM when idle. Results go
# to stdout; bench/k8s.md records them with the machine and its load.
#
#   bench/k8s.sh warm   binaries cached: per tier, from nothing (down) to up,
#                       then the idle RSS after 20 s, then down
#   bench/k8s.sh cold   the build too: down --purge (bin/ and the Go caches
#                       go), then up api, up node, up netpol in a row: cold
#                       api is the first figure, cold node the first two, ...
#
# Run as root (node and netpol need it). It takes the cluster down at the end:
# do not run it while others use the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
k=scripts/k8s-cluster.sh
ROOT=${CLAUDE_BOTTLE_K8S_ROOT:-/var/lib/claude-bottle-k8s}
mode=${1:-warm}

secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
timed() { # prints seconds of "$k $*", its output to stderr
  local s=$EPOCHREALTIME
  "$k" "$@" >&2
  secs "$s" "$EPOCHREALTIME"
}
# rss: "name=MB ..." of every daemon in run/*.pid plus our containerd's shims
rss() {
  local f p name kb total=0 out="" shims=0
  for f in "$ROOT"/run/*.pid; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pid); p=$(cat "$f")
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + kb)); out+="$name=$((kb / 1024)) "
  done
  for d in /proc/[0-9]*; do
    if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "-address $ROOT/containerd/containerd.sock"; then
      kb=$(awk '/^VmRSS:/ {print $2}' "$d/status" 2>/dev/null || echo 0)
      shims=$((shims + kb))
    fi
  done
  [ $shims = 0 ] || out+="shims=$((shims / 1024)) "
  echo "total=$(((total + shims) / 1024))MB $out"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
case $mode in
  warm)
    for tier in api node netpol; do
      "$k" down >/dev/null 2>&1
      t=$(timed up "$tier")
      sleep 20
      echo "warm up $tier: ${t}s; idle RSS $(rss)"
    done
    t=$(timed down)
    echo "down from netpol: ${t}s"
    ;;
  cold)
    "$k" down --purge >&2
    a=$(timed up api)
    n=$(timed up node)
    p=$(timed up netpol)
    echo "cold up api: ${a}s"
    echo "cold up node: $(awk -v a="$a" -v n="$n" 'BEGIN{printf "%.1f", a+n}')s (api ${a}s, then node ${n}s)"
    echo "cold up netpol: $(awk -v a="$a" -v n="$n" -v p="$p" 'BEGIN{printf "%.1f", a+n+p}')s (then netpol ${p}s)"
    echo "build steps ($ROOT/logs/build-times):"; sed 's/^/  /' "$ROOT/logs/build-times"
    echo "disk: $(du -sh "$ROOT/bin" | cut -f1) bin/, $(du -sh "$ROOT/go" | cut -f1) Go caches"
    "$k" down >&2
    ;;
  *) echo "usage: $0 warm|cold" >&2; exit 2 ;;
esac
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
