#!/usr/bin/env bash
# k8s-bottles.sh — how long `claude-bottle start --backend k8s --detach`
# takes to a ready, provisioned bottle on the local cluster, and what ten
# bottles at once cost (wall time, and the node's memory while they idle).
# Results go to stdout; bench/k8s-bottles.md records them with the machine.
#
#   scripts/k8s-cluster.sh up node    # (as root) once
#   bench/k8s-bottles.sh [starts (default 3)] [at-once (default 10)]
#
# The bottle: the test agent image with the firewall only (no routes, no
# git, no supervise), FAKE_CLAUDE_NO_MODEL. "ready" is start returning:
# both Pods Ready and the agent provisioned through kubectl exec.
set -euo pipefail
cd "$(dirname "$0")/.."
starts=${1:-3}
many=${2:-10}
root=${CLAUDE_BOTTLE_K8S_ROOT:-/var/lib/claude-bottle-k8s}
tier=$(bash scripts/k8s-cluster.sh status)
case $tier in node|netpol) ;; *) echo "the local cluster is not up at the node tier (status: '${tier}'): run scripts/k8s-cluster.sh up node" >&2; exit 1 ;; esac

. bench/home.sh
export KUBECONFIG=$root/pki/admin.kubeconfig CLAUDE_BOTTLE_KUBECTL=$root/bin/kubectl CLAUDE_BOTTLE_BACKEND=k8s
bash scripts/k8s-cluster.sh import claude-bottle-sidecars:latest claude-bottle-agent-test:latest >/dev/null
printf -- '---\nimage: claude-bottle-agent-test:latest\nenv:\n  FAKE_CLAUDE_NO_MODEL: "1"\n---\n' >"$CLAUDE_BOTTLE_HOME/bottles/probe.md"
printf -- '---\nbottle: probe\n---\nYou are a probe.\n' >"$CLAUDE_BOTTLE_HOME/agents/probe.md"
cd "$CLAUDE_BOTTLE_HOME"

now() { date +%s.%N; }
node_rss() { # MiB of every process in the node's cgroup of pods (kubepods)
  awk '/^total_rss /{printf "%.0f", $2/1048576}' /sys/fs/cgroup/memory/kubepods/memory.stat 2>/dev/null || echo "?"
}
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, tier $tier, $($CLAUDE_BOTTLE_KUBECTL version -o json | grep -m1 gitVersion | tr -d ' ",' ), $(uptime | sed 's/.*load/load/')"

# 1. one start at a time, each stopped before the next.
for i in $(seq "$starts"); do
  slug=bench-k8s-$i-$$
  t0=$(now)
  "$bin" start --detach probe --slug "$slug" >/dev/null 2>"err.$i" || { cat "err.$i" >&2; exit 1; }
  t1=$(now)
  started+=("$slug")
  "$bin" stop "$slug" >/dev/null 2>&1
  t2=$(now)
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v i="$i" 'BEGIN{printf "start %d: ready in %5.1f s, stop in %5.1f s\n", i, b-a, c-b}'
done

# 2. many at once.
idle0=$(node_rss)
t0=$(now)
pids=()
for i in $(seq "$many"); do
  slug=bench-k8s-many-$i-$$
  started+=("$slug")
  ( "$bin" start --detach probe --slug "$slug" >/dev/null 2>"many.$i"; echo "$? $(now)" >"done.$i" ) &
  pids+=($!)
done
wait "${pids[@]}"
t1=$(now)
ok=0
for i in $(seq "$many"); do read -r rc t <"done.$i"; [ "$rc" = 0 ] && ok=$((ok+1)); done
sleep 10
idle1=$(node_rss)
awk -v a="$t0" -v b="$t1" -v n="$many" -v ok="$ok" 'BEGIN{printf "%d at once: %d ready, all in %5.1f s\n", n, ok, b-a}'
echo "node pods memory (kubepods total_rss): ${idle0} MiB before, ${idle1} MiB with $many bottles idle"
t0=$(now)
for i in $(seq "$many"); do "$bin" stop "bench-k8s-many-$i-$$" >/dev/null 2>&1 & done
wait
awk -v a="$t0" -v b="$(now)" -v n="$many" 'BEGIN{printf "%d stopped at once in %5.1f s\n", n, b-a}'
