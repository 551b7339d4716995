package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPending scans 20 bottles x 50 proposals (half answered), the
// dashboard's refresh once a second.
func BenchmarkPending(b *testing.B) {
	root := b.TempDir()
	for s := range 20 {
		dir := filepath.Join(root, fmt.Sprintf("bench-%05d", s))
		os.MkdirAll(dir, 0o755)
		for i := range 50 {
			at := t0.Add(time.Duration(s*50+i) * time.Second)
			p := egress(NewID(at), at, "api.example.com")
			if err := WriteProposal(dir, p); err != nil {
				b.Fatal(err)
			}
			if i%2 == 0 {
				WriteAnswer(dir, &Answer{ID: p.ID, Decision: Approved, DecidedAt: at})
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		got, _, err := Pending(root)
		if err != nil || len(got) != 500 {
			b.Fatalf("%d %v", len(got), err)
		}
	}
}
