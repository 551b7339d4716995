#!/usr/bin/env bash
# lint.sh — the style checks CI runs before the tests; any finding fails.
#
#   gofmt -l .        no file needs formatting
#   go vet ./...      the compiler's own checks
#   staticcheck ./... pinned below; installed with go install (module proxy)
#
# staticcheck is installed once per version into the user's cache, so a
# second run only analyses.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2

log() { printf '==> %s\n' "$*"; }

log "gofmt -l"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "lint.sh: these files need gofmt -w:" >&2
  echo "$unformatted" >&2
  exit 1
fi

log "go vet ./..."
go vet ./...

bin="${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle/tools/staticcheck-$STATICCHECK_VERSION"
if [ ! -x "$bin/staticcheck" ]; then
  log "installing staticcheck $STATICCHECK_VERSION"
  GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
log "staticcheck ./... ($("$bin/staticcheck" -version))"
"$bin/staticcheck" ./...
