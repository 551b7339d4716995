#!/usr/bin/env bash
# bench/idle.sh — what idle bottles cost the machine: N bottles of each shape
# (egress, pipelock and supervise: three sidecars in the legacy shape, one
# container in the bundle), started with `start --detach`, left alone for
# 10 s, then the whole machine's CPU use is read from /proc/stat over 30 s.
# The agent (the test image) sleeps, so what is measured is the sidecars
# and their healthchecks (each probe is a `docker exec`).
#
#   bench/idle.sh [bottles per shape (default 5)] [seconds (default 30)]
#
# Throwaway CLAUDE_BOTTLE_HOME; every bottle is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
secs=${2:-30}
. bench/home.sh
cat >"$CLAUDE_BOTTLE_HOME/bottles/idle.md" <<'MD'
---
image: claude-bottle-agent-test:latest
supervise: true
egress:
  allowlist: [allowed.invalid]
  routes:
    - host: api.example.invalid
---
MD
printf -- '---\nbottle: idle\n---\nYou idle.\n' >"$CLAUDE_BOTTLE_HOME/agents/idle.md"
cd "$(mktemp -d)"

busy() { # prints busy and total jiffies of the whole machine
  awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
}
measure() { # label
  sleep 10
  read -r b0 t0 < <(busy)
  sleep "$secs"
  read -r b1 t1 < <(busy)
  awk -v l="$1" -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v c="$(nproc)" -v n="$n" \
    'BEGIN{p=100*b/t; printf "%-28s machine busy %5.1f %%", l, p; if (n>0) printf "  (%.1f %% of one core per bottle)", p*c/n; printf "\n"}'
}

echo "machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME"), Docker $(docker version -f '{{.Server.Version}}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
n0=$n; n=0; measure "no bottle"; n=$n0
for shape in legacy bundle; do
  export CLAUDE_BOTTLE_SIDECAR_BUNDLE=$([ "$shape" = bundle ] && echo 1 || echo "")
  ids=()
  for _ in $(seq "$n"); do
    s=$("$bin" start --detach idle 2>/dev/null)
    started+=("$s"); ids+=("$s")
  done
  measure "$n idle $shape bottles"
  for s in "${ids[@]}"; do "$bin" stop "$s" >/dev/null 2>&1 || true; done
done
