package cpurt

import (
	"testing"

	"github.com/metalgraph/metalgraph/quant"
)

const benchModel = "derived/synth-d256-gqa-Q4_0.gguf"

// BenchmarkDecode times N = 1 steps at growing positions (the cache is
// reset when full), reporting tokens per second.
func BenchmarkDecode(b *testing.B) {
	md := openModel(b, benchModel, quant.F32, 0)
	p := md.program(b, 1)
	tok := []int32{1}
	b.ResetTimer()
	pos := 0
	for b.Loop() {
		if pos == md.cfg.Context {
			md.rt.ResetKV()
			pos = 0
		}
		if _, err := p.Run(tok, pos); err != nil {
			b.Fatal(err)
		}
		pos++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkPrefill times 64-token prefill steps from position 0.
func BenchmarkPrefill(b *testing.B) {
	const n = 64
	md := openModel(b, benchModel, quant.F32, 0)
	p := md.program(b, n)
	tokens := make([]int32, n)
	for i := range tokens {
		tokens[i] = int32(3 + i)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Run(tokens, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
}
