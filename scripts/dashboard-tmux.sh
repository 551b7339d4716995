#!/bin/sh
# Open `claude-bottle dashboard` next to your agents in tmux.
#
#   scripts/dashboard-tmux.sh            inside tmux: a new window "dashboard"
#                                        outside: a tmux session "claude-bottle"
#   scripts/dashboard-tmux.sh --split    inside tmux: split the current window
#
# CLAUDE_BOTTLE (default: claude-bottle on PATH) names the CLI binary.
set -eu
cli=${CLAUDE_BOTTLE:-claude-bottle}
command -v tmux >/dev/null 2>&1 || { echo "dashboard-tmux: tmux is not installed (apt-get install tmux)" >&2; exit 1; }
command -v "$cli" >/dev/null 2>&1 || { echo "dashboard-tmux: $cli not found; set CLAUDE_BOTTLE to the claude-bottle binary" >&2; exit 1; }
run="$cli dashboard"
if [ -n "${TMUX:-}" ]; then
	if [ "${1:-}" = "--split" ]; then
		exec tmux split-window -h -l 45% "$run"
	fi
	exec tmux new-window -n dashboard "$run"
fi
if tmux has-session -t claude-bottle 2>/dev/null; then
	tmux new-window -t claude-bottle -n dashboard "$run"
	exec tmux attach -t claude-bottle
fi
exec tmux new-session -s claude-bottle -n dashboard "$run"
