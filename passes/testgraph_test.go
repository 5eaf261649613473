package passes

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// tiny is a Llama-shaped test model small enough to read in a DOT dump:
// 32-wide embeddings (one Q4_0/Q8_0 block per row), 4 query heads and 2
// KV heads of 8, a 64-wide FFN, a 48-token vocabulary and 32 positions.
type tiny struct {
	layers int
	// types overrides the type of the weights whose GGUF name ends in
	// key+".weight" ("attn_v" for every block, "blk.1.attn_v" for one);
	// the rest are F32.
	types map[string]quant.Type
	// kRopeBase, if set, gives the K rope another base than the Q rope.
	kRopeBase float32
	// extra adds nodes after the model (extra readers); the values it
	// returns become graph outputs too.
	extra func(b *ops.Builder, g *graph.Graph) []*graph.Value
}

const (
	tinyDim, tinyHeads, tinyKVHeads, tinyHeadDim = 32, 4, 2, 8
	tinyFFN, tinyVocab, tinyContext              = 64, 48, 32
)

// graph builds the step of n tokens the way mistral.Build does.
func (m tiny) graph(t testing.TB, n int) *graph.Graph {
	t.Helper()
	g := graph.New(fmt.Sprintf("tiny/n=%d", n), n)
	b := ops.NewBuilder(g)
	weight := func(name string, shape ...int) *graph.Value {
		typ := quant.F32
		for role, tt := range m.types {
			if strings.HasSuffix(name, role+".weight") {
				typ = tt
			}
		}
		return g.Weight(name, typ, shape...)
	}
	kv := tinyKVHeads * tinyHeadDim
	ropeQ := ops.RopeOp{Heads: tinyHeads, HeadDim: tinyHeadDim, Dims: tinyHeadDim, Base: 10000, FreqScale: 1}
	ropeK := ropeQ
	ropeK.Heads = tinyKVHeads
	if m.kRopeBase != 0 {
		ropeK.Base = m.kRopeBase
	}
	attn := ops.AttentionOp{Heads: tinyHeads, KVHeads: tinyKVHeads, HeadDim: tinyHeadDim,
		Scale: float32(1 / math.Sqrt(tinyHeadDim))}

	x := b.Embed("embed", weight("token_embd.weight", tinyVocab, tinyDim), g.Input("tokens", quant.I32, n))
	for i := range m.layers {
		p, w := fmt.Sprintf("blk.%d/", i), fmt.Sprintf("blk.%d.", i)
		h := b.RMSNorm(p+"attn_norm", x, weight(w+"attn_norm.weight", tinyDim), 1e-5)
		q := b.MatMul(p+"attn_q", weight(w+"attn_q.weight", tinyDim, tinyDim), h)
		k := b.MatMul(p+"attn_k", weight(w+"attn_k.weight", kv, tinyDim), h)
		v := b.MatMul(p+"attn_v", weight(w+"attn_v.weight", kv, tinyDim), h)
		q = b.Rope(p+"rope_q", q, ropeQ)
		k = b.Rope(p+"rope_k", k, ropeK)
		kc, vc := b.KVWrite(p+"kv_write", g.State(p+"k_cache", quant.F32, tinyContext, kv),
			g.State(p+"v_cache", quant.F32, tinyContext, kv), k, v)
		a := b.Attention(p+"attn", q, kc, vc, attn)
		o := b.MatMul(p+"attn_output", weight(w+"attn_output.weight", tinyDim, tinyDim), a)
		x = b.Add(p+"attn_residual", x, o)
		h = b.RMSNorm(p+"ffn_norm", x, weight(w+"ffn_norm.weight", tinyDim), 1e-5)
		gate := b.MatMul(p+"ffn_gate", weight(w+"ffn_gate.weight", tinyFFN, tinyDim), h)
		up := b.MatMul(p+"ffn_up", weight(w+"ffn_up.weight", tinyFFN, tinyDim), h)
		s := b.SwiGLU(p+"ffn_swiglu", gate, up)
		d := b.MatMul(p+"ffn_down", weight(w+"ffn_down.weight", tinyDim, tinyFFN), s)
		x = b.Add(p+"ffn_residual", x, d)
	}
	x = b.RMSNorm("output_norm", x, weight("output_norm.weight", tinyDim), 1e-5)
	logits := b.MatMul("output", weight("output.weight", tinyVocab, tinyDim), x)
	var extra []*graph.Value
	if m.extra != nil {
		extra = m.extra(b, g)
	}
	require.NoError(t, b.Err())
	g.Output(logits)
	g.Output(extra...)
	require.NoError(t, graph.Verify(g))
	return g
}

