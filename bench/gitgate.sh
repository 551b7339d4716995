#!/usr/bin/env bash
# Benchmark: clone and push through git-gate vs straight to the upstream over
# ssh, for a generated repository of ~10k commits / ~100 MB packed.
#
#   bench/gitgate.sh            # from the repo root; RUNS=3 by default
#   RUNS=5 BENCH_CACHE=/var/tmp/gg bench/gitgate.sh
#
# Everything runs on loopback: a throwaway sshd (own host key, own
# authorized_keys) serves the upstream; the real sidecar binary is the gate.
# The generated repository is cached under $BENCH_CACHE and reused.
set -euo pipefail

RUNS=${RUNS:-3}
COMMITS=${COMMITS:-10000}
BLOB_BYTES=${BLOB_BYTES:-10240}   # random bytes per commit, written as hex (2x)
BENCH_CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/gitgate-bench-cache}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitgate-bench-XXXXXX")
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do
		# sshd's per-connection children start their own sessions: kill them too.
		pkill -KILL -P "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# --- binary --------------------------------------------------------------------
# TAGS=gore2regex builds with go-re2 instead of the stdlib regexp (for
# comparison; not what ships).
BIN=$WORK/claude-bottle-sidecar
if ! (cd "$ROOT" && go build ${TAGS:+-tags "$TAGS"} -o "$BIN" ./cmd/claude-bottle-sidecar) 2>"$WORK/build.err"; then
	echo "cmd/claude-bottle-sidecar does not build ($(tail -1 "$WORK/build.err")); using internal/gitgate/testdata/gatebin" >&2
	(cd "$ROOT" && go build ${TAGS:+-tags "$TAGS"} -o "$BIN" ./internal/gitgate/testdata/gatebin)
fi

export HOME=$WORK/home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
export GIT_CONFIG_GLOBAL=$HOME/.gitconfig
printf '[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# --- the repository (cached) -------------------------------------------------
REPO=$BENCH_CACHE/repo-$COMMITS-$BLOB_BYTES.git
if [ ! -f "$REPO/.complete" ]; then
	echo "generating $COMMITS commits into $REPO (once)..." >&2
	rm -rf "$REPO"
	mkdir -p "$BENCH_CACHE"
	git init --quiet --bare "$REPO"
	python3 - "$COMMITS" "$BLOB_BYTES" <<'EOF' | git -C "$REPO" fast-import --quiet
import os, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
for i in range(1, n + 1):
    data = b"\n".join(os.urandom(size)[j:j+32].hex().encode() for j in range(0, size, 32)) + b"\n"
    msg = b"commit %d\n" % i
    out.write(b"commit refs/heads/main\nmark :%d\n" % i)
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % (1700000000 + i))
    out.write(b"data %d\n%s" % (len(msg), msg))
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    out.write(b"M 644 inline data/f%03d.txt\ndata %d\n%s\n" % (i % 500, len(data), data))
EOF
	touch "$REPO/.complete"
fi
PACK_MB=$(du -sm "$REPO/objects" | cut -f1)
echo "repository: $COMMITS commits, ${PACK_MB} MB of objects" >&2

# --- sshd upstream -----------------------------------------------------------
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }
SSH_PORT=$(freeport)
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key"
cp "$WORK/client_key.pub" "$WORK/authorized_keys"
mkdir -p /run/sshd
cat >"$WORK/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_key
PidFile none
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
EOF
/usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
PIDS+=($!)
waitport "$SSH_PORT"
USER_NAME=$(id -un)
UP=$WORK/upstream.git
git clone --quiet --bare --no-local "$REPO" "$UP"
UP_URL="ssh://$USER_NAME@127.0.0.1:$SSH_PORT$UP"
printf '127.0.0.1 %s\n' "$(cut -d' ' -f1,2 "$WORK/host_key.pub")" >"$WORK/known_hosts"
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$WORK/host_key.pub")" >>"$WORK/known_hosts"
# The direct client: same ssh hardening as the gate minus multiplexing.
export GIT_SSH_COMMAND="ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i $WORK/client_key -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$WORK/known_hosts"

# --- gate ----------------------------------------------------------------------
GATE_PORT=$(freeport)
cat >"$WORK/gate.json" <<EOF
{"remotes": [{"name": "demo", "upstream": "$UP_URL", "identity_file": "$WORK/client_key",
  "known_host_key": "$(cut -d' ' -f1,2 "$WORK/host_key.pub")", "push_branches": ["agent/*"]}]}
