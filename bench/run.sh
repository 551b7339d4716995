#!/usr/bin/env bash
# run.sh — how long `claude-bottle run` takes from the command to Claude
# Code's first model request, and what ten runs at once cost. Results go to
# stdout; bench/run.md records them with the machine and its load.
#
#   bench/run.sh [runs (default 3)] [runs-at-once (default 10)]
#
# The bottle: the test agent image (its stand-in claude is a Node program
# that, like the real CLI, sends its first Messages API request right after
# it starts), claude.auth api_key with base_url https://model.invalid, so
# the request goes agent -> egress (which injects the key) -> pipelock and
# ends there: a .invalid name never resolves, nothing leaves the machine.
# "first model request" is the first egress log line for model.invalid
# (its own timestamp, same clock as the host); "claude started" is the
# stand-in's first output line as the CLI streams it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
many=${2:-10}

. bench/home.sh
export BENCH_MODEL_KEY=bench-model-key-not-real-0123456789abcdef
printf -- '---\nimage: claude-bottle-agent-test:latest\nclaude:\n  auth: { kind: api_key, token_ref: BENCH_MODEL_KEY }\n  base_url: https://model.invalid\n---\n' >"$CLAUDE_BOTTLE_HOME/bottles/probe.md"
printf -- '---\nbottle: probe\n---\nYou are a probe.\n' >"$CLAUDE_BOTTLE_HOME/agents/probe.md"
cd "$CLAUDE_BOTTLE_HOME"
if ! "$bin" start --dry-run probe >/dev/null 2>&1; then
  # A tree without claude.auth (or without the Node stand-in): time to
  # claude's start only.
  echo "note: this tree has no claude.auth; timing to claude started only"
  printf -- '---\nimage: claude-bottle-agent-test:latest\nenv:\n  FAKE_CLAUDE_NO_MODEL: "1"\n---\n' >"$CLAUDE_BOTTLE_HOME/bottles/probe.md"
fi

now() { date +%s.%N; }
# stamp prefixes each line with the time it arrived.
stamp() { while IFS= read -r l; do printf '%s %s\n' "$(now)" "$l"; done; }
# first_request prints the epoch time of the first egress log line that
# names model.invalid in a bottle's compose.log ("" when there is none).
first_request() {
  local t
  t=$(grep -h 'model.invalid' "state/$1/compose.log" 2>/dev/null | grep -o '"time":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  [ -n "$t" ] && date -d "$t" +%s.%N || true
}
report() { # slug t0 out-file
  local started req end
  started=$(grep -m1 ' fake-claude' "$3" | cut -d' ' -f1)
  end=$(tail -n 1 "$3" | cut -d' ' -f1)
  req=$(first_request "$1")
  awk -v t0="$2" -v s="${started:-0}" -v r="${req:-0}" -v e="$end" 'BEGIN{
    printf "to claude started %5.1f s, to first model request %s, whole run (teardown included) %5.1f s\n",
      (s>0 ? s-t0 : -1), (r>0 ? sprintf("%5.1f s", r-t0) : "  n/a"), e-t0 }'
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(docker version --format 'engine {{.Server.Version}}'), $(uptime | sed 's/.*load/load/')"

# 1. one run at a time.
for i in $(seq "$runs"); do
  slug=bench-run-$i-$$
  t0=$(now)
  "$bin" run probe --slug "$slug" -p "say hello" 2>&1 | stamp >"out.$i" || true
  printf 'run %d: ' "$i"
  report "$slug" "$t0" "out.$i"
done

# 2. many runs at once from one shell.
t0=$(now)
pids=()
for i in $(seq "$many"); do
  ( "$bin" run probe --slug "bench-many-$i-$$" -p "say hello" 2>&1 | stamp >"many.$i" ) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
t1=$(now)
# A run whose claude never started failed (claude's own exit code is not
# the point: its model request goes nowhere).
fails=0
for i in $(seq "$many"); do grep -q ' fake-claude' "many.$i" || fails=$((fails + 1)); done
printf '%d runs at once: all done after %.1f s, %d never reached claude\n' "$many" "$(awk "BEGIN{print $t1-$t0}")" "$fails"
for i in $(seq "$many"); do
  printf '  run %2d: ' "$i"
  report "bench-many-$i-$$" "$t0" "many.$i"
done
left=$(docker ps -aq --filter "name=bench-" | wc -l)
echo "containers left: $left"
