#!/usr/bin/env bash
# bottles.sh — how long `claude-bottle start --detach` takes to an agent
# ready for work on warm images, in both shapes, and what ten bottles at
# once cost (time and memory). Results go to stdout; bench/bottles.md
# records them with the machine and its load.
#
#   bench/bottles.sh [runs-per-shape (default 3)] [bottles-at-once (default 10)]
#   STAGGER=1 bench/bottles.sh ...   # seconds between the concurrent starts
#   SKIP_SINGLE=1 bench/bottles.sh   # only the many-at-once part
#
# It uses a throwaway CLAUDE_BOTTLE_HOME and a probe bottle (the test agent
# image, pipelock only: the smallest bottle), builds the images first (not
# timed), and stops every bottle it started, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
many=${2:-10}

. bench/home.sh
printf -- '---\nimage: claude-bottle-agent-test:latest\negress:\n  allowlist: [allowed.invalid]\n---\n' >"$CLAUDE_BOTTLE_HOME/bottles/probe.md"
printf -- '---\nbottle: probe\n---\nYou are a probe.\n' >"$CLAUDE_BOTTLE_HOME/agents/probe.md"
cd "$CLAUDE_BOTTLE_HOME"

now() { date +%s.%N; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(docker version --format 'engine {{.Server.Version}}'), $(uptime | sed 's/.*load/load/')"

# 1. start --detach to agent ready (the command returns once the agent is
#    provisioned), then stop (not timed).
for shape in legacy bundle; do
  [ -n "${SKIP_SINGLE:-}" ] && break
  if [ $shape = bundle ]; then export CLAUDE_BOTTLE_SIDECAR_BUNDLE=1; else export CLAUDE_BOTTLE_SIDECAR_BUNDLE=; fi
  for i in $(seq "$runs"); do
    t0=$(now)
    slug=$("$bin" start --detach probe 2>/dev/null)
    t1=$(now)
    started+=("$slug")
    "$bin" exec "$slug" -- true
    printf 'start-to-ready %-6s run %d: %.1f s\n' $shape "$i" "$(awk "BEGIN{print $t1-$t0}")"
    "$bin" stop "$slug" >/dev/null 2>&1
    started=("${started[@]/$slug}")
  done
done

# 2. many bottles at once (legacy shape: two containers each).
export CLAUDE_BOTTLE_SIDECAR_BUNDLE=
mem_before=$(free -m | awk '/Mem:/{print $3}')
t0=$(now)
pids=()
for i in $(seq "$many"); do
  "$bin" start --detach probe >"out.$i" 2>"err.$i" &
  pids+=($!)
  sleep "${STAGGER:-0}"
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
t1=$(now)
for i in $(seq "$many"); do s=$(cat "out.$i"); [ -n "$s" ] && started+=("$s"); done
mem_after=$(free -m | awk '/Mem:/{print $3}')
printf '%d bottles at once: all returned after %.1f s, %d failed\n' "$many" "$(awk "BEGIN{print $t1-$t0}")" "$fails"
if [ "$fails" -gt 0 ]; then for i in $(seq "$many"); do [ -s "out.$i" ] || tail -3 "err.$i"; done; fi
printf 'host memory used: %d MiB before, %d MiB after (+%d MiB)\n' "$mem_before" "$mem_after" $((mem_after - mem_before))
docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' | grep -E '^claude-bottle-' | grep -F -f <(printf '%s\n' "${started[@]}") |
  awk '{split($2,a,/[A-Za-z]+/); v=a[1]; u=$2; gsub(/[0-9.]/,"",u); if(u=="GiB")v*=1024; if(u=="KiB")v/=1024; n++; s+=v; if($1 ~ /pipelock/) p+=v; else g+=v}
       END {printf "containers: %d, memory %.0f MiB total (pipelock %.0f, agent %.0f), %.1f MiB per bottle\n", n, s, p, g, s/(n/2)}'
