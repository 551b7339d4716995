#!/usr/bin/env bash
# bench/assemble.sh — regenerate BENCHMARKS.md: bench/summary.md (the table of
# every figure an issue asks for), then each bench/<part>.md with its
# headings one level down and an anchor the table links to. Edit those
# files, not BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  cat bench/summary.md
  for part in egress pipelock upload responses gitgate supervise sidecars bottles run escape binaries logs k8s k8s-bottles; do
    anchor=$part
    [ "$part" = gitgate ] && anchor=git-gate
    printf '\n<a id="%s"></a>\n\n' "$anchor"
    # Demote headings, but not "# " lines inside fenced code blocks.
    awk '/^```/{fence=!fence} !fence && /^#+ /{$0="#" $0} {print}' "bench/$part.md"
  done
} >BENCHMARKS.md
echo "wrote BENCHMARKS.md"
