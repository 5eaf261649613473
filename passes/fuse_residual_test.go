package passes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

func TestFuseResidual(t *testing.T) {
	before := tiny{layers: 1}.graph(t, 1)
	after := apply(t, before, FuseResidual)
	goldenDOT(t, "fuse_residual", before, after)

	assert.Len(t, after.Nodes, len(before.Nodes)-2)
	// The second add's residual is the first fused node's output.
	for _, c := range []struct{ matmul, add, weight, x, r, reader string }{
		{"blk.0/attn_output", "blk.0/attn_residual", "blk.0.attn_output.weight", "blk.0/attn", "embed", "blk.0/ffn_norm"},
		{"blk.0/ffn_down", "blk.0/ffn_residual", "blk.0.ffn_down.weight", "blk.0/ffn_swiglu", "blk.0/attn_output+residual", "output_norm"},
	} {
		assert.Nil(t, after.NodeNamed(c.matmul), c.matmul)
		assert.Nil(t, after.NodeNamed(c.add), c.add)
		n := mustNode(t, after, c.matmul+"+residual")
		require.IsType(t, ops.MatMulAddOp{}, n.Op)
		assert.Equal(t, []string{c.weight, c.x, c.r}, names(n.Inputs))
		assert.Contains(t, readersOf(after, n.Out()), c.reader)
	}
	assert.Equal(t, describe(after), describe(apply(t, after, FuseResidual)), "a second run changes nothing")
}

func TestFuseResidualEitherOrder(t *testing.T) {
	g := tiny{layers: 1}.graph(t, 1)
	add := g.NodeNamed("blk.0/attn_residual")
	add.Inputs[0], add.Inputs[1] = add.Inputs[1], add.Inputs[0] // add(matmul, r)
	after := apply(t, g, FuseResidual)
	n := mustNode(t, after, "blk.0/attn_output+residual")
	assert.Equal(t, []string{"blk.0.attn_output.weight", "blk.0/attn", "embed"}, names(n.Inputs))
}

func TestFuseResidualLeavesUnfusable(t *testing.T) {
	cases := map[string]tiny{
		"product has another reader": {layers: 1, extra: func(b *ops.Builder, g *graph.Graph) []*graph.Value {
			return []*graph.Value{b.Add("probe", g.Lookup("blk.0/ffn_down"), g.Lookup("embed"))}
		}},
		"product is a graph output": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			return []*graph.Value{g.Lookup("blk.0/ffn_down")}
		}},
		"product of an op the pass does not know": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			add := g.NodeNamed("blk.0/ffn_residual")
			n, err := g.Add("opaque", opaqueOp{}, add.Inputs[1])
			if err != nil {
				panic(err)
			}
			add.Inputs[1] = n.Out()
			return nil
		}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			g := m.graph(t, 1)
			require.NoError(t, g.Sort())
			after := apply(t, g, FuseResidual)
			assert.NotNil(t, after.NodeNamed("blk.0/ffn_residual"), "ffn residual stays an add")
			assert.NotNil(t, after.NodeNamed("blk.0/attn_output+residual"), "the attention residual still fuses")
		})
	}
}

func TestFuseResidualBothProducts(t *testing.T) {
	// add(matmul, matmul): the second operand is folded, the first stays.
	m := tiny{layers: 1, extra: func(b *ops.Builder, g *graph.Graph) []*graph.Value {
		h := g.Lookup("blk.0/ffn_norm")
		p := b.MatMul("p", g.Lookup("blk.0.attn_output.weight"), h)
		q := b.MatMul("q", g.Lookup("blk.0.attn_output.weight"), h)
		return []*graph.Value{b.Add("sum", p, q)}
	}}
	after := apply(t, m.graph(t, 1), FuseResidual)
	n := mustNode(t, after, "q+residual")
	assert.Equal(t, []string{"blk.0.attn_output.weight", "blk.0/ffn_norm", "p"}, names(n.Inputs))
	mustNode(t, after, "p")
}

func TestFuseResidualOnStories(t *testing.T) {
	m := stories(t)
	g := storiesGraph(t, m, 1)
	after := apply(t, g, FuseResidual)
	layers := m.Config.Layers
	assert.Len(t, after.Nodes, len(g.Nodes)-2*layers, "two adds folded per block")
	assert.Equal(t, 2*layers, countOps(after)["matmul_add"])
	assert.Zero(t, countOps(after)["add"])
	assert.Equal(t, countOps(g)["matmul"]-2*layers, countOps(after)["matmul"])
}
