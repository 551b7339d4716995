#!/usr/bin/env bash
# bench/sidecars.sh — sidecar image size, idle memory of the bundle with every
# daemon, and time from `docker run` to healthy, bundle vs legacy shape.
#
# Usage: bench/sidecars.sh [rounds]   (default 5; needs root for /proc reads)
#
# Images must be warm: the script runs scripts/build-images.sh first (a
# no-op when the inputs are unchanged). Containers run as the renderer runs
# them (host uid, read-only root, cap-drop ALL, the state mounts, the same
# healthcheck: claude-bottle-sidecar-init health, interval 30 s). Two "up to
# healthy" times, from just before `docker run`:
#   ready   every daemon's port accepts a TCP connection from the host,
#           polled every 10 ms;
#   healthy the container's health command passes when run in it with
#           `docker exec` (what `start` waits for: it runs the command
#           itself while Docker's first probe is 30 s away), every 50 ms.
# Memory after 5 s idle: sum of VmRSS over the container's processes (shared
# pages of the one binary counted once per process), sum of PSS (shared pages
# split between the processes: what the bundle costs the machine), and the
# cgroup's usage as `docker stats` shows it.
# Every container carries dev.claude-bottle.test=bench-$$ and is removed on
# exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
IMAGE=claude-bottle-sidecars:latest
LABEL=dev.claude-bottle.test=bench-$$
DAEMONS=(egress pipelock git-gate supervise)
declare -A PORT=([egress]=9099 [pipelock]=8888 [git-gate]=9418 [supervise]=9100)

cleanup() {
  ids=$(docker ps -aq --filter "label=$LABEL")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  rm -rf "$STATE"
}
STATE=$(mktemp -d)
trap cleanup EXIT

scripts/build-images.sh "$IMAGE" >/dev/null

# A minimal valid state dir, made by the same Go code the CLI uses.
go run ./bench/sidecars-state "$STATE" >/dev/null

REAL=("${DAEMONS[@]}")
CSV=$(IFS=,; echo "${REAL[*]}")

COMMON=(--label "$LABEL" --user "$(id -u):$(id -g)" --read-only --tmpfs /tmp --cap-drop ALL
  --security-opt no-new-privileges:true --entrypoint /usr/local/bin/claude-bottle-sidecar
  --health-interval 30s --health-timeout 5s --health-retries 3 --health-start-period 5s
  -v "$STATE/egress:/etc/claude-bottle/egress:ro" -v "$STATE/egress-ca:/etc/claude-bottle/egress-ca:ro"
  -v "$STATE/trust:/etc/claude-bottle/trust:ro" -v "$STATE/pipelock:/etc/claude-bottle/pipelock:ro"
  -v "$STATE/pipelock-ca:/etc/claude-bottle/pipelock-ca:ro" -v "$STATE/git-gate:/etc/claude-bottle/git-gate:ro"
  -v "$STATE/git-gate-data:/var/lib/git-gate" -v "$STATE/passwd:/etc/passwd:ro" -v "$STATE/queue:/run/supervise/queue"
  -e EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888 -e EGRESS_UPSTREAM_CA=/etc/claude-bottle/trust/pipelock-ca.crt
  -e EGRESS_TOKEN_0=bench-token -e SUPERVISE_BOTTLE_SLUG=bench-00000 -e SUPERVISE_QUEUE_DIR=/run/supervise/queue
  -e SUPERVISE_PORT=9100)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
wait_port() { # ip port deadline_ms
  while ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    [ "$(now_ms)" -lt "$3" ] || { echo "timeout on $1:$2" >&2; return 1; }
    sleep 0.01
  done
}
wait_healthy() { # container deadline_ms [daemon]: its health command passes, run as `start` runs it
  while ! docker exec "$1" /usr/local/bin/claude-bottle-sidecar-init health ${3:+"$3"} >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$2" ] || { echo "timeout waiting for $1 to be healthy" >&2; return 1; }
    sleep 0.05
  done
}
pids_of() { docker top "$1" -eo pid | tail -n +2; }
# "name=VmRSS/PSS" (MiB) of each process of a container.
mem_each() {
  local p
  for p in $(pids_of "$1"); do
    printf '%s=%s/%s ' "$(tr '\0' ' ' <"/proc/$p/cmdline" | awk '{n=$1; sub(".*/","",n); print ($2==""?n:$2)}')" \
      "$(awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$p/status")" "$(awk '/^Pss:/{printf "%.1f", $2/1024}' "/proc/$p/smaps_rollup")"
  done
}
# Sum of a field (kB) over every process of some containers.
sum_kb() { # file field container...
  local f=$1 k=$2 sum=0 p c; shift 2
  for c in "$@"; do
    for p in $(pids_of "$c"); do
      sum=$(( sum + $(awk -v k="$k" '$1==k{print $2}' "/proc/$p/$f" 2>/dev/null || echo 0) ))
    done
  done
  echo "$sum"
}
cgroup_mib() { # container... -> summed docker stats usage, MiB
  docker stats --no-stream --format '{{.MemUsage}}' "$@" | cut -d/ -f1 |
    awk '{v=$1; m=1; if (v~/GiB/) m=1024; else if (v~/KiB/) m=1/1024; else if (v~/[0-9]B$/) m=1/1048576; sub(/[A-Za-z]+/,"",v); s+=v*m} END{printf "%.1f", s}'
}

