#!/usr/bin/env bash
# bench/sidecars.sh — sidecar image size, idle RSS of the bundle with every
# daemon, and time from `docker run` to healthy, bundle vs legacy shape.
#
# Usage: bench/sidecars.sh [rounds]   (default 5; needs root for /proc reads)
#
# Images must be warm: the script runs scripts/build-images.sh first (a
# no-op when the inputs are unchanged). "Healthy" is measured from the host:
# the first moment every daemon's port on the container accepts a TCP
# connection (what `claude-bottle-sidecar health` checks inside), polled
# every 10 ms. Every container carries dev.claude-bottle.test=bench-$$ and
# is removed on exit.
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
go run -tags gore2regex ./bench/sidecars-state "$STATE" >/dev/null

# Which daemons are real (placeholders answer "not built yet")?
REAL=()
for d in "${DAEMONS[@]}"; do
  if docker run --rm --label "$LABEL" --entrypoint /usr/local/bin/claude-bottle-sidecar "$IMAGE" "$d" --help 2>&1 | grep -q 'not built yet'; then
    echo "note: $d is a placeholder; left out" >&2
  else
    REAL+=("$d")
  fi
done
CSV=$(IFS=,; echo "${REAL[*]}")

COMMON=(--label "$LABEL" --user "$(id -u):$(id -g)" --read-only --tmpfs /tmp --cap-drop ALL
  --security-opt no-new-privileges:true --entrypoint /usr/local/bin/claude-bottle-sidecar
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
# "name=MiB" of each process of a container.
rss_each() {
  local p
  for p in $(docker top "$1" -eo pid | tail -n +2); do
    printf '%s=%s ' "$(tr '\0' ' ' <"/proc/$p/cmdline" | awk '{n=$1; sub(".*/","",n); print ($2==""?n:$2)}')" \
      "$(awk '/^VmRSS/{printf "%.0f", $2/1024}' "/proc/$p/status")"
  done
}
# Sum of VmRSS (kB) over every process of a container, read on the host.
rss_kb() {
  local sum=0 p
  for p in $(docker top "$1" -eo pid | tail -n +2); do
    sum=$(( sum + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
  done
  echo "$sum"
}

bundle_round() { # entrypoint binary: claude-bottle-sidecar (as rendered today) or claude-bottle-sidecar-init
  local t0 c ip d
  t0=$(now_ms)
  c=$(docker run -d "${COMMON[@]}" --entrypoint "/usr/local/bin/$1" -e CLAUDE_BOTTLE_SIDECAR_DAEMONS="$CSV" "$IMAGE" init)
  ip=$(ip_of "$c")
  for d in "${REAL[@]}"; do wait_port "$ip" "${PORT[$d]}" $(( t0 + 30000 )); done
  echo "$(( $(now_ms) - t0 )) $c"
}

legacy_round() {
  local t0 cs=() ips=() i d
  t0=$(now_ms)
  for d in "${REAL[@]}"; do cs+=("$(docker run -d "${COMMON[@]}" "$IMAGE" "$d")"); done
  for i in "${!REAL[@]}"; do
    wait_port "$(ip_of "${cs[$i]}")" "${PORT[${REAL[$i]}]}" $(( t0 + 30000 ))
  done
  echo "$(( $(now_ms) - t0 )) ${cs[*]}"
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), Docker $(docker version -f '{{.Server.Version}}')"
echo "daemons: $CSV"
echo "image size: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB (%d bytes)", $1/1e6, $1}')"
echo "  of which the base $(docker image inspect -f '{{.Size}}' debian:bookworm-slim | awk '{printf "%.1f MB", $1/1e6}'), the binary $(docker run --rm --label "$LABEL" --entrypoint sh "$IMAGE" -c 'wc -c </usr/local/bin/claude-bottle-sidecar' | awk '{printf "%.1f MB", $1/1e6}')"

# One healthcheck run, on the host with the same binaries (CPU and peak RSS).
BIN=$(mktemp -d); trap 'cleanup; rm -rf "$BIN"' EXIT
for c in claude-bottle-sidecar claude-bottle-sidecar-init; do
  CGO_ENABLED=0 go build -tags gore2regex -trimpath -ldflags='-s -w' -o "$BIN/$c" ./cmd/$c
done
for c in claude-bottle-sidecar claude-bottle-sidecar-init; do
  /usr/bin/time -f "one healthcheck with $c: %U s user + %S s sys CPU, peak RSS %M kB, %e s wall" "$BIN/$c" health egress 2>&1 | tail -1 || true
done

B=(); BL=(); L=(); RSS=(); RSSL=(); CG=()
for r in $(seq "$ROUNDS"); do
  read -r ms c < <(bundle_round claude-bottle-sidecar); B+=("$ms")
  sleep 5   # idle
  RSS+=("$(rss_kb "$c")"); EACH=$(rss_each "$c")
  CG+=("$(docker stats --no-stream --format '{{.MemUsage}}' "$c" | cut -d/ -f1 | tr -d ' ')")
  docker rm -f "$c" >/dev/null
  read -r ms c < <(bundle_round claude-bottle-sidecar-init); BL+=("$ms")
  sleep 5
  RSSL+=("$(rss_kb "$c")"); EACHL=$(rss_each "$c")
  docker rm -f "$c" >/dev/null
  read -r ms cs < <(legacy_round); L+=("$ms")
  LRSS=0; for c in $cs; do LRSS=$(( LRSS + $(rss_kb "$c") )); done
  docker rm -f $cs >/dev/null
  echo "round $r: bundle (init = claude-bottle-sidecar) up->healthy ${B[-1]} ms, idle RSS $(( RSS[-1] / 1024 )) MiB (cgroup ${CG[-1]}) [$EACH]"
  echo "         bundle (init = claude-bottle-sidecar-init) up->healthy ${BL[-1]} ms, idle RSS $(( RSSL[-1] / 1024 )) MiB [$EACHL]"
  echo "         legacy (4 containers) up->healthy ${L[-1]} ms, RSS right after healthy $(( LRSS / 1024 )) MiB"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median bundle up->healthy: $(printf '%s\n' "${B[@]}" | median) ms (light init: $(printf '%s\n' "${BL[@]}" | median) ms)"
echo "median legacy up->healthy: $(printf '%s\n' "${L[@]}" | median) ms"
echo "median bundle idle RSS (sum of VmRSS over the container's processes): $(( $(printf '%s\n' "${RSS[@]}" | median) / 1024 )) MiB (light init: $(( $(printf '%s\n' "${RSSL[@]}" | median) / 1024 )) MiB)"
