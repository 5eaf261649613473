package engine_test

import (
	"runtime"
	"testing"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/runtimes"
)

// benchModels are the shared tiny models the step benchmarks run: the
// stories260K weights in each storage type the CPU runtime has a mat-vec
// for (F32, Q8_0, Q4_0).
var benchModels = []struct{ name, file string }{
	{"f32", "stories260K-ffn192-f32.gguf"},
	{"Q8_0", "stories260K-ffn192-Q8_0.gguf"},
	{"Q4_0", "stories260K-ffn192-Q4_0.gguf"},
}

// decodeSpan is how many positions BenchmarkDecodeStep cycles through
// before it clears the cache: attention grows with the position, and
// llama-bench's tg128 averages over positions 0..127 the same way.
const decodeSpan = 128

// prefillTokens is BenchmarkPrefill's prompt: one step of the default
// prefill chunk.
const prefillTokens = engine.DefaultPrefillChunk

// BenchmarkDecodeStep times one decode step (N = 1). The CPU runtime uses
// GOMAXPROCS threads, so "go test -cpu 1,2" compares thread counts.
func BenchmarkDecodeStep(b *testing.B) {
	for _, m := range benchModels {
		b.Run(m.name, func(b *testing.B) {
			s := benchSession(b, m.file, decodeSpan)
			ids := someTokens(s, decodeSpan)
			for b.Loop() {
				if s.Pos() == decodeSpan {
					s.Reset() // a few KiB cleared once every decodeSpan steps
				}
				if _, err := s.Step(ids[s.Pos() : s.Pos()+1]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPrefill times the prefill of a 64-token prompt from an empty
// cache, one step of N = 64.
func BenchmarkPrefill(b *testing.B) {
	for _, m := range benchModels {
		b.Run(m.name, func(b *testing.B) {
			s := benchSession(b, m.file, prefillTokens)
			ids := someTokens(s, prefillTokens)
			for b.Loop() {
				s.Reset()
				if _, err := s.Prefill(ids); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*prefillTokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// benchSession opens a shared derived model on the CPU runtime with a
// context of ctx positions, its step programs compiled.
func benchSession(b *testing.B, file string, ctx int) *engine.Session {
	b.Helper()
	m, err := mistral.Open(shareddata.Path(b, "models", "derived", file))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	be, err := runtimes.Open("cpu", m.File.Bytes(), runtimes.Options{Threads: runtime.GOMAXPROCS(0)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	s, err := engine.NewSession(m, be, engine.Options{Context: ctx})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Warm(1, min(ctx, engine.DefaultPrefillChunk)); err != nil {
		b.Fatal(err)
	}
	return s
}

// someTokens returns n token ids spread over the vocabulary; speed does
// not depend on which.
func someTokens(s *engine.Session, n int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32((i*7919 + 17) % s.Config().Vocab)
	}
	return ids
}
