#!/bin/sh
# Benchmarks the egress daemon: builds the real sidecar binary and runs
# bench/egress against it. Figures go to stdout; see bench/egress.md.
set -eu
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/claude-bottle-sidecar
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/claude-bottle-sidecar
go run ./bench/egress -bin "$bin" "$@"