// weightMap is an ops.WeightSource of random weights made for a graph.
type weightMap map[string][]byte

func (w weightMap) WeightBytes(name string) ([]byte, error) {
	b, ok := w[name]
	if !ok {
		return nil, fmt.Errorf("no weight named %s", name)
	}
	return b, nil
}

// randomWeights encodes random values for every weight of g in its type.
// Values depend only on the weight's name, so graphs of every step size
// see the same model. Matrices are ~N(0, 1/row length); norm weights ~1.
func randomWeights(t testing.TB, g *graph.Graph) weightMap {
	t.Helper()
	w := weightMap{}
	for _, v := range g.ValuesOf(graph.Weight) {
		h := fnv.New64a()
		h.Write([]byte(v.Name))
		r := rand.New(rand.NewPCG(h.Sum64(), 1))
		cols := v.Shape.Last()
		rowBytes, err := quant.RowBytes(v.Type, int64(cols))
		require.NoError(t, err)
		row := make([]float32, cols)
		var data []byte
		for range v.Shape.Elements() / cols {
			for i := range row {
				if len(v.Shape) == 1 {
					row[i] = 1 + 0.1*float32(r.NormFloat64())
				} else {
					row[i] = float32(r.NormFloat64() / math.Sqrt(float64(cols)))
				}
			}
			enc := make([]byte, rowBytes)
			require.NoError(t, quant.QuantizeRow(v.Type, row, enc))
			data = append(data, enc...)
		}
		w[v.Name] = data
	}
	return w
}

// stories opens the stories260K model of the shared test data.
func stories(t testing.TB) *mistral.Model {
	t.Helper()
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func storiesGraph(t testing.TB, m *mistral.Model, n int) *graph.Graph {
	t.Helper()
	g, err := mistral.Build(m.Config, m.Weights, n)
	require.NoError(t, err)
	return g
}

// apply runs passes in order over a clone of g, verifying after each, and
// returns the clone.
func apply(t testing.TB, g *graph.Graph, ps ...Pass) *graph.Graph {
	t.Helper()
	c := g.Clone()
	for _, p := range ps {
		require.NoError(t, p.Run(&State{Graph: c}), p.Name)
		require.NoError(t, graph.Verify(c), "after %s", p.Name)
	}
	return c
}

// describe lists g's nodes in order with their labels and inputs, and its
// outputs: two graphs with the same description have the same structure.
func describe(g *graph.Graph) string {
	var sb strings.Builder
	for _, n := range g.Nodes {
		label := n.Op.Name()
		if op, ok := n.Op.(ops.Op); ok {
			label = op.Label()
		}
		fmt.Fprintf(&sb, "%s = %s(", n.Name, label)
		for i, in := range n.Inputs {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(in.Name)
		}
		sb.WriteString(")\n")
	}
	for _, o := range g.Outputs {
		fmt.Fprintf(&sb, "output %s\n", o.Name)
	}
	return sb.String()
}

// countOps counts g's nodes by op name.
func countOps(g *graph.Graph) map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		c[n.Op.Name()]++
	}
	return c
}

// readersOf returns the names of the nodes that read v, in node order.
func readersOf(g *graph.Graph, v *graph.Value) []string {
	var names []string
	for _, n := range g.Uses()[v] {
		names = append(names, n.Name)
	}
	return names
}

// mustNode returns the node named name, failing the test if absent.
func mustNode(t testing.TB, g *graph.Graph, name string) *graph.Node {
	t.Helper()
	n := g.NodeNamed(name)
	require.NotNil(t, n, "no node %s in\n%s", name, describe(g))
	return n
}

// opaqueOp is an op no pass knows: passes must leave it alone.
type opaqueOp struct{}

func (opaqueOp) Name() string { return "opaque" }
func (opaqueOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	return []graph.Out{{Type: in[0].Type, Shape: in[0].Shape}}, nil
}