bundle_up() { # prints "ready_ms healthy_ms container"
  local t0 c ip d r
  t0=$(now_ms)
  c=$(docker run -d "${COMMON[@]}" --entrypoint /usr/local/bin/claude-bottle-sidecar-init \
    --health-cmd "/usr/local/bin/claude-bottle-sidecar-init health" \
    -e CLAUDE_BOTTLE_SIDECAR_DAEMONS="$CSV" "$IMAGE")
  ip=$(ip_of "$c")
  for d in "${REAL[@]}"; do wait_port "$ip" "${PORT[$d]}" $(( t0 + 60000 )); done
  r=$(( $(now_ms) - t0 ))
  wait_healthy "$c" $(( t0 + 60000 ))
  echo "$r $(( $(now_ms) - t0 )) $c"
}

legacy_up() { # prints "ready_ms healthy_ms container..."
  local t0 cs=() i r
  t0=$(now_ms)
  for d in "${REAL[@]}"; do
    cs+=("$(docker run -d "${COMMON[@]}" --health-cmd "/usr/local/bin/claude-bottle-sidecar-init health $d" "$IMAGE" "$d")")
  done
  for i in "${!REAL[@]}"; do
    wait_port "$(ip_of "${cs[$i]}")" "${PORT[${REAL[$i]}]}" $(( t0 + 60000 ))
  done
  r=$(( $(now_ms) - t0 ))
  for i in "${!cs[@]}"; do wait_healthy "${cs[$i]}" $(( t0 + 60000 )) "${REAL[$i]}"; done
  echo "$r $(( $(now_ms) - t0 )) ${cs[*]}"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
mib() { awk '{printf "%.1f", $1/1024}'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), Docker $(docker version -f '{{.Server.Version}}')"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "daemons: $CSV"
echo "image size: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB (%d bytes)", $1/1e6, $1}')"
echo "  of which the base $(docker image inspect -f '{{.Size}}' debian:bookworm-slim | awk '{printf "%.1f MB", $1/1e6}'), the binaries $(docker run --rm --label "$LABEL" --entrypoint sh "$IMAGE" -c 'wc -c /usr/local/bin/claude-bottle-sidecar /usr/local/bin/claude-bottle-sidecar-init' | awk '$2!="total"{n=$2; sub(".*/","",n); printf "%s %.1f MB; ", n, $1/1e6}')"

BR=(); BH=(); LR=(); LH=(); RSS=(); PSS=(); CG=(); LRSS=(); LPSS=(); LCG=()
for r in $(seq "$ROUNDS"); do
  read -r ready healthy c < <(bundle_up); BR+=("$ready"); BH+=("$healthy")
  sleep 5 # idle
  RSS+=("$(sum_kb status VmRSS: "$c")"); PSS+=("$(sum_kb smaps_rollup Pss: "$c")"); CG+=("$(cgroup_mib "$c")")
  EACH=$(mem_each "$c")
  docker rm -f "$c" >/dev/null
  read -r ready healthy cs < <(legacy_up); LR+=("$ready"); LH+=("$healthy")
  sleep 5
  # shellcheck disable=SC2086
  LRSS+=("$(sum_kb status VmRSS: $cs)"); LPSS+=("$(sum_kb smaps_rollup Pss: $cs)"); LCG+=("$(cgroup_mib $cs)")
  # shellcheck disable=SC2086
  docker rm -f $cs >/dev/null
  echo "round $r: bundle ready ${BR[-1]} ms, healthy ${BH[-1]} ms; idle VmRSS $(mib <<<"${RSS[-1]}") MiB, PSS $(mib <<<"${PSS[-1]}") MiB, cgroup ${CG[-1]} MiB [name=VmRSS/PSS: $EACH]"
  echo "         legacy ready ${LR[-1]} ms, healthy ${LH[-1]} ms; idle VmRSS $(mib <<<"${LRSS[-1]}") MiB, PSS $(mib <<<"${LPSS[-1]}") MiB, cgroup ${LCG[-1]} MiB (4 containers)"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median bundle: ready $(printf '%s\n' "${BR[@]}" | median) ms, healthy $(printf '%s\n' "${BH[@]}" | median) ms"
echo "median legacy: ready $(printf '%s\n' "${LR[@]}" | median) ms, healthy $(printf '%s\n' "${LH[@]}" | median) ms"
echo "median bundle idle: VmRSS $(printf '%s\n' "${RSS[@]}" | median | mib) MiB, PSS $(printf '%s\n' "${PSS[@]}" | median | mib) MiB, cgroup $(printf '%s\n' "${CG[@]}" | median) MiB"
echo "median legacy idle: VmRSS $(printf '%s\n' "${LRSS[@]}" | median | mib) MiB, PSS $(printf '%s\n' "${LPSS[@]}" | median | mib) MiB, cgroup $(printf '%s\n' "${LCG[@]}" | median) MiB"
