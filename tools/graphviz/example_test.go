package graphviz_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

// toyConfig is the shape of a tiny Llama-style model.
type toyConfig struct {
	Vocab, Dim, Hidden     int
	Blocks, Heads, KVHeads int
	Context                int
	Eps, RopeBase          float32
}

var toy = toyConfig{Vocab: 32, Dim: 16, Hidden: 40, Blocks: 2, Heads: 4, KVHeads: 2, Context: 16, Eps: 1e-5, RopeBase: 10000}

// memWeights holds F32 weights in memory by tensor name; it is the
// ops.WeightSource the evaluator reads, the way a GGUF file would be.
type memWeights map[string][]byte

func (m memWeights) WeightBytes(name string) ([]byte, error) {
	b, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("no weight %q", name)
	}
	return b, nil
}

// buildToy declares the model for a step of n tokens. Every weight it
// declares is also filled in w with seeded random values (norm weights
// near 1), so the model is the same on every run.
func buildToy(c toyConfig, n int, w memWeights) (*graph.Graph, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := graph.New("toy-llama", n)
	b := ops.NewBuilder(g)
	weight := func(name string, center float32, shape ...int) *graph.Value {
		data := make([]byte, 4*graph.Shape(shape).Elements())
		for i := 0; i < len(data); i += 4 {
			v := center + 0.5*(rng.Float32()-0.5)
			binary.LittleEndian.PutUint32(data[i:], math.Float32bits(v))
		}
		w[name] = data
		return g.Weight(name, quant.F32, shape...)
	}
	headDim := c.Dim / c.Heads
	kv := c.KVHeads * headDim
	ropeQ := ops.RopeOp{Heads: c.Heads, HeadDim: headDim, Dims: headDim, Base: c.RopeBase, FreqScale: 1}
	ropeK := ropeQ
	ropeK.Heads = c.KVHeads
	attn := ops.AttentionOp{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: headDim,
		Scale: float32(1 / math.Sqrt(float64(headDim)))}

	tokens := g.Input("tokens", quant.I32, n)
	x := b.Embed("embed", weight("token_embd.weight", 0, c.Vocab, c.Dim), tokens)
	for i := range c.Blocks {
		p, wp := fmt.Sprintf("blk.%d/", i), fmt.Sprintf("blk.%d.", i)
		h := b.RMSNorm(p+"attn_norm", x, weight(wp+"attn_norm.weight", 1, c.Dim), c.Eps)
		q := b.MatMul(p+"attn_q", weight(wp+"attn_q.weight", 0, c.Dim, c.Dim), h)
		k := b.MatMul(p+"attn_k", weight(wp+"attn_k.weight", 0, kv, c.Dim), h)
		v := b.MatMul(p+"attn_v", weight(wp+"attn_v.weight", 0, kv, c.Dim), h)
		q = b.Rope(p+"rope_q", q, ropeQ)
		k = b.Rope(p+"rope_k", k, ropeK)
		kc := g.State(p+"k_cache", quant.F32, c.Context, kv)
		vc := g.State(p+"v_cache", quant.F32, c.Context, kv)
		kc, vc = b.KVWrite(p+"kv_write", kc, vc, k, v)
		a := b.Attention(p+"attn", q, kc, vc, attn)
		o := b.MatMul(p+"attn_output", weight(wp+"attn_output.weight", 0, c.Dim, c.Dim), a)
		x = b.Add(p+"attn_residual", x, o)

		h = b.RMSNorm(p+"ffn_norm", x, weight(wp+"ffn_norm.weight", 1, c.Dim), c.Eps)
		gate := b.MatMul(p+"ffn_gate", weight(wp+"ffn_gate.weight", 0, c.Hidden, c.Dim), h)
		up := b.MatMul(p+"ffn_up", weight(wp+"ffn_up.weight", 0, c.Hidden, c.Dim), h)
		s := b.SwiGLU(p+"ffn_swiglu", gate, up)
		d := b.MatMul(p+"ffn_down", weight(wp+"ffn_down.weight", 0, c.Dim, c.Hidden), s)
		x = b.Add(p+"ffn_residual", x, d)
	}
	x = b.RMSNorm("output_norm", x, weight("output_norm.weight", 1, c.Dim), c.Eps)
	logits := b.MatMul("output", weight("output.weight", 0, c.Vocab, c.Dim), x)
	if err := b.Err(); err != nil {
		return nil, err // the first error, naming the node
	}
	g.Output(logits)
	return g, nil
}

// Defining a model in Go: declare it with ops.NewBuilder, check it with
// graph.Verify, run it with the reference evaluator, and draw it.
func Example() {
	weights := memWeights{}
	g, err := buildToy(toy, 3, weights)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := graph.Verify(g); err != nil {
		fmt.Println(err)
		return
	}
	out, err := ops.NewEvaluator(weights).Run(g, []int32{1, 7, 3}, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	logits := out[0]
	last := logits.Row(logits.Shape[0] - 1)
	fmt.Println("nodes:", len(g.Nodes))
	fmt.Println("logits:", logits.Shape)
	fmt.Printf("last token, first logits: %.2f %.2f %.2f %.2f\n", last[0], last[1], last[2], last[3])

	// Save the DOT text as toy.dot and run: dot -Tsvg toy.dot > toy.svg
	// (or graphviz.RenderSVG). Collapsed, the two identical blocks are
	// drawn once.
	var dotText strings.Builder
	if err := graphviz.WriteGraph(&dotText, g, graphviz.Options{Collapse: true}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("collapsed:", strings.Contains(dotText.String(), "blk.0 … blk.1 ×2 identical"))
	// Output:
	// nodes: 35
	// logits: [3×32]
	// last token, first logits: -0.68 -0.41 0.59 -0.17
	// collapsed: true
}
