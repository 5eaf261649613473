package graph_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// tiny declares x → rmsnorm → matmul → add(x) → output.
func tiny(t *testing.T) *graph.Graph {
	t.Helper()
	g := graph.New("tiny", 2)
	b := ops.NewBuilder(g)
	tok := g.Input("tokens", quant.I32, 2)
	emb := g.Weight("emb.weight", quant.F32, 10, 32)
	norm := g.Weight("norm.weight", quant.F32, 32)
	w := g.Weight("w.weight", quant.Q4_0, 32, 32)
	x := b.Embed("embed", emb, tok)
	h := b.RMSNorm("norm", x, norm, 1e-5)
	y := b.MatMul("proj", w, h)
	out := b.Add("residual", x, y)
	require.NoError(t, b.Err())
	g.Output(out)
	require.NoError(t, graph.Verify(g))
	return g
}

func TestVerifyAcceptsAWellFormedGraph(t *testing.T) {
	g := tiny(t)
	assert.Len(t, g.Nodes, 4)
	assert.Equal(t, graph.Shape{2, 32}, g.Outputs[0].Shape)
	assert.Equal(t, "residual", g.Outputs[0].Name)
}

func TestVerifyReportsBrokenInvariants(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(g *graph.Graph)
		want    string
	}{
		{"wrong inferred shape", func(g *graph.Graph) { g.Lookup("proj").Shape = graph.Shape{2, 16} },
			"node proj (matmul): output 0 is F32[2×16], op infers F32[2×32]"},
		{"arity", func(g *graph.Graph) { n := g.NodeNamed("residual"); n.Inputs = n.Inputs[:1] },
			"takes 2 inputs, got 1"},
		{"dtype", func(g *graph.Graph) { g.Lookup("norm.weight").Type = quant.F16 },
			"weight norm.weight must be F32, is F16"},
		{"weight rows not whole blocks", func(g *graph.Graph) {
			w := g.Lookup("w.weight")
			w.Shape = graph.Shape{32, 48}
		}, "row length 48 is not a multiple of the Q4_0 block size 32"},
		{"duplicate value name", func(g *graph.Graph) { g.Lookup("norm.weight").Name = "emb.weight" },
			`value "emb.weight" is declared twice`},
		{"input from outside the graph", func(g *graph.Graph) {
			g.NodeNamed("proj").Inputs[0] = &graph.Value{Name: "stray", Kind: graph.Weight, Type: quant.F32, Shape: graph.Shape{32, 32}}
		}, "node proj (matmul): input 0 is not a value of the graph"},
		{"activation without producer", func(g *graph.Graph) { g.Lookup("proj").Producer = nil },
			"activation proj has no producer"},
		{"cycle", func(g *graph.Graph) { g.NodeNamed("norm").Inputs[0] = g.Lookup("residual") },
			"cycle through node"},
		{"no outputs", func(g *graph.Graph) { g.Outputs = nil }, "graph has no outputs"},
		{"unknown weight type", func(g *graph.Graph) { g.Lookup("w.weight").Type = quant.Type(99) },
			"weight w.weight: unknown type type(99)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := tiny(t)
			c.corrupt(g)
			err := graph.Verify(g)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestAddNamesTheNodeInErrors(t *testing.T) {
	g := graph.New("bad", 1)
	x := g.Input("x", quant.F32, 1, 8)
	w := g.Weight("w", quant.F32, 4, 16)
	_, err := g.Add("blk.0/attn_q", ops.MatMulOp{}, w, x)
	require.EqualError(t, err, "graph: node blk.0/attn_q (matmul): weight w rows have 16 elements, input x rows have 8")
	_, err = g.Add("n", ops.AddOp{}, x, nil)
	require.ErrorContains(t, err, "input 1 is nil")
}

func TestTopoKeepsInsertionOrderWhereDependenciesAllow(t *testing.T) {
	g := tiny(t)
	// Reverse the node list: Topo must still put producers first, and break
	// ties by insertion (node) order.
	for i, j := 0, len(g.Nodes)-1; i < j; i, j = i+1, j-1 {
		g.Nodes[i], g.Nodes[j] = g.Nodes[j], g.Nodes[i]
	}
	order, err := g.Topo()
	require.NoError(t, err)
	var names []string
	for _, n := range order {
		names = append(names, n.Name)
	}
	assert.Equal(t, []string{"embed", "norm", "proj", "residual"}, names)
}

func TestCloneIsDeepAndIndependent(t *testing.T) {
	g := tiny(t)
	c := g.Clone()
	require.NoError(t, graph.Verify(c))
	c.Lookup("proj").Name = "renamed"
	c.Nodes[0].Name = "changed"
	c.Lookup("w.weight").Shape[0] = 64
	assert.NotNil(t, g.Lookup("proj"), "the original keeps its names")
	assert.Equal(t, "embed", g.Nodes[0].Name)
	assert.Equal(t, 32, g.Lookup("w.weight").Shape[0])
	for i, n := range c.Nodes {
		assert.NotSame(t, g.Nodes[i], n)
		for j, in := range n.Inputs {
			assert.NotSame(t, g.Nodes[i].Inputs[j], in)
		}
	}
}

func TestRewriteHelpers(t *testing.T) {
	g := tiny(t)
	uses := g.Uses()
	x := g.Lookup("embed")
	assert.Len(t, uses[x], 2, "norm and residual read the embedding")
	// Replace the residual's reading of proj by the norm output and drop proj.
	g.ReplaceUses(g.Lookup("proj"), g.Lookup("norm"))
	g.Remove(g.NodeNamed("proj"))
	g.Prune()
	require.NoError(t, graph.Verify(g))
	assert.Nil(t, g.Lookup("w.weight"), "the weight only proj read is pruned")
	assert.Nil(t, g.Lookup("proj"))
}

func TestShapeAndValueBytes(t *testing.T) {
	g := tiny(t)
	assert.Equal(t, int64(32*18), g.Lookup("w.weight").Bytes(), "32 rows of one Q4_0 block")
	assert.Equal(t, int64(2*32*4), g.Lookup("proj").Bytes())
	assert.Equal(t, "[2×32]", graph.Shape{2, 32}.String())
	assert.Equal(t, 64, graph.Shape{2, 32}.Elements())
}
