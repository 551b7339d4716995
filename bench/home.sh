# bench/home.sh — sourced by the bench scripts that run whole bottles: a
# throwaway CLAUDE_BOTTLE_HOME, the CLI built into it as $bin, the images
# built (not timed), and every bottle whose slug is added to `started`
# stopped on exit, also on Ctrl-C. Call from the repository root.
export CLAUDE_BOTTLE_HOME
CLAUDE_BOTTLE_HOME=$(mktemp -d /tmp/claude-bottle-bench-XXXXXX)
bin=$CLAUDE_BOTTLE_HOME/claude-bottle
started=()
finish() {
  for s in "${started[@]}"; do "$bin" stop "$s" >/dev/null 2>&1 || true; done
  rm -rf "$CLAUDE_BOTTLE_HOME"
}
trap finish EXIT
go build -o "$bin" ./cmd/claude-bottle
"$bin" build claude-bottle-sidecars:latest claude-bottle-agent-test:latest >/dev/null 2>&1
mkdir -p "$CLAUDE_BOTTLE_HOME/bottles" "$CLAUDE_BOTTLE_HOME/agents"
