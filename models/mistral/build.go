package mistral

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// Build returns the primitive graph of one step of n tokens: embed, then
// per block rmsnorm → Q/K/V → rope → cache write → attention → output
// projection + residual, rmsnorm → gate/up → swiglu → down + residual, and
// finally rmsnorm → logits for every token of the step. Passes fuse and
// specialise it; this is the model as written in the paper.
func Build(c Config, w *Weights, n int) (*graph.Graph, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if n <= 0 || n > c.Context {
		return nil, fmt.Errorf("step of %d tokens: must be between 1 and the context length %d", n, c.Context)
	}
	g := graph.New(fmt.Sprintf("%s/n=%d", modelName(c), n), n)
	b := ops.NewBuilder(g)
	weight := func(t *Tensor) *graph.Value {
		if v := g.Lookup(t.Name); v != nil {
			return v // tied embeddings: one value, two readers
		}
		return g.Weight(t.Name, t.Type, t.Shape...)
	}
	kv := c.KVHeads * c.HeadDim
	ropeQ := ops.RopeOp{Heads: c.Heads, HeadDim: c.HeadDim, Dims: c.RopeDims, Base: c.RopeBase, FreqScale: c.RopeScale}
	ropeK := ropeQ
	ropeK.Heads = c.KVHeads
	attn := ops.AttentionOp{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
		Scale: float32(1 / math.Sqrt(float64(c.HeadDim))), Window: c.Window}

	tokens := g.Input("tokens", quant.I32, n)
	x := b.Embed("embed", weight(w.TokenEmbd), tokens)
	for i, blk := range w.Blocks {
		p := fmt.Sprintf("blk.%d/", i)
		h := b.RMSNorm(p+"attn_norm", x, weight(blk.AttnNorm), c.Eps)
		q := b.MatMul(p+"attn_q", weight(blk.Q), h)
		k := b.MatMul(p+"attn_k", weight(blk.K), h)
		v := b.MatMul(p+"attn_v", weight(blk.V), h)
		q = b.Rope(p+"rope_q", q, ropeQ)
		k = b.Rope(p+"rope_k", k, ropeK)
		kc := g.State(p+"k_cache", c.KVType, c.Context, kv)
		vc := g.State(p+"v_cache", c.KVType, c.Context, kv)
		kc, vc = b.KVWrite(p+"kv_write", kc, vc, k, v)
		a := b.Attention(p+"attn", q, kc, vc, attn)
		o := b.MatMul(p+"attn_output", weight(blk.Out), a)
		x = b.Add(p+"attn_residual", x, o)

		h = b.RMSNorm(p+"ffn_norm", x, weight(blk.FFNNorm), c.Eps)
		gate := b.MatMul(p+"ffn_gate", weight(blk.Gate), h)
		up := b.MatMul(p+"ffn_up", weight(blk.Up), h)
		s := b.SwiGLU(p+"ffn_swiglu", gate, up)
		d := b.MatMul(p+"ffn_down", weight(blk.Down), s)
		x = b.Add(p+"ffn_residual", x, d)
	}
	x = b.RMSNorm("output_norm", x, weight(w.OutputNorm), c.Eps)
	logits := b.MatMul("output", weight(w.Output), x)
	if err := b.Err(); err != nil {
		return nil, err
	}
	g.Output(logits)
	if err := graph.Verify(g); err != nil {
		return nil, err
	}
	return g, nil
}

func modelName(c Config) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Arch
}
