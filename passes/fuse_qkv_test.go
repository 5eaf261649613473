package passes

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

func TestFuseQKV(t *testing.T) {
	before := tiny{layers: 1}.graph(t, 1)
	after := apply(t, before, FuseQKV)
	goldenDOT(t, "fuse_qkv", before, after)

	assert.Len(t, after.Nodes, len(before.Nodes)-2)
	for _, gone := range []string{"blk.0/attn_q", "blk.0/attn_k", "blk.0/attn_v"} {
		assert.Nil(t, after.NodeNamed(gone), gone)
	}
	qkv := mustNode(t, after, "blk.0/attn_qkv")
	require.IsType(t, ops.QKVOp{}, qkv.Op)
	assert.Equal(t, []string{"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0/attn_norm"},
		names(qkv.Inputs))
	// Outputs in q, k, v order go where the three products went.
	assert.Equal(t, []string{"blk.0/rope_q"}, readersOf(after, qkv.Outputs[0]))
	assert.Equal(t, []string{"blk.0/rope_k"}, readersOf(after, qkv.Outputs[1]))
	assert.Same(t, qkv.Outputs[2], mustNode(t, after, "blk.0/kv_write").Inputs[3])
	// The fused node sits where attn_q was.
	assert.Equal(t, nodeIndex(before, "blk.0/attn_q"), nodeIndex(after, "blk.0/attn_qkv"))

	assert.Equal(t, describe(after), describe(apply(t, after, FuseQKV)), "a second run changes nothing")
}

func TestFuseQKVKeepsOtherReaders(t *testing.T) {
	// An extra reader of q does not stop the fusion; it reads output 0.
	m := tiny{layers: 1, extra: func(b *ops.Builder, g *graph.Graph) []*graph.Value {
		return []*graph.Value{b.Add("probe", g.Lookup("blk.0/attn_q"), g.Lookup("blk.0/attn_norm"))}
	}}
	after := apply(t, m.graph(t, 2), FuseQKV)
	qkv := mustNode(t, after, "blk.0/attn_qkv")
	assert.Equal(t, []string{"blk.0/rope_q", "probe"}, readersOf(after, qkv.Outputs[0]))
}

func TestFuseQKVLeavesUnfusable(t *testing.T) {
	cases := map[string]tiny{
		// Q4_K_M-style files give V another type than Q and K.
		"mixed weight types": {layers: 1, types: map[string]quant.Type{"attn_v": quant.Q8_0}},
		// A fourth matmul of the same input: which three are Q, K, V?
		"four matmul readers": {layers: 1, extra: func(b *ops.Builder, g *graph.Graph) []*graph.Value {
			w := g.Weight("probe.weight", quant.F32, 8, tinyDim)
			return []*graph.Value{b.MatMul("probe", w, g.Lookup("blk.0/attn_norm"))}
		}},
		// Variants that disagree would force the fused node to pick one.
		"variants disagree": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			g.NodeNamed("blk.0/attn_k").Op = ops.MatMulOp{Variant: ops.MatVec}
			return nil
		}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			g := m.graph(t, 1)
			assert.Equal(t, describe(g), describe(apply(t, g, FuseQKV)))
		})
	}
}

func TestFuseQKVFusesEachGroup(t *testing.T) {
	// Blocks whose V differs in type stay apart; the others fuse.
	g := tiny{layers: 3, types: map[string]quant.Type{"blk.0.attn_v": quant.F16, "blk.2.attn_v": quant.F16}}.graph(t, 1)
	after := apply(t, g, FuseQKV)
	assert.Equal(t, 1, countOps(after)["matmul_qkv"])
	mustNode(t, after, "blk.1/attn_qkv")
	mustNode(t, after, "blk.0/attn_q")
	mustNode(t, after, "blk.2/attn_q")
}

func TestFuseQKVOnStories(t *testing.T) {
	m := stories(t)
	for _, n := range []int{1, 8} {
		g := storiesGraph(t, m, n)
		after := apply(t, g, FuseQKV)
		layers := m.Config.Layers
		assert.Len(t, after.Nodes, len(g.Nodes)-2*layers, "two nodes fewer per block")
		assert.Equal(t, layers, countOps(after)["matmul_qkv"])
		assert.Equal(t, countOps(g)["matmul"]-3*layers, countOps(after)["matmul"])
		for i := range layers {
			qkv := mustNode(t, after, blockName(i, "attn_qkv"))
			assert.Equal(t, blockName(i, "attn_norm"), qkv.Inputs[3].Name)
		}
	}
}

func names(vs []*graph.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

func nodeIndex(g *graph.Graph, name string) int {
	return slices.IndexFunc(g.Nodes, func(n *graph.Node) bool { return n.Name == name })
}

func blockName(i int, name string) string {
	return fmt.Sprintf("blk.%d/%s", i, name)
}