EOF
"$BIN" git-gate --config "$WORK/gate.json" --listen "127.0.0.1:$GATE_PORT" --data-dir "$WORK/gate-data" >"$WORK/gate.log" 2>&1 &
PIDS+=($!)
waitport "$GATE_PORT"
GATE_URL="git://127.0.0.1:$GATE_PORT/demo.git"

timeit() { local s e; s=$(now); "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err" >&2; exit 1; }; e=$(now); printf '%.2f\n' "$(echo "$e - $s" | bc)"; }

declare -A R

# Clones (no checkout: measure the transfer, not the working tree).
t_cold=$(timeit git clone --quiet --no-checkout "$GATE_URL" "$WORK/c-cold")
R[clone_direct]=$(for i in $(seq 1 "$RUNS"); do timeit git clone --quiet --no-checkout "$UP_URL" "$WORK/d$i"; rm -rf "$WORK/d$i"; done | median)
R[clone_gate]=$(for i in $(seq 1 "$RUNS"); do timeit git clone --quiet --no-checkout "$GATE_URL" "$WORK/g$i"; rm -rf "$WORK/g$i"; done | median)

# No-op fetch (the gate still fetches from the upstream first).
R[fetch_direct]=$(for i in $(seq 1 "$RUNS"); do timeit git -C "$WORK/c-cold" fetch --quiet "$UP_URL"; done | median)
R[fetch_gate]=$(for i in $(seq 1 "$RUNS"); do timeit git -C "$WORK/c-cold" fetch --quiet origin; done | median)

# Pushes: one small commit, and 1000 commits of the same shape as the repo.
W=$WORK/w
git clone --quiet --no-checkout "$GATE_URL" "$W"
git -C "$W" checkout --quiet main
mkcommits() { # branch count
	git -C "$W" checkout --quiet -B "$1" origin/main
	for k in $(seq 1 "$2"); do
		head -c "$BLOB_BYTES" /dev/urandom | od -An -tx1 -v | tr -d ' \n' | fold -w 64 >"$W/data/new-$k.txt"
		echo >>"$W/data/new-$k.txt"
	done
	git -C "$W" add data
	git -C "$W" commit --quiet -m "$1"
}
mkmany() { # branch count: count commits via fast-import onto origin/main
	local base; base=$(git -C "$W" rev-parse origin/main)
	python3 - "$1" "$2" "$base" "$BLOB_BYTES" <<'EOF' | git -C "$W" fast-import --quiet --force
import os, sys
ref, n, base, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
out = sys.stdout.buffer
for i in range(1, n + 1):
    data = b"\n".join(os.urandom(size)[j:j+32].hex().encode() for j in range(0, size, 32)) + b"\n"
    out.write(b"commit refs/heads/%s\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata 4\nmany\n" % (ref.encode(), i, 1800000000 + i))
    out.write((b"from %s\n" % base.encode()) if i == 1 else (b"from :%d\n" % (i - 1)))
    out.write(b"M 644 inline many/f%03d.txt\ndata %d\n%s\n" % (i % 500, len(data), data))
EOF
}
R[push1_direct]=$(for i in $(seq 1 "$RUNS"); do mkcommits "agent/d1-$i" 1; timeit git -C "$W" push --quiet "$UP_URL" "agent/d1-$i"; done | median)
R[push1_gate]=$(for i in $(seq 1 "$RUNS"); do mkcommits "agent/g1-$i" 1; timeit git -C "$W" push --quiet origin "agent/g1-$i"; done | median)
R[push1k_direct]=$(for i in $(seq 1 "$RUNS"); do mkmany "agent/dk-$i" 1000; timeit git -C "$W" push --quiet "$UP_URL" "agent/dk-$i"; done | median)
R[push1k_gate]=$(for i in $(seq 1 "$RUNS"); do mkmany "agent/gk-$i" 1000; timeit git -C "$W" push --quiet origin "agent/gk-$i"; done | median)

cat <<EOF

git-gate benchmark ($(date -u +%F), $(nproc) cores, $(uname -r), $(git --version))
repository: $COMMITS commits, ${PACK_MB} MB of objects; median of $RUNS runs; seconds

| operation | direct (ssh) | through the gate |
|---|---|---|
| clone (no checkout), gate mirror cold | — | $t_cold |
| clone (no checkout), gate mirror warm | ${R[clone_direct]} | ${R[clone_gate]} |
| fetch, nothing new | ${R[fetch_direct]} | ${R[fetch_gate]} |
| push 1 commit (new branch) | ${R[push1_direct]} | ${R[push1_gate]} |
| push 1000 commits (~$((BLOB_BYTES * 2 / 1024)) KB each, new branch) | ${R[push1k_direct]} | ${R[push1k_gate]} |
EOF
