package cli

import "github.com/claude-bottle/claude-bottle/internal/dashboard"

func init() { Extra = append(Extra, dashboard.Command) }
