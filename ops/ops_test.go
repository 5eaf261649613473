package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

func TestTableListsEveryOp(t *testing.T) {
	all := []Op{EmbedOp{}, RMSNormOp{}, MatMulOp{}, RopeOp{}, KVWriteOp{}, AttentionOp{}, SwiGLUOp{},
		AddOp{}, MatMulAddOp{}, QKVOp{}, GateUpOp{}, RopeKVWriteOp{}}
	require.Len(t, Table, len(all))
	for i, op := range all {
		assert.Equal(t, Table[i].Name, op.Name())
		_, fused := op.(Fused)
		assert.Equal(t, Table[i].Fused, fused, op.Name())
	}
}

func TestInferRejectsBadInputs(t *testing.T) {
	g := graph.New("t", 2)
	x := g.Input("x", quant.F32, 2, 64)
	w := g.Weight("w", quant.Q8_0, 32, 64)
	wrong := g.Weight("wrong", quant.Q8_0, 32, 96)
	tok := g.Input("tok", quant.I32, 2)
	kc := g.State("kc", quant.F32, 16, 32)
	cases := []struct {
		op   Op
		in   []*graph.Value
		want string
	}{
		{MatMulOp{}, []*graph.Value{w}, "takes 2 inputs, got 1"},
		{MatMulOp{}, []*graph.Value{wrong, x}, "weight wrong rows have 96 elements, input x rows have 64"},
		{MatMulOp{}, []*graph.Value{x, x}, "x must be a weight, is input"},
		{EmbedOp{}, []*graph.Value{w, x}, "tokens x must have rank 1"},
		{RMSNormOp{}, []*graph.Value{x, w}, "weight w must be F32, is Q8_0"},
		{AddOp{}, []*graph.Value{x, tok}, "input tok must be F32, is I32"},
		{RopeOp{Heads: 3, HeadDim: 16, Dims: 16}, []*graph.Value{x}, "want 3 heads × 16"},
		{RopeOp{Heads: 4, HeadDim: 16, Dims: 17}, []*graph.Value{x}, "bad rope attributes"},
		{AttentionOp{Heads: 4, KVHeads: 3, HeadDim: 16}, []*graph.Value{x, kc, kc}, "bad head counts"},
		{AttentionOp{Heads: 4, KVHeads: 4, HeadDim: 16}, []*graph.Value{x, kc, kc}, "cache rows have 32 elements, want 4 KV heads × 16"},
		{KVWriteOp{}, []*graph.Value{kc, kc, x, x}, "k rows have 64 elements, cache kc rows have 32"},
		{QKVOp{}, []*graph.Value{w, w, g.Weight("w4", quant.Q4_0, 32, 64), x}, "weights differ in type"},
	}
	for _, c := range cases {
		_, err := c.op.Infer(c.in)
		if assert.Error(t, err, c.op.Name()) {
			assert.Contains(t, err.Error(), c.want)
		}
	}
}

func TestRopeRotatesPairsByPosition(t *testing.T) {
	op := RopeOp{Heads: 2, HeadDim: 8, Dims: 6, Base: 10000, FreqScale: 1}
	x := NewTensor(3, 16)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x.F {
		x.F[i] = rng.Float32()*2 - 1
	}
	out, err := op.Eval(Step{Pos0: 0}, []*Tensor{x})
	require.NoError(t, err)
	y := out[0]
	assert.Equal(t, x.Row(0), y.Row(0), "position 0 is not rotated")
	for i := 1; i < 3; i++ {
		for h := range 2 {
			for k := 0; k < 8; k += 2 {
				a, b := x.Row(i)[h*8+k:], y.Row(i)[h*8+k:]
				if k >= 6 {
					assert.Equal(t, a[:2], b[:2], "dims past Dims are left alone")
					continue
				}
				theta := float64(i) * math.Pow(10000, -float64(k)/6)
				assert.InDelta(t, float64(a[0])*math.Cos(theta)-float64(a[1])*math.Sin(theta), b[0], 1e-6)
				assert.InDelta(t, float64(a[0])*math.Sin(theta)+float64(a[1])*math.Cos(theta), b[1], 1e-6)
			}
		}
	}
	shifted, err := op.Eval(Step{Pos0: 1}, []*Tensor{x})
	require.NoError(t, err)
	assert.NotEqual(t, y.Row(0), shifted[0].Row(0), "Pos0 moves every row")
}

