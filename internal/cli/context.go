package cli

import "context"

func rootContext() context.Context { return context.Background() }
