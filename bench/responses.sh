#!/bin/sh
# Response-scan figures for bench/responses.md (issue 16 item 7): a 100 MB
# download through pipelock with response scanning off, warn, strip and
# block in one run (a binary file and documentation HTML), the scanner's
# throughput on one core, and the response corpus table. Run from the
# repository root; takes about 5 minutes.
set -eu
echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo; uptime; go version
echo "== 100 MB download through pipelock, scanning off / warn / strip / block"
go test -run '^$' -bench BenchmarkResponseDownload -benchtime 3x -count 2 ./internal/pipelock/ | grep -E '^Benchmark'
echo "== scanner, one core"
GOMAXPROCS=1 go test -run '^$' -bench BenchmarkScan -benchtime 3s ./internal/respscan/ | grep -E '^Benchmark'
echo "== response corpus"
out=$(mktemp)
PIPELOCK_RESPONSE_CORPUS_OUT="$out" go test -count=1 -run '^TestResponseCorpus$' ./internal/pipelock/ >/dev/null
cat "$out"; rm -f "$out"
uptime
