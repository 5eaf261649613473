package cpurt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// BenchmarkAttention times one attention dispatch of Mistral-7B's shape
// (32 query heads, 8 KV heads of 128): decode at 4096 cached positions and
// a 512-token prefill from position 0, with F32 and F16 caches, on the
// runtime's default worker count. Throughput is of the cache bytes the
// dispatch needs (K and V rows once per KV head).
func BenchmarkAttention(b *testing.B) {
	const heads, kvHeads, hd = 32, 8, 128
	for _, ct := range []quant.Type{quant.F32, quant.F16} {
		for _, step := range []struct{ n, kvLen int }{{1, 4096}, {512, 512}} {
			b.Run(fmt.Sprintf("%s/n%d/kv%d", ct, step.n, step.kvLen), func(b *testing.B) {
				n, kw, qw := step.n, kvHeads*hd, heads*hd
				pr := plan.AttnParams{Heads: heads, KVHeads: kvHeads, HeadDim: hd, N: int32(n),
					Capacity: int32(step.kvLen), Scale: 0.088}
				contract := "attn_decode"
				if n > 1 {
					contract = "attn_prefill"
				}
				c, err := plan.Lookup(contract + "_" + map[quant.Type]string{quant.F32: "f32", quant.F16: "f16"}[ct])
				if err != nil {
					b.Fatal(err)
				}
				pb := &planBuilder{n: n}
				qb, out := pb.act("q", n*qw), pb.act("out", n*qw)
				kcb, vcb := pb.cache("kc", ct, step.kvLen*kw), pb.cache("vc", ct, step.kvLen*kw)
				p := pb.compile(b, pb.plan(b, c.Name, pr, stepBinding(), qb, kcb, vcb, out))
				r := rand.New(rand.NewPCG(1, 2))
				copy(floats(b, p, qb), randn(r, n*qw, 1))
				fillCache(b, r, p, kcb, ct, step.kvLen, kw)
				fillCache(b, r, p, vcb, ct, step.kvLen, kw)
				tokens := make([]int32, n)
				b.SetBytes(int64(2 * step.kvLen * kw * ct.BlockBytes()))
				b.ResetTimer()
				for b.Loop() {
					if _, err := p.Run(tokens, step.kvLen-n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
