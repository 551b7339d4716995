package egress

import (
	"math/rand/v2"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretenc"
)

// redactBenchForms are the forms egress masks for one realistic token (as
// routes.go builds them).
func redactBenchForms() []string {
	return secretenc.Encodings("ghp_R8x2Kq9LmZ4vT7wP1nB5cY3dF6gH0jQsA2eU", 8)
}

// BenchmarkRedactInPlace: the masking pass over 1 MiB of response body,
// text-like and binary, with every form of one token (the per-byte cost of
// every download through a route).
func BenchmarkRedactInPlace(b *testing.B) {
	red := newRedactor(redactBenchForms())
	rng := rand.New(rand.NewPCG(1, 2))
	text := make([]byte, 1<<20)
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n{}\":,"
	for i := range text {
		text[i] = alpha[rng.IntN(len(alpha))]
	}
	bin := make([]byte, 1<<20)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	cyclic := make([]byte, 1<<20) // what bench/egress downloads
	for i := range cyclic {
		cyclic[i] = byte(i*7 + 3)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{{"text", text}, {"binary", bin}, {"cyclic", cyclic}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, len(c.data))
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				copy(buf, c.data)
				red.inPlace(buf)
			}
		})
	}
}