func TestAttentionIsCausalGroupedAndWindowed(t *testing.T) {
	const heads, kvHeads, hd, ctx = 4, 2, 4, 8
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(t *Tensor) *Tensor {
		for i := range t.F {
			t.F[i] = rng.Float32()*2 - 1
		}
		return t
	}
	q := fill(NewTensor(3, heads*hd))
	kc, vc := fill(NewTensor(ctx, kvHeads*hd)), fill(NewTensor(ctx, kvHeads*hd))
	op := AttentionOp{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: 0.5}
	out, err := op.Eval(Step{Pos0: 2}, []*Tensor{q, kc, vc})
	require.NoError(t, err)

	// Changing cache rows past the last query's position changes nothing.
	kc2, vc2 := kc.Clone(), vc.Clone()
	for j := 5; j < ctx; j++ {
		fill(&Tensor{Shape: graph.Shape{1, kvHeads * hd}, F: kc2.Row(j)})
		fill(&Tensor{Shape: graph.Shape{1, kvHeads * hd}, F: vc2.Row(j)})
	}
	out2, err := op.Eval(Step{Pos0: 2}, []*Tensor{q, kc2, vc2})
	require.NoError(t, err)
	assert.Equal(t, out[0].F, out2[0].F)

	// The query at position 2 against a hand-computed softmax; head 3 reads
	// KV head 1 (two query heads per KV head).
	h, kvh := 3, 1
	var w [3]float64
	var sum float64
	for j := range 3 {
		var dot float64
		for d := range hd {
			dot += float64(q.Row(0)[h*hd+d]) * float64(kc.Row(j)[kvh*hd+d])
		}
		w[j] = math.Exp(dot * 0.5)
		sum += w[j]
	}
	for d := range hd {
		var want float64
		for j := range 3 {
			want += w[j] / sum * float64(vc.Row(j)[kvh*hd+d])
		}
		assert.InDelta(t, want, out[0].Row(0)[h*hd+d], 1e-6)
	}

	// A window of 1 sees only the query's own position: the output is V.
	op.Window = 1
	out3, err := op.Eval(Step{Pos0: 2}, []*Tensor{q, kc, vc})
	require.NoError(t, err)
	for d := range hd {
		assert.InDelta(t, vc.Row(4)[kvh*hd+d], out3[0].Row(2)[h*hd+d], 1e-6)
	}
}

func TestMatMulCostCountsWeightReadsByVariant(t *testing.T) {
	g := graph.New("t", 4)
	x := g.Input("x", quant.F32, 4, 64)
	w := g.Weight("w", quant.Q4_0, 32, 64)
	n, err := g.Add("mm", MatMulOp{}, w, x)
	require.NoError(t, err)
	cost := func(v Variant) Cost { return MatMulOp{Variant: v}.Cost(n.Inputs, n.Outputs) }
	assert.Equal(t, 4*w.Bytes(), cost(MatVec).WeightBytes, "matvec reads the weight per token")
	assert.Equal(t, w.Bytes(), cost(MultiMatVec).WeightBytes)
	assert.Equal(t, w.Bytes(), cost(MatMulTiled).WeightBytes)
	assert.Equal(t, int64(2*4*32*64), cost(MatVec).Flops)
	assert.Equal(t, "matmul[mt_matvec]", MatMulOp{Variant: MultiMatVec}.Label())
}

// Every fused op evaluates the same as its decomposition.
func TestFusedOpsEqualTheirDecomposition(t *testing.T) {
	const n, dim, kv, ffn = 3, 32, 16, 64
	build := func() (*graph.Graph, map[string][]byte) {
		g := graph.New("fused", n)
		weights := map[string][]byte{}
		rng := rand.New(rand.NewPCG(5, 6))
		weight := func(name string, rows, cols int) *graph.Value {
			f := make([]float32, rows*cols)
			for i := range f {
				f[i] = rng.Float32()*2 - 1
			}
			raw := make([]byte, rows*cols*4)
			require.NoError(t, quant.QuantizeRow(quant.F32, f, raw))
			weights[name] = raw
			return g.Weight(name, quant.F32, rows, cols)
		}
		tok := g.Input("tokens", quant.I32, n)
		x, err := g.Add("x", EmbedOp{}, weight("emb", 10, dim), tok)
		require.NoError(t, err)
		h := x.Out()
		qkv, err := g.Add("qkv", QKVOp{}, weight("wq", dim, dim), weight("wk", kv, dim), weight("wv", kv, dim), h)
		require.NoError(t, err)
		kc, vc := g.State("kc", quant.F16, 8, kv), g.State("vc", quant.F16, 8, kv)
		rope := RopeOp{Heads: 4, HeadDim: 8, Dims: 8, Base: 10000, FreqScale: 1}
		r, err := g.Add("rope_kv", RopeKVWriteOp{Rope: rope}, qkv.Outputs[0], qkv.Outputs[1], qkv.Outputs[2], kc, vc)
		require.NoError(t, err)
		a, err := g.Add("attn", AttentionOp{Heads: 4, KVHeads: 2, HeadDim: 8, Scale: 0.3}, r.Outputs...)
		require.NoError(t, err)
		o, err := g.Add("o+res", MatMulAddOp{}, weight("wo", dim, dim), a.Out(), h)
		require.NoError(t, err)
		gu, err := g.Add("gate_up", GateUpOp{}, weight("wg", ffn, dim), weight("wu", ffn, dim), o.Out())
		require.NoError(t, err)
		d, err := g.Add("down", MatMulOp{}, weight("wd", dim, ffn), gu.Out())
		require.NoError(t, err)
		g.Output(d.Out())
		require.NoError(t, graph.Verify(g))
		return g, weights
	}
	fused, weights := build()
	prim := fused.Clone()
	require.NoError(t, Unfuse(prim))
	require.NoError(t, graph.Verify(prim))
	for _, node := range prim.Nodes {
		_, isFused := node.Op.(Fused)
		assert.False(t, isFused, node.Name)
	}
	src := mapSource(weights)
	a, b := NewEvaluator(src), NewEvaluator(src)
	for step, pos := range []int{0, 3} {
		tokens := []int32{int32(step + 1), 4, 7}
		fa, err := a.Run(fused, tokens, pos)
		require.NoError(t, err)
		fb, err := b.Run(prim, tokens, pos)
		require.NoError(t, err)
		assert.InDeltaSlice(t, fa[0].F, fb[0].F, 1e-4)
	}
}

type mapSource map[string][]byte

func (m mapSource) WeightBytes(name string) ([]byte, error) { return m[name], nil }
