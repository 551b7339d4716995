#!/bin/sh
# Pipelock figures for bench/pipelock.md: scanner throughput, DLP body
# throughput, latency and download through pipelock against direct, and the
# DLP corpus table. Run from the repository root; takes about 3 minutes.
set -eu
# TAGS=gore2regex compares the go-re2 engine (not what ships; see bench/sidecars.md).
T=${TAGS:+-tags $TAGS}
echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo; uptime; go version
echo "== scanner and DLP throughput (one goroutine, GOMAXPROCS=1)"
GOMAXPROCS=1 go test $T -run '^$' -bench . -benchtime 2s ./internal/secretscan/ ./internal/dlp/ | grep -E '^Benchmark'
echo "== latency: direct vs through pipelock (TLS intercepted, full DLP)"
go test $T -run '^$' -bench 'BenchmarkPath/.*/(get|post)' -benchtime 1000x ./internal/pipelock/ | grep -E '^Benchmark'
echo "== 100 MB download: direct vs through pipelock"
go test $T -run '^$' -bench 'BenchmarkPath/.*/download' -benchtime 3x ./internal/pipelock/ | grep -E '^Benchmark'
echo "== DLP corpus"
out=$(mktemp)
PIPELOCK_CORPUS_OUT="$out" go test $T -count=1 -run '^TestCorpus$' ./internal/pipelock/ >/dev/null
cat "$out"; rm -f "$out"
uptime
