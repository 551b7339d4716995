#!/usr/bin/env bash
# logs.sh — how long after a request is blocked `claude-bottle logs -f`
# prints it, in both shapes. For each blocked request (a curl in the agent
# to an unlisted host, blocked by pipelock) the delay is the time the line
# reached the reader minus the time pipelock logged the decision (the
# event's own "time"; one machine, one clock). Results go to stdout;
# bench/logs.md records them with the machine and its load.
#
#   bench/logs.sh [requests-per-shape (default 20)]
#
# Uses bench/home.sh (throwaway home, the CLI built, images ready, every
# bottle stopped on exit). Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}

. bench/home.sh
printf -- '---\nimage: claude-bottle-agent-test:latest\negress:\n  allowlist: [allowed.invalid]\n---\n' >"$CLAUDE_BOTTLE_HOME/bottles/probe.md"
printf -- '---\nbottle: probe\n---\nYou are a probe.\n' >"$CLAUDE_BOTTLE_HOME/agents/probe.md"
cd "$CLAUDE_BOTTLE_HOME"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(docker version --format 'engine {{.Server.Version}}'), $(uptime | sed 's/.*load/load/')"

for shape in legacy bundle; do
  if [ $shape = bundle ]; then export CLAUDE_BOTTLE_SIDECAR_BUNDLE=1; else export CLAUDE_BOTTLE_SIDECAR_BUNDLE=; fi
  slug=$("$bin" start --detach probe 2>/dev/null)
  started+=("$slug")
  # The reader stamps each line as it arrives (ns since the epoch).
  "$bin" logs -f --json --blocked "$slug" > >(while IFS= read -r line; do printf '%s %s\n' "$(date +%s%N)" "$line"; done >"arrivals.$shape") &
  reader=$!
  sleep 2 # let the follow start
  for i in $(seq "$n"); do
    "$bin" exec "$slug" -- curl -s -o /dev/null "http://bench-$i.invalid/" || true
    # Wait (at most 5 s) for its line.
    for _ in $(seq 100); do grep -q "bench-$i.invalid" "arrivals.$shape" && break; sleep 0.05; done
  done
  kill "$reader" 2>/dev/null || true
  wait "$reader" 2>/dev/null || true
  sleep 0.2 # the stamping loop drains
  # delay = arrival - the event's own time, per bench-<i> line.
  grep 'bench-' "arrivals.$shape" | while read -r at json; do
    ev=$(printf '%s' "$json" | jq -r '.time')
    evns=$(date -d "$ev" +%s%N)
    echo $(((at - evns) / 1000000))
  done | sort -n >"delays.$shape"
  got=$(wc -l <"delays.$shape")
  printf 'logs -f delay %-6s: %d of %d blocks seen; min %s ms, median %s ms, p90 %s ms, max %s ms\n' "$shape" "$got" "$n" \
    "$(head -1 "delays.$shape")" "$(sed -n "$(((got + 1) / 2))p" "delays.$shape")" \
    "$(sed -n "$(((got * 9 + 9) / 10))p" "delays.$shape")" "$(tail -1 "delays.$shape")"
  "$bin" stop "$slug" >/dev/null 2>&1
  started=("${started[@]/$slug}")
done
