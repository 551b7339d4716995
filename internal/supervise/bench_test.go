package supervise

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// BenchmarkRoundTrip: one pipelock-block call over loopback HTTP, answered
// by an "operator" goroutine as soon as the proposal file appears. The
// figure is dominated by the daemon's answer poll interval.
func BenchmarkRoundTrip(b *testing.B) {
	for _, poll := range []time.Duration{10 * time.Millisecond, 250 * time.Millisecond} {
		b.Run(fmt.Sprint("poll=", poll), func(b *testing.B) {
			q := filepath.Join(b.TempDir(), "q")
			url, stop := startDaemonB(b, Config{QueueDir: q, Hold: time.Minute, Poll: poll})
			defer stop()
			ctx := context.Background()
			c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "0"}, nil)
			s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			i := 0
			for b.Loop() {
				i++
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						es, _, _ := queue.List(q, "")
						for _, e := range es {
							if e.Answer == nil {
								queue.WriteAnswer(q, &queue.Answer{ID: e.Proposal.ID, Decision: queue.Approved, DecidedAt: time.Now()})
								return
							}
						}
						time.Sleep(time.Millisecond)
					}
				}()
				res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: ToolPipelock, Arguments: map[string]any{"hosts": []string{fmt.Sprintf("h%d.example.com", i)}, "justification": "bench"}})
				if err != nil || res.IsError {
					b.Fatal(err)
				}
				<-done
			}
		})
	}
}
