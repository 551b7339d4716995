package agentcontract

import (
	"strings"
	"testing"
	"time"
)

func TestMCPToolTimeout(t *testing.T) {
	tests := []struct {
		hold time.Duration
		want string
	}{
		{0, "120000"},
		{DefaultHold, "120000"},
		{-time.Second, "120000"},
		{10 * time.Second, "85000"},
		{5 * time.Minute, "375000"},
	}
	for _, tc := range tests {
		if got := MCPToolTimeout(tc.hold); got != tc.want {
			t.Errorf("MCPToolTimeout(%s) = %s, want %s", tc.hold, got, tc.want)
		}
	}
}

func TestMCPRegisterCommand(t *testing.T) {
	got := strings.Join(MCPRegisterCommand(), " ")
	if got != "claude mcp add --scope user --transport http supervise http://supervise:9100/" {
		t.Fatalf("MCPRegisterCommand() = %q", got)
	}
}
