package cpurt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/fvec"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// ggmlAttention is attention written the way ggml's non-flash path
// computes it for one token: the scores of a whole row of the KV length
// padded to 32, masked with -Inf, a softmax over that row, and V·P as one
// dot product per output element over the transposed V (rows past kvLen
// are zero, as in llama.cpp's cleared cache). k and v are the cache
// contents as floats; with f16 they are F16 values, and Q and the
// probabilities are rounded to F16.
func ggmlAttention(pr plan.AttnParams, q, k, v []float32, kvLen int, f16 bool) []float32 {
	heads, hd, n := int(pr.Heads), int(pr.HeadDim), int(pr.N)
	group, kw := heads/int(pr.KVHeads), int(pr.KVHeads)*hd
	nKV := (kvLen + 31) &^ 31
	dot := func(x, y []float32) float32 {
		if !f16 {
			return fvec.Dot(x, y)
		}
		h := make([]uint16, len(y))
		for i, f := range y {
			h[i] = quant.FP32ToFP16(f)
		}
		return fvec.DotF16(x, h)
	}
	out := make([]float32, n*heads*hd)
	for i := range n {
		pos := kvLen - n + i
		first := 0
		if pr.Window > 0 {
			first = max(0, pos-int(pr.Window)+1)
		}
		for h := range heads {
			qh := append([]float32(nil), q[(i*heads+h)*hd:(i*heads+h+1)*hd]...)
			if f16 {
				roundF16(qh)
			}
			off := (h / group) * hd
			row := make([]float32, nKV)
			for j := range row {
				row[j] = float32(math.Inf(-1))
				if j >= first && j <= pos {
					row[j] = dot(qh, k[j*kw+off:j*kw+off+hd]) * pr.Scale
				}
			}
			sum := fvec.ExpSum(row, row, fvec.Max(row))
			fvec.Scale(row, row, float32(1/sum))
			if f16 {
				roundF16(row)
			}
			col := make([]float32, nKV)
			for d := range hd {
				for j := range kvLen {
					col[j] = v[j*kw+off+d]
				}
				out[(i*heads+h)*hd+d] = dot(row, col)
			}
		}
	}
	return out
}

// TestAttentionIsGGMLOrder: the runtime's attention (K and V rows read once
// per run of heads, V·P as axpys into 32 lane rows) gives the bits of
// ggmlAttention, for both cache types, one and several tokens, with and
// without a window, head sizes with and without a tail past 32, and worker
// counts that make runs of 4, 2 and 1 heads.
func TestAttentionIsGGMLOrder(t *testing.T) {
	const heads, kvHeads, capacity, pos0 = 8, 2, 80, 37
	for _, ct := range []quant.Type{quant.F32, quant.F16} {
		for _, hd := range []int{8, 40} {
			for _, n := range []int{1, 5} {
				for _, window := range []int{0, 11} {
					for _, threads := range []int{1, 2, 4} {
						name := fmt.Sprintf("%s/hd%d/n%d/window%d/threads%d", ct, hd, n, window, threads)
						t.Run(name, func(t *testing.T) {
							checkGGMLOrder(t, ct, plan.AttnParams{
								Heads: heads, KVHeads: kvHeads, HeadDim: int32(hd), N: int32(n), Capacity: capacity,
								Window: int32(window), Scale: float32(1 / math.Sqrt(float64(hd))),
							}, pos0, threads)
						})
					}
				}
			}
		}
	}
}

func checkGGMLOrder(t *testing.T, ct quant.Type, pr plan.AttnParams, pos0, threads int) {
	n, qw, kw := int(pr.N), int(pr.Heads*pr.HeadDim), int(pr.KVHeads*pr.HeadDim)
	capacity := int(pr.Capacity)
	contract := "attn_decode"
	if n > 1 {
		contract = "attn_prefill"
	}
	c, err := plan.Lookup(contract + "_" + map[quant.Type]string{quant.F32: "f32", quant.F16: "f16"}[ct])
	require.NoError(t, err)
	b := &planBuilder{n: n}
	qb, out := b.act("q", n*qw), b.act("out", n*qw)
	kcb, vcb := b.cache("kc", ct, capacity*kw), b.cache("vc", ct, capacity*kw)
	pl := b.plan(t, c.Name, pr, stepBinding(), qb, kcb, vcb, out)
	rt, err := New(b.weights, Options{Threads: threads})
	require.NoError(t, err)
	defer rt.Close()
	p, err := rt.Compile(pl)
	require.NoError(t, err)

	r := rand.New(rand.NewPCG(7, uint64(n*1000+kw)))
	q := randn(r, n*qw, 2)
	copy(floats(t, p, qb), q)
	k := fillCache(t, r, p, kcb, ct, capacity, kw).F
	v := fillCache(t, r, p, vcb, ct, capacity, kw).F
	run(t, p, make([]int32, n), pos0)
	want := ggmlAttention(pr, q, k, v, pos0+n, ct == quant.F16)
	require.Equal(t, want, floats(t, p, out))
}

// TestHeadRun: a unit takes the whole KV group while that leaves two units
// per worker, halving it down to single heads otherwise.
func TestHeadRun(t *testing.T) {
	require.Equal(t, 4, headRun(4, 32, 2))  // Mistral-7B decode, 2 workers
	require.Equal(t, 1, headRun(4, 32, 16)) // ... 16 workers
	require.Equal(t, 4, headRun(4, 512*32, 16))
	require.Equal(t, 2, headRun(4, 8, 2))
	require.Equal(t, 3, headRun(3, 6, 8)) // odd groups are not split
}
