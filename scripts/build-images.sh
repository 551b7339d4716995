#!/usr/bin/env bash
# build-images.sh — make claude-bottle's images on the local engine:
# claude-bottle-sidecars:latest and claude-bottle-agent-test:latest.
#
# A missing debian:bookworm-slim is made with scripts/make-base-image.sh
# (no registry needed); images whose inputs hash matches are not rebuilt.
#
# Usage: scripts/build-images.sh [--force] [image...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./internal/images/cmd/build-images "$@"
